import { closeSync, openSync, writeSync } from 'node:fs';
import { redactText } from '../secrets/known-secrets.js';

import { silentLogger, type LogMethod, type TaskLogger } from '../util/logger.js';

export { silentLogger, type LogMethod, type TaskLogger };

type Fields = Record<string, unknown>;

const SECRET_KEYS = new Set(['apikey', 'authorization', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization']);

/** Blank out credentials wherever they sit in a log object, as the manager's pino `redact` does. */
function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, SECRET_KEYS.has(key.toLowerCase()) ? '[redacted]' : redact(inner, depth + 1)]));
}

/**
 * task.log: JSON lines in pino's format (level, time, base fields, msg), written synchronously so
 * nothing is lost when the task process is killed. Written without pino itself because loading
 * pino's modules costs a task process about a third of a bare Node start-up.
 */
export function openTaskLog(path: string, base: Fields): { log: TaskLogger; close: () => void } {
  const fd = openSync(path, 'a');
  let open = true;
  const debug = process.env.POP_LOG_LEVEL === 'debug';
  const logger = (bound: Fields): TaskLogger => {
    const method =
      (level: string): LogMethod =>
      (first: Fields | string, message?: string) => {
        if (!open || (level === 'debug' && !debug)) return;
        const fields = typeof first === 'string' ? { msg: first } : { ...(redact(first) as Fields), ...(message === undefined ? {} : { msg: message }) };
        writeSync(fd, `${redactText(JSON.stringify({ level, time: new Date().toISOString(), ...bound, ...fields }))}\n`);
      };
    return {
      debug: method('debug'),
      info: method('info'),
      warn: method('warn'),
      error: method('error'),
      child: (more) => logger({ ...bound, ...(redact(more) as Fields) }),
    };
  };
  return {
    log: logger(base),
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
