import { AsyncLocalStorage } from 'node:async_hooks';
import { silentLogger, type LogMethod, type TaskLogger } from '../util/logger.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
type Fields = Record<string, unknown>;

const current = new AsyncLocalStorage<TaskLogger>();

/** Run a call with `log` as the log that shared SDK clients write to while it lasts. */
export function withCallLog<T>(log: TaskLogger, body: () => Promise<T>): Promise<T> {
  return current.run(log, body);
}

/** The log of the call being made in this async context. */
export function currentCallLog(): TaskLogger {
  return current.getStore() ?? silentLogger;
}

/**
 * The logger every SDK client is built with. One client serves the calls of every task, so a line
 * it logs (a retry) goes to the log of the call in whose course it was written: the async context
 * of the request carries it there.
 */
export function routedLogger(bindings: Fields = {}): TaskLogger {
  const method =
    (level: Level): LogMethod =>
    (first: Fields | string, message?: string) => {
      const log = current.getStore() ?? silentLogger;
      const target = Object.keys(bindings).length ? log.child(bindings) : log;
      if (typeof first === 'string') target[level](first);
      else target[level](first, message);
    };
  return {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    child: (more) => routedLogger({ ...bindings, ...more }),
  };
}

/**
 * A logger whose lines travel to the task process that made the call, which writes them to its
 * task.log (a queue worker also appends a line there, naming itself, before the attempt starts).
 */
export function remoteLogger(send: (level: Level, fields: Fields, msg: string | undefined) => void, bindings: Fields = {}): TaskLogger {
  const method =
    (level: Level): LogMethod =>
    (first: Fields | string, message?: string) => {
      if (typeof first === 'string') send(level, { ...bindings }, first);
      else send(level, { ...bindings, ...first }, message);
    };
  return {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    child: (more) => remoteLogger(send, { ...bindings, ...more }),
  };
}

/** A logger that also calls `onWait` for each `model-waiting` line written through it. */
export function reportingWaits(log: TaskLogger, onWait: (wait: { reason: string; waitMs: number | undefined }) => void): TaskLogger {
  return {
    debug: log.debug.bind(log),
    warn: log.warn.bind(log),
    error: log.error.bind(log),
    child: (bindings) => reportingWaits(log.child(bindings), onWait),
    info: ((fields: Record<string, unknown> | string, msg?: string) => {
      if (typeof fields === 'string') return log.info(fields);
      if (fields.event === 'model-waiting') onWait({ reason: String(fields.reason), waitMs: typeof fields.waitMs === 'number' ? fields.waitMs : undefined });
      log.info(fields, msg);
    }) as LogMethod,
  };
}
