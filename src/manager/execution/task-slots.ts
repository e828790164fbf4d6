/**
 * The cap on task processes across every run of a manager (`start --concurrency`). A task holds a
 * slot while its process runs; waiters are served in the order they asked.
 */
export class TaskSlots {
  private inUse = 0;
  private readonly waiters: Array<(release: (() => void) | undefined) => void> = [];

  /** Told when a task starts waiting for a slot. */
  onWaiting: () => void = () => {};

  constructor(private readonly capacity: number) {}

  get running(): number {
    return this.inUse;
  }

  /** Tasks ready to start that wait for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * A slot, as the function that gives it back; undefined when `stop` is aborted first (nothing
   * new starts once the manager is stopping).
   */
  acquire(stop: AbortSignal): Promise<(() => void) | undefined> {
    if (stop.aborted) return Promise.resolve(undefined);
    if (this.inUse < this.capacity) {
      this.inUse++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      const waiter = (release: (() => void) | undefined) => {
        stop.removeEventListener('abort', onStop);
        resolve(release);
      };
      const onStop = () => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(undefined);
      };
      stop.addEventListener('abort', onStop, { once: true });
      this.waiters.push(waiter);
      this.onWaiting();
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      if (next) next(this.releaser());
      else this.inUse--;
    };
  }
}
