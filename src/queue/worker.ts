import { appendFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker, type Job } from 'bullmq';
import type { CallSettings } from '../gateway/gateway.js';
import { processGateway } from '../gateway/shared.js';
import { applyWorkspaceLimits } from '../gateway/workspace-limits.js';
import { runTaskProcess } from '../manager/execution/task-process.js';
import { StandbyPool } from '../manager/execution/standby-pool.js';
import { DEFAULT_MEMORY_MB } from '../formats/resolve-pipeline.js';
import { PipelineSchema } from '../formats/pipeline.js';
import { readJsonFile } from '../fs/read-json.js';
import { noteKeyVariables } from '../gateway/key-variables.js';
import { workspacePaths } from '../workspace.js';
import { connect, lockTimings, queueNameFor } from './connection.js';
import { RedisBudget } from './redis-budget.js';
import { TaskJobSchema, underRoot, type TaskJobResult } from './task-job.js';

export interface WorkerOptions {
  url: string;
  root: string;
  concurrency: number;
  log: (message: string) => void;
}

/**
 * `pop worker`: takes task jobs from the workspace's queue and runs each in a fresh runner process
 * exactly as the manager would locally, its model calls through this process's own gateway (whose
 * provider limits live in Redis, shared by every worker). Resolves when the worker has stopped.
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const name = queueNameFor(options.root);
  const me = `${hostname()}:${process.pid}`;
  const budgets = connect(options.url);
  budgets.on('error', () => {});
  processGateway().makeBudget = (provider) => new RedisBudget(budgets, `${name}:budget:${provider}`);
  const stopping = new AbortController();
  /** The jobs in hand: a job whose lock could not be renewed is another worker's to retry, so its task is stopped here. */
  const held = new Map<string, AbortController>();
  // Warm task processes, as the manager keeps locally; a pipeline.json it cannot read only means none.
  const pipeline = await readJsonFile(workspacePaths(options.root).pipelineFile, PipelineSchema);
  if (pipeline.ok) {
    noteKeyVariables(pipeline.value.providers);
    processGateway().preload(pipeline.value);
  }
  const standbys = new StandbyPool(options.root, (pipeline.ok && pipeline.value.defaults?.memoryMb) || DEFAULT_MEMORY_MB, options.concurrency + 1);
  standbys.start();

  const jobs = connect(options.url);
  const worker = new Worker(name, (job: Job) => runJob(job, options.root, me, stopping.signal, standbys, held), {
    connection: jobs,
    concurrency: options.concurrency,
    // A job whose worker died fails at once: the manager starts the next attempt, numbered as today.
    maxStalledCount: 0,
    ...lockTimings(),
  });
  worker.on('error', (error) => options.log(`queue: ${error.message}`));
  worker.on('lockRenewalFailed', (ids) => {
    for (const id of ids) {
      options.log(`lost the lock of ${id}: stopping its task`);
      held.get(id)?.abort();
    }
  });
  worker.on('active', (job) => options.log(`took ${job.id}`));
  worker.on('completed', (job) => options.log(`finished ${job.id}`));
  await worker.waitUntilReady();
  options.log(`worker ${me} takes tasks from queue ${name} at ${options.url} for ${options.root} (${options.concurrency} at once)`);

  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = () => {
      // The first signal lets running tasks finish; a second stops them (their jobs fail, and are tried again).
      if (++signals > 1) stopping.abort();
      else options.log('stopping: finishing the tasks in hand (signal again to stop them)');
      void worker.close().then(resolve, resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await standbys.close();
  budgets.disconnect();
  jobs.disconnect();
}

async function runJob(job: Job, root: string, me: string, stopping: AbortSignal, standbys: StandbyPool, held: Map<string, AbortController>): Promise<TaskJobResult> {
  const data = TaskJobSchema.parse(job.data);
  const path = (relative: string) => {
    const inside = underRoot(root, relative);
    if (!inside) throw new Error(`job ${job.id} names a path outside the workspace: ${relative}`);
    return inside;
  };
  await job.updateProgress({ type: 'worker', worker: me });
  // The workspace's pipeline.json as it is now sets the provider limits (it may have changed since the last job).
  await applyWorkspaceLimits(processGateway(), workspacePaths(root).pipelineFile);
  await appendFile(join(dirname(path(data.output)), 'task.log'), `${JSON.stringify({ level: 30, time: Date.now(), event: 'worker', worker: me, attempt: data.attempt, msg: `attempt ${data.attempt} runs on worker ${me}` })}\n`);
  const lost = new AbortController();
  held.set(job.id ?? '', lost);
  const result = await runTaskProcess({
    workspace: root,
    run: data.run,
    task: data.task,
    letterPath: path(data.letter),
    outputPath: path(data.output),
    consolePath: path(data.console),
    timeoutMs: data.timeoutMs,
    memoryMb: data.memoryMb,
    cancelSignal: AbortSignal.any([stopping, lost.signal]),
    standbys,
    // The manager checked the run's pipeline snapshot before it queued the job.
    calls: { ...data.calls, cacheDir: data.calls.cacheDir === undefined ? undefined : path(data.calls.cacheDir) } as CallSettings,
    onMessage: (message) => void job.updateProgress(message).catch(() => {}),
  });
  held.delete(job.id ?? '');
  // Stopped by this worker's own shutdown (or its lock lost): not the task's fault, so the job fails and the manager tries again.
  if (!result.ok && result.error.error.reason === 'interrupted') throw new Error(`worker ${me} stopped while the task ran`);
  return result.ok ? { ok: true, worker: me } : { ok: false, worker: me, failure: result.error };
}
