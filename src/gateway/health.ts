/** A provider that failed to connect is left alone this long at first; each failed probe doubles it. */
const FIRST_DOWN_MS = 2000;
const MAX_DOWN_MS = 60_000;
/** Calls in a row failing with server errors (after the SDK's own retries of each) that mark a provider down. */
const SERVER_ERRORS_TO_DOWN = 3;

export type Admission = { kind: 'go' } | { kind: 'probe' } | { kind: 'skip'; retryInMs: number };

/**
 * Whether a provider is up, as every task's calls have found it. A connection failure (or server
 * errors in a row) marks it down for a while, growing while it stays down: calls skip it without
 * a connection attempt each. When the while is over, one call is let through as the probe; its
 * outcome decides whether the provider is back.
 */
export class ProviderHealth {
  private downUntil = 0;
  private downMs = 0;
  private probing = false;
  private serverErrors = 0;

  get isProbing(): boolean {
    return this.probing;
  }

  get isDown(): boolean {
    return this.downMs > 0;
  }

  admit(now = Date.now()): Admission {
    if (!this.isDown) return { kind: 'go' };
    if (now < this.downUntil || this.probing) return { kind: 'skip', retryInMs: Math.max(0, this.downUntil - now) };
    this.probing = true;
    return { kind: 'probe' };
  }

  /** Whether a request may go out now (an in-flight call's retry of a provider gone down may not). */
  mayRequest(): boolean {
    return !this.isDown || this.probing;
  }

  succeeded(): void {
    this.downMs = 0;
    this.downUntil = 0;
    this.probing = false;
    this.serverErrors = 0;
  }

  connectionFailed(now = Date.now()): void {
    this.markDown(now);
  }

  /** A probe answered with a server error means still down: the while doubles, as after a failed connection. */
  serverError(now = Date.now()): void {
    if (this.probing || ++this.serverErrors >= SERVER_ERRORS_TO_DOWN) this.markDown(now);
  }

  /** A probe that ended without an answer either way (aborted): let the next call probe. */
  probeAbandoned(): void {
    this.probing = false;
  }

  private markDown(now: number): void {
    // Calls already in flight when it went down fail too: that does not lengthen the while.
    if (this.isDown && now < this.downUntil) return;
    this.downMs = this.downMs === 0 ? FIRST_DOWN_MS : Math.min(MAX_DOWN_MS, this.downMs * 2);
    this.downUntil = now + this.downMs;
    this.probing = false;
    this.serverErrors = 0;
  }
}
