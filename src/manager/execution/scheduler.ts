/**
 * Runs jobs in arrival order, at most `concurrency` at once. Holds only ids while waiting, so a
 * thousand queued runs cost a thousand strings.
 */
export class Scheduler<T> {
  private readonly waiting: T[] = [];
  private readonly active = new Set<T>();
  private idleWaiters: Array<() => void> = [];
  private paused = false;

  constructor(
    private readonly concurrency: number,
    private readonly work: (item: T) => Promise<void>,
  ) {}

  enqueue(item: T): void {
    if (this.active.has(item) || this.waiting.includes(item)) return;
    this.waiting.push(item);
    this.pump();
  }

  /** Stop starting queued items (they stay queued on disk for the next start). */
  pause(): void {
    this.paused = true;
    this.waiting.length = 0;
    this.settle();
  }

  get running(): number {
    return this.active.size;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves when nothing is running or waiting. */
  idle(): Promise<void> {
    if (this.active.size === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (!this.paused && this.active.size < this.concurrency && this.waiting.length > 0) {
      const item = this.waiting.shift() as T;
      this.active.add(item);
      void this.work(item)
        .catch(() => {})
        .finally(() => {
          this.active.delete(item);
          this.pump();
          this.settle();
        });
    }
  }

  private settle(): void {
    if (this.active.size > 0 || this.waiting.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
