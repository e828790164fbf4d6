/** First wait before a run that could not start is tried again; it doubles each time, up to MAX. */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

/**
 * Runs that could not start for a reason that passes (a full disk, a folder briefly missing) are
 * tried again later, waiting longer each time, instead of being dropped until a restart.
 */
export class RetryLater<T> {
  private readonly timers = new Map<T, NodeJS.Timeout>();
  private readonly tries = new Map<T, number>();
  private waiters: Array<() => void> = [];

  constructor(
    private readonly retry: (item: T) => void,
    /** After this many tries an item is given up (it stays on disk for the next start). */
    private readonly maxTries = Number.POSITIVE_INFINITY,
  ) {}

  /** Try `item` again later; returns the wait, or undefined when it is given up. */
  schedule(item: T): number | undefined {
    const tries = this.tries.get(item) ?? 0;
    if (tries >= this.maxTries) {
      this.tries.delete(item);
      return undefined;
    }
    this.tries.set(item, tries + 1);
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** tries);
    clearTimeout(this.timers.get(item));
    this.timers.set(
      item,
      setTimeout(() => {
        this.timers.delete(item);
        this.retry(item);
        this.wake();
      }, delay),
    );
    return delay;
  }

  /** The item started: its next failure starts again from the first wait. */
  started(item: T): void {
    this.tries.delete(item);
  }

  get waiting(): number {
    return this.timers.size;
  }

  /** Resolves when the next waiting item is handed back (at once when none waits). */
  next(): Promise<void> {
    if (this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Forget every waiting item (stopping: they stay on disk for the next start). */
  cancel(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
