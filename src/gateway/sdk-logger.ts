import type { TaskLogger as Logger } from '../util/logger.js';
import { redactText } from '../secrets/known-secrets.js';

/** The `logger` client option both SDKs take: four methods, a message then details. */
export interface SdkLogger {
  error(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  debug(message: string, ...details: unknown[]): void;
}

/**
 * The SDKs' `logLevel` that goes with `sdkLogger`. At `info` they report each request's outcome
 * in one line ("... failed with status 429 in 3ms - retrying, 2 attempts remaining"); `debug` would
 * add request details (headers, bodies), which never reach our logs.
 */
export const SDK_LOG_LEVEL = 'info';

const RETRYING = /retrying, (\d+) attempts? remaining/;
const STATUS = /with status (\d{3})/;
const GAVE_UP = /no more retries left|not retryable|cannot be retried/;

/** Blank out every known API key (src/secrets/), and these secrets too, wherever they appear in a text. */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let clean = redactText(text);
  for (const secret of secrets) if (secret) clean = clean.split(secret).join('[redacted]');
  return clean;
}

/**
 * Forward what an SDK logs into the task's pino log, as typed events: a retry is a `model-retry`
 * warning (with the HTTP status, or the connection failure, and the attempts left), a request that
 * failed for good is `model-request-failed`, routine request lines are debug. Only the SDK's message
 * string is kept, with any secret blanked; its detail objects (headers, bodies) are dropped.
 */
export function sdkLogger(log: Logger, provider: string, secrets: ReadonlyArray<string | undefined>): SdkLogger {
  const clean = (message: unknown) => redactSecrets(String(message), secrets);
  const facts = (text: string) => {
    const status = STATUS.exec(text)?.[1];
    if (status) return { status: Number(status) };
    if (/connection timed out/.test(text)) return { failure: 'timeout' };
    if (/connection failed/.test(text)) return { failure: 'connection' };
    return {};
  };
  return {
    error: (message) => log.error({ event: 'sdk-error', provider }, clean(message)),
    warn: (message) => log.warn({ event: 'sdk-warning', provider }, clean(message)),
    info: (message) => {
      const text = clean(message);
      const retrying = RETRYING.exec(text);
      if (retrying) log.warn({ event: 'model-retry', provider, ...facts(text), attemptsRemaining: Number(retrying[1]) }, text);
      else if (GAVE_UP.test(text)) log.warn({ event: 'model-request-failed', provider, ...facts(text) }, text);
      else log.debug({ event: 'sdk-request', provider }, text);
    },
    debug: () => {},
  };
}
