import pino, { type DestinationStream, type Logger } from 'pino';
import { redactText } from './secrets/known-secrets.js';

/** Paths pino blanks out wherever they appear in a log object: keys and credentials never reach a log. */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'authToken',
  '*.authToken',
  'authorization',
  '*.authorization',
  'Authorization',
  '*.Authorization',
  'cookie',
  '*.cookie',
  'headers.authorization',
  '*.headers.authorization',
  'headers.Authorization',
  '*.headers.Authorization',
  'headers.cookie',
  '*.headers.cookie',
  'headers["set-cookie"]',
  '*.headers["set-cookie"]',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'headers["api-key"]',
  '*.headers["api-key"]',
];

export function createLogger(destination: DestinationStream, base: Record<string, unknown> = {}, level = 'info'): Logger {
  return pino(
    {
      base,
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // A key inside a message or any other field (a server's words, a task's error): the whole line.
      hooks: { streamWrite: redactText },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** A log file written synchronously: few lines per run, and nothing is lost if the process dies. */
export function fileLogger(path: string, base: Record<string, unknown> = {}): { log: Logger; close: () => void } {
  const destination = pino.destination({ dest: path, sync: true, mkdir: true });
  return { log: createLogger(destination, base), close: () => destination.end() };
}
