import type { Redis } from 'ioredis';
import { abortableSleep, ProviderBudget, type OnWait } from '../gateway/budget.js';

/**
 * Spacing of requests and the pause after a 429, kept in Redis so every worker on every machine
 * shares them: one script decides, on Redis's clock, whether a request may go now or how long to
 * wait. Returns {0} to go, {1, ms} paused, {2, ms} too soon after the last request.
 */
const NEXT_REQUEST = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {1, paused - now} end
local spacing = tonumber(ARGV[1])
if spacing <= 0 then return {0, 0} end
local next = tonumber(redis.call('GET', KEYS[1]) or '0')
if next > now then return {2, next - now} end
redis.call('SET', KEYS[1], tostring(now + spacing), 'PX', math.max(1000, math.ceil(spacing * 2)))
return {0, 0}`;

const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > paused then redis.call('SET', KEYS[1], tostring(until_), 'PX', math.max(1, tonumber(ARGV[1]))) end
return 1`;

/**
 * A provider's budget for a worker: requests per minute and the 429 pause shared through Redis;
 * calls in flight and tokens per minute stay this worker's own (as in ProviderBudget).
 */
export class RedisBudget extends ProviderBudget {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {
    super();
  }

  override async beforeRequest(signal: AbortSignal, onWait: OnWait): Promise<void> {
    const told = new Set<string>();
    const spacing = this.currentLimits.requestsPerMinute === undefined ? 0 : 60_000 / this.currentLimits.requestsPerMinute;
    for (;;) {
      signal.throwIfAborted();
      // Redis out of reach holds the script until it is back; a call given up meanwhile leaves at once.
      const [kind, waitMs] = (await unlessAborted(this.redis.eval(NEXT_REQUEST, 2, `${this.key}:next`, `${this.key}:paused`, String(spacing)), signal)) as [
        number,
        number,
      ];
      if (kind === 0) return;
      const reason = kind === 1 ? 'paused' : 'requests-per-minute';
      if (!told.has(reason)) onWait(reason, waitMs);
      told.add(reason);
      await abortableSleep(waitMs, signal);
    }
  }

  override pause(until: number): void {
    super.pause(until);
    void this.redis.eval(PAUSE, 1, `${this.key}:paused`, String(Math.max(0, until - Date.now()))).catch(() => {});
  }
}

/** The promise's value, or a rejection as soon as the signal aborts (the promise left to settle on its own). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const aborted = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return aborted();
    signal.addEventListener('abort', aborted, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', aborted);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', aborted);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
