import { setMaxListeners } from 'node:events';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { isOutputOf, OutputSchema, type Output } from '../formats/output.js';
import type { RunnerMessage } from '../formats/ipc.js';
import { readJsonFile } from '../fs/read-json.js';
import { err, messageOf, ok, type Result } from '../result.js';
import { abortableSleep } from '../gateway/budget.js';
import { emptyUsage } from '../util/usage.js';
import type { AttemptOptions } from '../manager/execution/attempt-runner.js';
import type { TaskProcessFailure } from '../manager/execution/task-process.js';
import { attemptEnded, attemptLockPath } from './attempt-lock.js';
import { JOB_REFUSED, jobIdOf, taskJobOf, TaskJobResultSchema } from './task-job.js';

/** How often a waited-on job is looked at directly, besides the queue's events (which a Redis restart can drop). */
const LOOK_EVERY_MS = 2000;
/** A job Redis refused (full at its maxmemory, read-only, ...) is added again after this, doubling up to the most. */
const ADD_RETRY_FIRST_MS = 500;
const ADD_RETRY_MOST_MS = 30_000;

type Ended = { state: 'completed'; value: unknown } | { state: 'failed'; reason: string } | { state: 'gone' } | { state: 'refused'; message: string };
interface Waiter {
  onProgress: (data: unknown) => void;
  end: (ended: Ended) => void;
}

/**
 * The manager's side of `start --queue`: each task attempt becomes one job (id run:task:attempt),
 * and the attempt ends when the job does. The outcome is still judged by output.json on disk.
 */
export class QueueAttempts {
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly waiters = new Map<string, Waiter>();

  /**
   * @param addTries how many times a job Redis refuses is tried before the attempt is left for
   *   the next start (`start --once`, which must end); none: tried until the manager stops.
   */
  constructor(
    name: string,
    connection: Redis,
    eventsConnection: Redis,
    private readonly addTries?: number,
  ) {
    this.queue = new Queue(name, { connection });
    this.events = new QueueEvents(name, { connection: eventsConnection });
    this.events.on('progress', ({ jobId, data }) => this.waiters.get(jobId)?.onProgress(data));
    this.events.on('completed', ({ jobId, returnvalue }) => this.waiters.get(jobId)?.end({ state: 'completed', value: returnvalue }));
    this.events.on('failed', ({ jobId, failedReason }) => this.waiters.get(jobId)?.end({ state: 'failed', reason: failedReason }));
    this.events.on('error', () => {});
    this.queue.on('error', () => {});
  }

  readonly run = async (options: AttemptOptions): Promise<Result<Output, TaskProcessFailure>> => {
    // Every attempt in flight listens for the manager's stop: with a queue, that can be hundreds.
    setMaxListeners(0, options.cancelSignal);
    // A restarted manager finds the previous attempt's job still queued or running: it waits on
    // that job rather than start another for the same task.
    const previous = options.attempt > 1 ? await Job.fromId(this.queue, jobIdOf(options.run, options.task, options.attempt - 1)) : undefined;
    const previousState = previous ? await previous.getState() : undefined;
    // One not yet taken is withdrawn (a worker would refuse it now: the run's status names this attempt).
    const withdrawn =
      previous &&
      previousState !== 'active' &&
      previousState !== 'completed' &&
      (await previous.remove().then(
        () => true,
        () => false,
      ));
    const live = !withdrawn && previous && ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'].includes(previousState ?? '');
    if (previousState === 'completed') {
      // It finished while this manager was stopped: its output.json, when valid, is the attempt's result.
      const output = await readJsonFile(options.outputPath, OutputSchema);
      if (output.ok && isOutputOf(output.value, options.task, options.attempt - 1)) return ok(output.value);
    }
    const id = live && previous?.id ? previous.id : jobIdOf(options.run, options.task, options.attempt, options.round);
    // Listening before the job exists: a quick worker's first word would otherwise be missed.
    const ended = await this.waitFor(id, options, async () => (live ? undefined : this.addJob(id, options)));
    if (ended === 'interrupted')
      return err({
        error: { reason: 'interrupted', message: 'the manager stopped waiting for the task because it is shutting down; the job stays in the queue' },
        usage: emptyUsage(),
        refinements: 0,
      });
    // Not the task's fault: it is left pending, and the run queued for the next start.
    if (ended.state === 'refused') return err({ error: { reason: 'interrupted', message: ended.message }, usage: emptyUsage(), refinements: 0 });
    return this.judge(ended, options, live ? options.attempt - 1 : options.attempt);
  };

  /**
   * Add the attempt's job; while Redis refuses it, try again with a growing wait, each wait shown
   * as the task waiting (with Redis's reason). Undefined once added, else why it was given up.
   */
  private async addJob(id: string, options: AttemptOptions): Promise<{ state: 'refused'; message: string } | undefined> {
    for (let tries = 1; ; tries++) {
      try {
        // Adding an id that exists already adds nothing: one job per attempt, even after a restart.
        await this.queue.add('task', taskJobOf(options, options.attempt), {
          jobId: id,
          attempts: 1,
          removeOnComplete: { age: 7 * 86_400 },
          removeOnFail: { age: 7 * 86_400 },
        });
        return undefined;
      } catch (error) {
        const refused = `Redis refused the task's job: ${messageOf(error)}`;
        if (this.addTries !== undefined && tries >= this.addTries) {
          const message = `${refused}; the task is left for the next start`;
          options.onWaiting?.({ reason: 'queue-refused', message });
          return { state: 'refused', message };
        }
        const waitMs = Math.min(ADD_RETRY_MOST_MS, ADD_RETRY_FIRST_MS * 2 ** (tries - 1));
        options.onWaiting?.({ reason: 'queue-refused', message: `${refused}; trying again`, waitMs });
        try {
          await abortableSleep(waitMs, options.cancelSignal);
        } catch {
          return { state: 'refused', message: `${refused}; the manager stopped before it took it` };
        }
      }
    }
  }

  private waitFor(id: string, options: AttemptOptions, add: () => Promise<Ended | undefined>): Promise<Ended | 'interrupted'> {
    return new Promise((resolve, reject) => {
      const finish = (ended: Ended | 'interrupted') => {
        if (!this.waiters.has(id)) return;
        this.waiters.delete(id);
        clearInterval(looker);
        options.cancelSignal.removeEventListener('abort', onCancel);
        resolve(ended);
      };
      const onCancel = () => finish('interrupted');
      this.waiters.set(id, {
        onProgress: (data) => {
          const message = data as { type?: string; worker?: string };
          if (message.type === 'worker' && typeof message.worker === 'string') options.onWorker?.(message.worker);
          else if (message && typeof message.type === 'string') options.onMessage(data as RunnerMessage);
        },
        end: finish,
      });
      const look = async () => {
        const job = await Job.fromId(this.queue, id);
        if (!job) return finish({ state: 'gone' });
        const state = await job.getState();
        if (state === 'completed') finish({ state: 'completed', value: job.returnvalue });
        else if (state === 'failed') finish({ state: 'failed', reason: job.failedReason || 'the job failed' });
      };
      let looker: NodeJS.Timeout | undefined;
      add().then(
        (refused) => {
          if (refused) return finish(refused);
          looker = setInterval(() => void look().catch(() => {}), LOOK_EVERY_MS);
          void look().catch(() => {});
        },
        (error: unknown) => {
          this.waiters.delete(id);
          options.cancelSignal.removeEventListener('abort', onCancel);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
      if (options.cancelSignal.aborted) onCancel();
      else options.cancelSignal.addEventListener('abort', onCancel, { once: true });
    });
  }

  /** A valid output.json for this task is the only proof of completion, whatever the job says. */
  private async judge(ended: Exclude<Ended, { state: 'refused' }>, options: AttemptOptions, attempt: number): Promise<Result<Output, TaskProcessFailure>> {
    // A job lost with Redis's data, or failed by the stalled check, may still be running: the task
    // is judged (and queued again) only once its process has ended, and it may have written its output.
    if (ended.state !== 'completed') options.onJobLost?.(ended.state === 'gone' ? 'the job left the queue' : `the job failed: ${ended.reason}`);
    if (ended.state !== 'completed') await attemptEnded(attemptLockPath(options.workspace, options.run, options.task), options.cancelSignal);
    const output = await readJsonFile(options.outputPath, OutputSchema);
    const told = ended.state === 'completed' ? TaskJobResultSchema.safeParse(typeof ended.value === 'string' ? safeJson(ended.value) : ended.value) : undefined;
    // Where it ran, even when the worker's first word was lost (a Redis restart drops events).
    if (told?.success && told.data.worker) options.onWorker?.(told.data.worker);
    if (output.ok && isOutputOf(output.value, options.task, attempt)) return ok(output.value);
    const nothing = { usage: emptyUsage(), refinements: 0 };
    if (ended.state === 'completed') {
      if (told?.success && !told.data.ok) return err(told.data.failure as TaskProcessFailure);
      return err({
        ...nothing,
        error: { reason: 'exited-without-output', message: 'the worker reported the task done, but there is no valid output.json for it' },
      });
    }
    if (ended.state === 'failed' && ended.reason.startsWith(`${JOB_REFUSED}:`))
      return err({
        ...nothing,
        error: { reason: 'job-refused', message: `a worker refused the task's job: ${ended.reason.slice(JOB_REFUSED.length + 1).trim()}` },
      });
    const why = ended.state === 'failed' ? ended.reason : 'the job left the queue';
    // Not the task's fault (a worker died): tried again as a new attempt, like a killed process.
    return err({ ...nothing, error: { reason: 'killed', message: `the worker running the task stopped before it finished (${why})` } });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
