import type { EmitEvent } from '../events.js';
import { RetryLater } from './retry-later.js';
import type { LockedRunOptions, LockedRunOutcome } from './run-locked.js';
import { Scheduler } from './scheduler.js';

/** A run taken in: its folder, and its status or a change to make to it first (resume). */
export type QueuedRun = Pick<LockedRunOptions, 'runDir' | 'id' | 'status' | 'prepare'>;

export interface RunQueueOptions {
  /** Runs worked on at once. */
  concurrency: number;
  /** `--once` must end: a run that still cannot be locked after this many tries is left for the next start. */
  lockTries: number | undefined;
  emit: EmitEvent;
  /** Work on one run until it settles (complete, failed, interrupted, waiting). */
  execute: (run: QueuedRun) => Promise<LockedRunOutcome>;
  /** A run that ended waiting for the Batch API: answers may have come in meanwhile. */
  onWaiting: (id: string) => Promise<void>;
}

/**
 * The runs the manager has taken in and not yet done with, worked on `concurrency` at a time, each
 * once: a run whose lock cannot be taken now (a full disk) is tried again later. Counts how they
 * ended.
 */
export class RunQueue {
  readonly counts = { completed: 0, failed: 0, interrupted: 0 };
  private readonly runs = new Map<string, QueuedRun>();
  readonly retries: RetryLater<string>;
  readonly scheduler: Scheduler<string>;
  private queuedShown = 0;

  constructor(private readonly options: RunQueueOptions) {
    this.retries = new RetryLater<string>((id) => this.scheduler.enqueue(id), options.lockTries);
    this.scheduler = new Scheduler<string>(options.concurrency, (id) => this.work(id));
  }

  /** Whether the run is queued or being worked on. */
  has(id: string): boolean {
    return this.runs.has(id);
  }

  get size(): number {
    return this.runs.size;
  }

  enqueue(run: QueuedRun): void {
    if (this.runs.has(run.id)) return;
    this.runs.set(run.id, run);
    this.scheduler.enqueue(run.id);
    this.showQueued();
  }

  private showQueued(): void {
    if (this.scheduler.queued === this.queuedShown) return;
    this.queuedShown = this.scheduler.queued;
    this.options.emit({ event: 'runs-queued', queued: this.queuedShown });
  }

  private async work(id: string): Promise<void> {
    this.showQueued();
    const entry = this.runs.get(id);
    if (!entry) return;
    const outcome = await this.options.execute(entry);
    if (typeof outcome === 'object' && 'deferred' in outcome) {
      // Stays queued: tried again when the cause (a full disk) may have passed.
      const retryInMs = this.retries.schedule(id) ?? null;
      if (retryInMs === null) {
        this.runs.delete(id);
        this.counts.interrupted++;
      }
      return this.options.emit({ event: 'run-deferred', run: id, reason: 'lock-unavailable', message: outcome.deferred, retryInMs });
    }
    this.runs.delete(id);
    this.retries.started(id);
    if (outcome === 'waiting') await this.options.onWaiting(id);
    if (outcome === 'complete') this.counts.completed++;
    else if (outcome === 'failed') this.counts.failed++;
    else if (outcome === 'interrupted') this.counts.interrupted++;
    else if (typeof outcome === 'object') this.options.emit({ event: 'request-invalid', path: entry.runDir, message: outcome.refused });
  }
}
