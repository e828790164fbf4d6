import { redactSecrets } from './sdk-logger.js';
import { redactText } from '../secrets/known-secrets.js';
import { ProviderError, type ProviderSetup } from './types.js';

/** What went wrong with an SDK call, told apart by each provider with its SDK's error classes. */
export type SdkFailure =
  | { kind: 'aborted' }
  | { kind: 'timeout' }
  | { kind: 'connection'; detail: string }
  | { kind: 'http'; status: number; detail: string }
  | { kind: 'bad-response'; detail: string };

/** The server's own words are kept, but not a whole HTML error page. */
const MAX_DETAIL_CHARS = 300;

/**
 * Turn an SDK failure (after the SDK's own retries) into a ProviderError with a reason and a message
 * a person can act on: which provider, what happened, what to change. Any key that leaked into the
 * text (a server echoing it back) is blanked out.
 */
export function toProviderError(failure: SdkFailure, setup: ProviderSetup, key: { keyEnv: string | undefined; apiKey: string | undefined }): ProviderError {
  const who = `provider "${setup.name}"`;
  const tries = (setup.config.maxRetries ?? 2) + 1;
  const afterTries = tries === 1 ? 'on its only try' : `on each of ${tries} tries`;
  const said = (detail: string) => (detail ? `; the server said: ${shorten(detail)}` : '');
  let reason: ProviderError['failure']['reason'];
  let message: string;
  let status: number | undefined;

  switch (failure.kind) {
    case 'aborted':
      reason = 'aborted';
      message = `the call to ${setup.name}:${setup.model} was aborted because the task was stopped`;
      break;
    case 'timeout':
      reason = 'timeout';
      message = `${who} did not answer ${afterTries}${setup.config.timeoutMs ? ` within its timeoutMs of ${setup.config.timeoutMs} ms` : ''}`;
      break;
    case 'connection':
      reason = 'connection';
      message = `${who} could not be reached${setup.config.baseURL ? ` at ${setup.config.baseURL}` : ''} ${afterTries}: ${shorten(failure.detail)}`;
      break;
    case 'bad-response':
      reason = 'bad-response';
      message = `${who} sent a reply that is not a valid response: ${shorten(failure.detail)}`;
      break;
    case 'http': {
      status = failure.status;
      if (status === 401 || status === 403) {
        reason = 'auth';
        message =
          `${who} rejected the API key (HTTP ${status}): ` +
          (key.keyEnv
            ? `set a valid key in ${key.keyEnv} (in the environment or the workspace's .env file)`
            : `it needs one: name the variable that holds it with "apiKeyEnv" in pipeline.json providers.${setup.name}`) +
          said(failure.detail);
      } else if (status === 429) {
        reason = 'rate-limited';
        message = `${who} was rate-limiting (HTTP 429) ${afterTries}${said(failure.detail)}`;
      } else if (status >= 500) {
        reason = 'server-error';
        message = `${who} had a server error (HTTP ${status}) ${afterTries}${said(failure.detail)}`;
      } else {
        reason = 'bad-request';
        message = `${who} refused the request for model "${setup.model}" (HTTP ${status})${said(failure.detail)}`;
      }
      break;
    }
  }
  return new ProviderError({ reason, provider: setup.name, model: setup.model, message: redactSecrets(message, [key.apiKey]), ...(status ? { status } : {}) });
}

/** The words of an error as the SDK composed them, without its leading status code. */
export function errorDetail(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\d{3}\s+/, '');
}

/** A connection failure's own cause (ECONNREFUSED, a DNS failure), which the SDK's message hides. */
export function connectionDetail(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    parts.push(code && !current.message.includes(code) ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  return parts.join(': ');
}

/** Redacted before it is cut, so a key across the cut leaves no piece behind. */
function shorten(text: string): string {
  const flat = redactText(text).replace(/\s+/g, ' ').trim();
  return flat.length > MAX_DETAIL_CHARS ? `${flat.slice(0, MAX_DETAIL_CHARS)}…` : flat;
}

export function missingKeyError(provider: string, model: string, keyEnv: string): ProviderError {
  return new ProviderError({
    reason: 'missing-key',
    provider,
    model,
    message: `provider "${provider}" needs an API key: set ${keyEnv} in the environment or in the workspace's .env file`,
  });
}
