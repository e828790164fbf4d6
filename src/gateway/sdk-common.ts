import { apiKeyEnvFor } from './provider-config.js';
import { missingKeyError } from './provider-errors.js';
import { SDK_LOG_LEVEL, sdkLogger, type SdkLogger } from './sdk-logger.js';
import type { ProviderSetup } from './types.js';
import { redactText, rememberSecret } from '../secrets/known-secrets.js';

/** The SDKs' own default number of retries, used when pipeline.json does not set `maxRetries`. */
export const SDK_DEFAULT_MAX_RETRIES = 2;

/** What the provider needs to know about its key: the variable it comes from, and its value. */
export interface KeyInfo {
  keyEnv: string | undefined;
  apiKey: string | undefined;
}

/** The key a provider uses, from the variable its config names; a missing one is a ProviderError. */
export function readKey(setup: ProviderSetup): KeyInfo {
  const keyEnv = apiKeyEnvFor(setup.config);
  const apiKey = keyEnv ? setup.env[keyEnv] || undefined : undefined;
  if (keyEnv && !apiKey) throw missingKeyError(setup.name, setup.model, keyEnv);
  if (keyEnv) rememberSecret(keyEnv, apiKey);
  return { keyEnv, apiKey };
}

/**
 * Client options both SDKs share: their own retries (with backoff and `retry-after`) and time
 * limit, as pipeline.json sets them, and a logger that puts their retries into task.log. A
 * `timeout` left out keeps the SDK's default (10 minutes; the task's own `timeoutMs` bounds it).
 */
export function sharedClientOptions(
  setup: ProviderSetup,
  key: KeyInfo,
): { maxRetries: number; timeout?: number; baseURL?: string; logger: SdkLogger; logLevel: typeof SDK_LOG_LEVEL; fetch?: typeof fetch } {
  return {
    maxRetries: setup.config.maxRetries ?? SDK_DEFAULT_MAX_RETRIES,
    ...(setup.config.timeoutMs ? { timeout: setup.config.timeoutMs } : {}),
    ...(setup.config.baseURL ? { baseURL: setup.config.baseURL } : {}),
    logger: sdkLogger(setup.log, setup.name, [key.apiKey]),
    logLevel: SDK_LOG_LEVEL,
    ...(setup.fetch ? { fetch: setup.fetch } : {}),
  };
}

/** `$schema` names the dialect and constrains nothing; servers that check keywords may refuse it. */
export function withoutDialect(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

/** The start of an unexpected reply body, for an error message: redacted before it is cut. */
export function preview(value: unknown): string {
  const text = redactText(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));
  return `${typeof value === 'string' ? 'text' : typeof value} ${JSON.stringify(text.slice(0, 80))}`;
}
