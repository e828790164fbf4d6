import { appendFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Gateway } from '../gateway/gateway.js';
import { applyWorkspaceLimits } from '../gateway/workspace-limits.js';
import { runTaskProcess } from '../manager/execution/task-process.js';
import { StandbyPool } from '../manager/execution/standby-pool.js';
import { DEFAULT_MEMORY_MB } from '../formats/resolve-pipeline.js';
import { PipelineSchema } from '../formats/pipeline.js';
import { readJsonFile } from '../fs/read-json.js';
import { noteKeyVariables } from '../gateway/key-variables.js';
import { workspaceId } from '../fs/workspace-id.js';
import { workspacePaths } from '../workspace.js';
import { admitJob, type AdmittedJob } from './admit-job.js';
import { acquireLock } from '../fs/lock-file.js';
import { attemptLockPath } from './attempt-lock.js';
import { connect, lockTimings, queueNameFor } from './connection.js';
import { RedisBudget } from './redis-budget.js';
import { JOB_REFUSED, type TaskJobResult } from './task-job.js';

/** What this worker makes once and every job uses: its gateway and its warm task processes. */
interface WorkerServices {
  gateway: Gateway;
  standbys: StandbyPool;
}

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
  const name = queueNameFor(await workspaceId(options.root));
  const me = `${hostname()}:${process.pid}`;
  const budgets = connect(options.url);
  budgets.on('error', () => {});
  // Provider limits are shared through Redis by every worker of the workspace.
  const gateway = new Gateway(process.env, { makeBudget: (provider) => new RedisBudget(budgets, `${name}:budget:${provider}`) });
  const stopping = new AbortController();
  /** The jobs in hand: a job whose lock could not be renewed is another worker's to retry, so its task is stopped here. */
  const held = new Map<string, AbortController>();
  // Warm task processes, as the manager keeps locally; a pipeline.json it cannot read only means none.
  const pipeline = await readJsonFile(workspacePaths(options.root).pipelineFile, PipelineSchema);
  if (pipeline.ok) {
    noteKeyVariables(pipeline.value.providers);
    gateway.preload(pipeline.value);
  }
  const standbys = new StandbyPool(options.root, (pipeline.ok && pipeline.value.defaults?.memoryMb) || DEFAULT_MEMORY_MB, options.concurrency + 1);
  standbys.start();

  const jobs = connect(options.url);
  const worker = new Worker(name, (job: Job) => runJob(job, options.root, me, stopping.signal, { gateway, standbys }, held, options.log), {
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

async function runJob(
  job: Job,
  root: string,
  me: string,
  stopping: AbortSignal,
  services: WorkerServices,
  held: Map<string, AbortController>,
  log: (message: string) => void,
): Promise<TaskJobResult> {
  const admitted = await admitJob(root, job.id, job.data);
  if (!admitted.ok) {
    // Failed for good, and this worker carries on; the reason is the job's, for whoever looks.
    log(`refused ${job.id}: ${admitted.error}`);
    throw new UnrecoverableError(`${JOB_REFUSED}: ${admitted.error}`);
  }
  const data = admitted.value;
  // Held while the task process runs: the manager queues the task again only once it is free.
  const attemptLock = await acquireLock(attemptLockPath(root, data.run, data.task), `worker ${me}`);
  if (!attemptLock.ok) {
    const why =
      attemptLock.error.reason === 'held'
        ? `an attempt of task "${data.task}" is still running (pid ${attemptLock.error.holder.pid}${attemptLock.error.holder.host ? ` on ${attemptLock.error.holder.host}` : ''})`
        : attemptLock.error.message;
    log(`refused ${job.id}: ${why}`);
    throw new UnrecoverableError(`${JOB_REFUSED}: ${why}`);
  }
  try {
    return await runAdmitted(job, data, root, me, stopping, services, held);
  } finally {
    await attemptLock.value.release();
  }
}

async function runAdmitted(
  job: Job,
  data: AdmittedJob,
  root: string,
  me: string,
  stopping: AbortSignal,
  services: WorkerServices,
  held: Map<string, AbortController>,
): Promise<TaskJobResult> {
  await job.updateProgress({ type: 'worker', worker: me });
  // The workspace's pipeline.json as it is now sets the provider limits (it may have changed since the last job).
  await applyWorkspaceLimits(services.gateway, workspacePaths(root).pipelineFile);
  await appendFile(
    data.taskLog,
    `${JSON.stringify({ level: 30, time: Date.now(), event: 'worker', worker: me, attempt: data.attempt, msg: `attempt ${data.attempt} runs on worker ${me}` })}\n`,
  );
  const lost = new AbortController();
  held.set(job.id ?? '', lost);
  const result = await runTaskProcess(services.gateway, {
    workspace: root,
    run: data.run,
    task: data.task,
    attempt: data.attempt,
    letterPath: data.letterPath,
    outputPath: data.outputPath,
    consolePath: data.consolePath,
    timeoutMs: data.timeoutMs,
    memoryMb: data.memoryMb,
    cancelSignal: AbortSignal.any([stopping, lost.signal]),
    standbys: services.standbys,
    calls: data.calls,
    onMessage: (message) => void job.updateProgress(message).catch(() => {}),
  });
  held.delete(job.id ?? '');
  // Stopped by this worker's own shutdown (or its lock lost): not the task's fault, so the job fails and the manager tries again.
  if (!result.ok && result.error.error.reason === 'interrupted') throw new Error(`worker ${me} stopped while the task ran`);
  return result.ok ? { ok: true, worker: me } : { ok: false, worker: me, failure: result.error };
}
