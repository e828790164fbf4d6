import { ProviderError, type ProviderFailureReason } from './types.js';

interface SdkErrorShape {
  name?: string;
  status?: number;
  message?: string;
}

/**
 * Turn whatever an SDK threw (after its own retries) into a ProviderError with a reason, a message
 * a person can act on, and any key that leaked into the text blanked out.
 */
export function toProviderError(
  thrown: unknown,
  at: { provider: string; model: string; keyEnv: string | undefined; apiKey: string | undefined },
): ProviderError {
  const error = (thrown ?? {}) as SdkErrorShape;
  const name = error.name ?? '';
  const status = typeof error.status === 'number' ? error.status : undefined;
  let reason: ProviderFailureReason;
  let message = error.message ?? String(thrown);
  if (/UserAbort/i.test(name) || name === 'AbortError') reason = 'aborted';
  else if (/Timeout/i.test(name)) reason = 'timeout';
  else if (status === 401 || status === 403) {
    reason = 'auth';
    message = `${at.provider} rejected the credentials (HTTP ${status})${at.keyEnv ? `: check ${at.keyEnv}` : ''}. ${message}`;
  } else if (status === 429) reason = 'rate-limited';
  else if (status !== undefined && status >= 500) reason = 'server-error';
  else if (status !== undefined && status >= 400) reason = 'bad-request';
  else if (/Connection/i.test(name)) reason = 'connection';
  else reason = 'bad-response';
  if (at.apiKey) message = message.split(at.apiKey).join('[redacted]');
  return new ProviderError({ reason, provider: at.provider, model: at.model, message: status ? `HTTP ${status}: ${message}` : message, ...(status ? { status } : {}) });
}

export function missingKeyError(provider: string, model: string, keyEnv: string): ProviderError {
  return new ProviderError({
    reason: 'missing-key',
    provider,
    model,
    message: `provider "${provider}" needs an API key: set ${keyEnv} in the environment or in the workspace's .env file`,
  });
}
