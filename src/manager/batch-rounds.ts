import { batchApiFor } from '../batch/batch-api-for.js';
import type { BatchApi } from '../batch/batch-api.js';
import { BatchPool } from '../batch/batch-pool.js';
import { batchPaths } from '../batch/batch-store.js';
import { BatchSettingsSchema, type Pipeline } from '../formats/pipeline.js';
import type { PendingRequest, Submission } from '../formats/batch.js';
import { silentLogger } from '../util/logger.js';
import type { WorkspacePaths } from '../workspace.js';
import type { EmitEvent } from './events.js';
import { noteBatchProgress } from './execution/waiting-status.js';
import { crashPoint } from './recovery/crash-point.js';

/** How often the pool looks for parked calls and due polls, at most (each batch is polled every `pollMs`). */
const TICK_MS = 1000;
/** A batch's counts go into its runs' tasks-status.json at most this often. */
const COUNTS_NOTE_MS = 60_000;

export interface BatchRoundsOptions {
  paths: WorkspacePaths;
  /** The workspace's pipeline.json as it is now: its `batch` settings apply. */
  pipeline: () => Pipeline;
  emit: EmitEvent;
  /** A run got answers: its parked tasks can run again. */
  onAnswered: (runs: Set<string>) => Promise<void>;
  /** Whether the manager is working on a run now (its status is then its executor's to write). */
  isBusy: (run: string) => boolean;
}

/**
 * The manager's Batch API rounds: the pool, with one Batch API client per provider, ticking while
 * the manager watches (`start`), or flushed on demand (`start --once`).
 */
export class BatchRounds {
  private readonly pool: BatchPool;
  private readonly apis = new Map<string, Promise<BatchApi>>();
  /** When each submission was last noted in its runs' status, and under which batch id. */
  private readonly noted = new Map<string, { batch: string | undefined; counted: boolean; at: number }>();
  /** Runs that were being worked on when their batch was noted, and that batch as it was then. */
  private readonly unnoted = new Map<string, Submission>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: BatchRoundsOptions) {
    const where = batchPaths(options.paths.root);
    this.pool = new BatchPool({
      paths: where,
      currentDir: options.paths.current,
      settings: () => BatchSettingsSchema.parse(options.pipeline().batch ?? {}),
      apiFor: (request) => this.apiFor(request, where.mock),
      emit: (event) => options.emit(event),
      onAnswered: (runs) => options.onAnswered(runs),
      onChanged: (submission) => this.noteProgress(submission),
      step: (name) => crashPoint(name),
    });
  }

  /** One client per provider and its settings: SDK clients keep their connections. */
  private apiFor(request: PendingRequest, mockDir: string): Promise<BatchApi> {
    const key = JSON.stringify([request.provider, request.config]);
    let api = this.apis.get(key);
    if (!api) {
      api = batchApiFor({ name: request.provider, config: request.config, env: process.env, mockDir, log: silentLogger });
      // One that could not be made (a key missing) is made again next time.
      api.catch(() => this.apis.delete(key));
      this.apis.set(key, api);
    }
    return api;
  }

  /**
   * The waiting tasks of runs nobody is working on now say which batch they wait for, and its
   * counts. Each note rewrites the status of every run in the batch: when it is submitted, when its
   * first counts are known, then at most every COUNTS_NOTE_MS as they move (`pop batches` has them live).
   */
  private async noteProgress(submission: Submission): Promise<void> {
    const last = this.noted.get(submission.key);
    const counted = submission.counts !== undefined;
    if (last && last.batch === submission.batch && last.counted && Date.now() - last.at < COUNTS_NOTE_MS) return;
    this.noted.set(submission.key, { batch: submission.batch, counted, at: Date.now() });
    const runs = new Set(submission.requests.map((request) => request.owner.run));
    for (const run of runs) {
      // A run being worked on has its status written by its executor: noted once that is done.
      if (this.options.isBusy(run)) this.unnoted.set(run, submission);
      else await noteBatchProgress(this.options.paths, run, submission).catch(() => {});
    }
  }

  /** A run has ended waiting: what its batch was while the run was being worked on goes into its status. */
  async noteLeftOut(run: string): Promise<void> {
    const submission = this.unnoted.get(run);
    if (!submission) return;
    this.unnoted.delete(run);
    await noteBatchProgress(this.options.paths, run, submission).catch(() => {});
  }

  /** Tick every second until stopped; rounds never overlap. */
  start(): void {
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.pool.tick()).catch(() => {});
    }, TICK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  /** Submit every parked call now and poll every open batch once (`start --once`); how many requests still wait. */
  async flush(): Promise<{ waiting: number; answered: number }> {
    const round = this.ticking.then(() => this.pool.tick(true));
    this.ticking = round.catch(() => {});
    const { waiting, answeredRuns } = await round;
    return { waiting, answered: answeredRuns.size };
  }
}
