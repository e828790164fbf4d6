type Fields = Record<string, unknown>;
export interface LogMethod {
  (fields: Fields, message?: string): void;
  (message: string): void;
}

/** The logger a task's stages get as `ctx.log`, and the gateway writes a call's lines to: pino's calling convention. */
export interface TaskLogger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  /** A logger whose lines also carry these fields. */
  child: (bindings: Fields) => TaskLogger;
}

const nothing = () => {};
/** For callers that pass no logger. */
export const silentLogger: TaskLogger = { debug: nothing, info: nothing, warn: nothing, error: nothing, child: () => silentLogger };
