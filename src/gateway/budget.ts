import type { ProviderLimits } from '../formats/pipeline.js';

export type WaitReason = 'concurrency' | 'requests-per-minute' | 'tokens-per-minute' | 'paused';
/** Told when a call has to wait, and about how long (undefined: until another call finishes). */
export type OnWait = (reason: WaitReason, waitMs: number | undefined) => void;

const MINUTE_MS = 60_000;

/** A call's place in the budget, given back when it ends with what it really used. */
export interface Ticket {
  settle: (tokensUsed: number) => void;
}

/**
 * One provider's budget, shared by every task of the manager: calls in flight, requests per minute
 * (evenly spaced, so a server limiting per second sees no burst), and tokens per minute over a
 * sliding minute (each call's estimate counted when it starts, replaced by its real usage when it
 * ends). A 429's `retry-after` pauses every request to the provider until then.
 */
export class ProviderBudget {
  private limits: ProviderLimits = {};
  private inFlight = 0;
  private nextRequestAt = 0;
  private pausedUntil = 0;
  private readonly spent: Array<{ at: number; tokens: number }> = [];
  private wakers = new Set<() => void>();

  protected get currentLimits(): ProviderLimits {
    return this.limits;
  }

  /** The latest settings seen win: one provider name has one budget. */
  setLimits(limits: ProviderLimits | undefined): void {
    this.limits = limits ?? {};
  }

  /** Before a call: a slot among the calls in flight and room for its estimated tokens. */
  async admit(estimate: number, signal: AbortSignal, onWait: OnWait): Promise<Ticket> {
    const told = new Set<WaitReason>();
    const tell = (reason: WaitReason, waitMs: number | undefined) => {
      if (!told.has(reason)) onWait(reason, waitMs === undefined ? undefined : Math.round(waitMs));
      told.add(reason);
    };
    for (;;) {
      const now = Date.now();
      const { concurrency, tokensPerMinute } = this.limits;
      if (concurrency !== undefined && this.inFlight >= concurrency) {
        tell('concurrency', undefined);
        await this.sleep(undefined, signal);
        continue;
      }
      if (tokensPerMinute !== undefined) {
        this.forgetBefore(now - MINUTE_MS);
        const used = this.spent.reduce((sum, entry) => sum + entry.tokens, 0);
        // A call larger than the whole budget still goes, alone.
        if (this.spent.length > 0 && used + estimate > tokensPerMinute) {
          const until = (this.spent[0] as { at: number }).at + MINUTE_MS - now;
          tell('tokens-per-minute', until);
          await this.sleep(until, signal);
          continue;
        }
      }
      this.inFlight++;
      const entry = { at: now, tokens: estimate };
      this.spent.push(entry);
      let settled = false;
      return {
        settle: (tokensUsed) => {
          if (settled) return;
          settled = true;
          this.inFlight--;
          entry.tokens = tokensUsed;
          this.wake();
        },
      };
    }
  }

  /** Before each request (the SDK's retries too): the pause after a 429, the spacing of requests. */
  async beforeRequest(signal: AbortSignal, onWait: OnWait): Promise<void> {
    const told = new Set<WaitReason>();
    for (;;) {
      const now = Date.now();
      if (this.pausedUntil > now) {
        if (!told.has('paused')) onWait('paused', this.pausedUntil - now);
        told.add('paused');
        await this.sleep(this.pausedUntil - now, signal);
        continue;
      }
      const { requestsPerMinute } = this.limits;
      if (requestsPerMinute === undefined) return;
      if (this.nextRequestAt > now) {
        if (!told.has('requests-per-minute')) onWait('requests-per-minute', this.nextRequestAt - now);
        told.add('requests-per-minute');
        await this.sleep(this.nextRequestAt - now, signal);
        continue;
      }
      this.nextRequestAt = now + MINUTE_MS / requestsPerMinute;
      return;
    }
  }

  /** The provider said to wait (429 with retry-after): no request to it before `until`. */
  pause(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  private forgetBefore(time: number): void {
    while (this.spent.length > 0 && (this.spent[0] as { at: number }).at <= time) this.spent.shift();
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = new Set();
    for (const wake of wakers) wake();
  }

  /** Until `ms` pass, a call ends (its budget freed), or the caller gives up. */
  private sleep(ms: number | undefined, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        signal.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = () => {
        done();
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const timer = ms === undefined ? undefined : setTimeout(done, Math.max(1, ms));
      this.wakers.add(done);
      if (signal.aborted) aborted();
      else signal.addEventListener('abort', aborted, { once: true });
    });
  }
}

/**
 * How long a 429 asks to wait, in ms: `retry-after-ms`, `retry-after` (seconds or a date), or the
 * latest of the `*ratelimit*reset*` headers (durations like `6m0s`, seconds, or timestamps).
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms)) return ms;
  const after = headers.get('retry-after');
  if (after !== null) {
    const seconds = Number(after);
    if (Number.isFinite(seconds)) return seconds * 1000;
    const date = Date.parse(after);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  let latest: number | undefined;
  headers.forEach((value, name) => {
    if (!/ratelimit.*reset/i.test(name)) return;
    const wait = durationMs(value) ?? (Number.isFinite(Date.parse(value)) ? Math.max(0, Date.parse(value) - now) : undefined);
    if (wait !== undefined) latest = Math.max(latest ?? 0, wait);
  });
  return latest;
}

/** `1s`, `6m0s`, `20ms`, `1h2m`, or bare seconds. */
function durationMs(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text.trim()) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  return parts.reduce((sum, part) => sum + Number(part[1]) * unit[part[2] as keyof typeof unit], 0);
}
