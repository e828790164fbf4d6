import { retryAfterMs, type ProviderBudget } from './budget.js';
import { currentCallLog } from './call-log.js';
import type { ProviderHealth } from './health.js';

/**
 * The fetch a provider's SDK client sends every request with, its own retries included: it waits
 * for the provider's pause and request spacing, keeps a provider gone down from being hammered by
 * retries, and learns from each outcome (a 429's wait, a connection failure, an answer).
 */
export function providerFetch(budget: ProviderBudget, health: ProviderHealth): typeof fetch {
  return async (input, init) => {
    const signal = init?.signal ?? new AbortController().signal;
    const log = currentCallLog();
    await budget.beforeRequest(signal, (reason, waitMs) => log.info({ event: 'model-waiting', reason, waitMs }, `waiting for the provider (${reason})`));
    if (!health.mayRequest()) {
      throw new TypeError('fetch failed', { cause: new Error('the provider is marked down after failing to connect; not tried again until it is probed') });
    }
    let response: Response;
    try {
      response = await fetch(input, init);
    } catch (error) {
      if (!signal.aborted) health.connectionFailed();
      throw error;
    }
    if (response.status === 429) {
      const wait = retryAfterMs(response.headers);
      if (wait !== undefined) {
        budget.pause(Date.now() + wait);
        log.warn({ event: 'provider-paused', waitMs: Math.round(wait) }, 'the provider asked to wait: every call to it waits');
      }
    }
    // Server errors are counted per call, after the SDK's retries (see the gateway), not per request.
    if (response.status < 500) health.succeeded();
    return response;
  };
}
