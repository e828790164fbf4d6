import type { ProviderLimits } from '../formats/pipeline.js';

export type WaitReason = 'concurrency' | 'requests-per-minute' | 'tokens-per-minute' | 'paused';
/** Told when a call has to wait, and about how long (undefined: until another call finishes). */
export type OnWait = (reason: WaitReason, waitMs: number | undefined) => void;

const MINUTE_MS = 60_000;

/** A call's place in the budget, given back when it ends with what it really used. */
export interface Ticket {
  settle: (tokensUsed: number) => void;
}

/** A call waiting for a slot: served in its caller's turn, or gone at once when it is aborted. */
interface Waiter {
  caller: string;
  estimate: number;
  tell: (reason: WaitReason, waitMs: number | undefined) => void;
  grant: (ticket: Ticket) => void;
}

/** Why a call cannot start now, and for how long when that is known. */
type Blocked = { reason: 'concurrency' } | { reason: 'tokens-per-minute'; waitMs: number };

/**
 * One provider's budget, shared by every task of the manager: calls in flight, requests per minute
 * (evenly spaced, so a server limiting per second sees no burst), and tokens per minute over a
 * sliding minute (each call's estimate counted when it starts, replaced by its real usage when it
 * ends). A 429's `retry-after` pauses every request to the provider until then.
 *
 * Calls waiting for a slot are served in turns by caller (a task attempt): each caller's oldest
 * waiting call in turn, so a task that asks for a thousand calls at once cannot make another
 * task's single call wait behind all of them. A call whose task gives up leaves the line at once.
 */
export class ProviderBudget {
  private limits: ProviderLimits = {};
  private inFlight = 0;
  private nextRequestAt = 0;
  private pausedUntil = 0;
  private readonly spent: Array<{ at: number; tokens: number }> = [];
  /** Waiting calls by caller; the first caller is the next to be served (a Map keeps insertion order). */
  private readonly waiting = new Map<string, Waiter[]>();
  private retryTimer: NodeJS.Timeout | undefined;

  protected get currentLimits(): ProviderLimits {
    return this.limits;
  }

  /** The workspace's current settings for this provider (one provider name has one budget). */
  setLimits(limits: ProviderLimits | undefined): void {
    const next = limits ?? {};
    if (JSON.stringify(next) === JSON.stringify(this.limits)) return;
    this.limits = next;
    this.serve();
  }

  /** How many calls wait for a slot (for tests and the bench). */
  get waitingCount(): number {
    let count = 0;
    for (const line of this.waiting.values()) count += line.length;
    return count;
  }

  /**
   * Before a call: a slot among the calls in flight and room for its estimated tokens. `caller`
   * names whose call it is (a task attempt): waiting calls are served one caller after another.
   */
  admit(estimate: number, signal: AbortSignal, onWait: OnWait, caller = ''): Promise<Ticket> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal));
      const told = new Set<WaitReason>();
      const waiter: Waiter = {
        caller,
        estimate,
        tell: (reason, waitMs) => {
          if (!told.has(reason)) onWait(reason, waitMs === undefined ? undefined : Math.round(waitMs));
          told.add(reason);
        },
        grant: (ticket) => {
          signal.removeEventListener('abort', aborted);
          resolve(ticket);
        },
      };
      const aborted = () => {
        this.leave(waiter);
        reject(abortError(signal));
        this.serve();
      };
      signal.addEventListener('abort', aborted, { once: true });
      const line = this.waiting.get(caller);
      if (line) line.push(waiter);
      else this.waiting.set(caller, [waiter]);
      this.serve();
      if (this.isWaiting(waiter)) {
        const blocked = this.blocked(estimate, Date.now()) ?? { reason: 'concurrency' as const };
        waiter.tell(blocked.reason, blocked.reason === 'tokens-per-minute' ? blocked.waitMs : undefined);
      }
    });
  }

  /** Give out slots, one caller after another, while the limits allow. */
  private serve(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (;;) {
      const next = this.waiting.entries().next();
      if (next.done) return;
      const [caller, line] = next.value;
      const waiter = line[0] as Waiter;
      const now = Date.now();
      const blocked = this.blocked(waiter.estimate, now);
      if (blocked) {
        waiter.tell(blocked.reason, blocked.reason === 'tokens-per-minute' ? blocked.waitMs : undefined);
        // Room for tokens comes back with time; a slot in flight only when a call ends (settle).
        if (blocked.reason === 'tokens-per-minute') this.retryTimer = setTimeout(() => this.serve(), Math.max(1, blocked.waitMs));
        return;
      }
      // This caller goes to the back of the turns (or leaves them, with nothing more waiting).
      line.shift();
      this.waiting.delete(caller);
      if (line.length > 0) this.waiting.set(caller, line);
      waiter.grant(this.take(waiter.estimate, now));
    }
  }

  private blocked(estimate: number, now: number): Blocked | undefined {
    const { concurrency, tokensPerMinute } = this.limits;
    if (concurrency !== undefined && this.inFlight >= concurrency) return { reason: 'concurrency' };
    if (tokensPerMinute !== undefined) {
      this.forgetBefore(now - MINUTE_MS);
      const used = this.spent.reduce((sum, entry) => sum + entry.tokens, 0);
      // A call larger than the whole budget still goes, alone.
      if (this.spent.length > 0 && used + estimate > tokensPerMinute)
        return { reason: 'tokens-per-minute', waitMs: (this.spent[0] as { at: number }).at + MINUTE_MS - now };
    }
    return undefined;
  }

  private take(estimate: number, now: number): Ticket {
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
        this.serve();
      },
    };
  }

  private isWaiting(waiter: Waiter): boolean {
    return this.waiting.get(waiter.caller)?.includes(waiter) ?? false;
  }

  private leave(waiter: Waiter): void {
    const line = this.waiting.get(waiter.caller);
    if (!line) return;
    const at = line.indexOf(waiter);
    if (at >= 0) line.splice(at, 1);
    if (line.length === 0) this.waiting.delete(waiter.caller);
  }

  /** Before each request (the SDK's retries too): the pause after a 429, the spacing of requests. */
  async beforeRequest(signal: AbortSignal, onWait: OnWait): Promise<void> {
    const told = new Set<WaitReason>();
    for (;;) {
      if (signal.aborted) throw abortError(signal);
      const now = Date.now();
      if (this.pausedUntil > now) {
        if (!told.has('paused')) onWait('paused', this.pausedUntil - now);
        told.add('paused');
        await abortableSleep(this.pausedUntil - now, signal);
        continue;
      }
      const { requestsPerMinute } = this.limits;
      if (requestsPerMinute === undefined) return;
      if (this.nextRequestAt > now) {
        if (!told.has('requests-per-minute')) onWait('requests-per-minute', this.nextRequestAt - now);
        told.add('requests-per-minute');
        await abortableSleep(this.nextRequestAt - now, signal);
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
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * Wait `ms`, or reject at once when the caller gives up: an aborted wait must never resolve, or
 * the loop around it would spin without yielding to the event loop.
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const aborted = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', aborted);
        resolve();
      },
      Math.max(1, ms),
    );
    signal.addEventListener('abort', aborted, { once: true });
  });
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
