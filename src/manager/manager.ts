import { lstat, mkdir, readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { watch, type FSWatcher } from 'chokidar';
import { runPaths, workspacePaths, type WorkspacePaths } from '../workspace.js';
import { readJsonFile } from '../fs/read-json.js';
import { SourceSchema } from '../formats/source.js';
import { setAsideDuplicate } from './intake/set-aside-duplicate.js';
import { acquireLock, type HeldLock } from '../fs/lock-file.js';
import { err, type Result } from '../result.js';
import { networkFileSystemOf } from '../fs/network-fs.js';
import { workspaceId } from '../fs/workspace-id.js';
import { logEvent, type EmitEvent, type ManagerEvent } from './events.js';
import { loadWorkspace, type LoadedWorkspace } from './load-workspace.js';
import { claimSeed } from './intake/claim-seed.js';
import { executeRunLocked } from './execution/run-locked.js';
import { RunQueue, type RunQueueOptions } from './execution/run-queue.js';
import type { Pipeline } from '../formats/pipeline.js';
import { scanCurrentRuns, type CurrentRun } from './recovery/reconcile.js';
import { StandbyPool } from './execution/standby-pool.js';
import { TaskSlots } from './execution/task-slots.js';
import { localAttempts, type RunAttempt } from './execution/attempt-runner.js';
import { DEFAULT_MEMORY_MB } from '../formats/resolve-pipeline.js';
import { DEFAULT_SETTLE_MS, SeedIntake } from './intake/seed-intake.js';
import { inspectSeed } from './intake/inspect-seed.js';
import { prepareResume } from './recovery/prepare-resume.js';
import { takeRunRequest } from './runs/requests.js';
import { installLastResort } from './last-resort.js';
import { repairTornTail } from '../fs/append-line.js';
import { tornLinesFile } from './runs/promote-run.js';
import { noteKeyVariables } from '../gateway/key-variables.js';
import { Gateway } from '../gateway/gateway.js';
import { BatchRounds } from './batch-rounds.js';
import { batchPaths, tasksStillWaiting } from '../batch/batch-store.js';
import { RunStatusSchema } from '../formats/tasks-status.js';

export { DEFAULT_CONCURRENCY } from './defaults.js';
import { DEFAULT_CONCURRENCY } from './defaults.js';
/** How often pending/ is listed, to catch what the watcher missed. */
const RESCAN_MS = 1000;
/** On SIGINT/SIGTERM, running tasks get this long to finish before they are stopped. */
export const DEFAULT_GRACE_MS = 10_000;
/** With --once, how often a run whose lock cannot be taken (disk full) is tried before it is left. */
const ONCE_LOCK_TRIES = 6;

export interface ManagerOptions {
  root: string;
  once: boolean;
  concurrency?: number;
  settleMs?: number;
  graceMs?: number;
  log: Logger;
  /** `start --no-cache`: the call cache is neither read nor written. */
  cacheOff?: boolean;
  /** Task attempts run on queue workers this way (`start --queue`): no warm task processes here. */
  queue?: RunAttempt | undefined;
  /** Extra consumer of events (the live progress display). */
  onEvent?: (event: ManagerEvent) => void;
}

export type ManagerResult =
  | {
      ok: true;
      completed: number;
      failed: number;
      rejected: number;
      interrupted: number;
      /** `--once`: calls still at the Batch API, and the runs they belong to (a later start continues them). */
      batchWaiting?: BatchWaiting;
    }
  | { ok: false; problems: string[] };

/** Calls still at the Batch API when `start --once` ends. */
type BatchWaiting = { requests: number; runs: string[] };

/**
 * The outer layer: claims seeds, runs their tasks (each in a child process), promotes finished
 * runs. The only writer of tasks-status.json, runs.jsonl and the moves between folders; one
 * manager per workspace, held by pipeline-current/.manager.lock.
 */
export async function runManager(options: ManagerOptions): Promise<ManagerResult> {
  const paths = workspacePaths(options.root);
  const loaded = await loadWorkspace(paths);
  if (!loaded.ok) return { ok: false, problems: loaded.error };
  // Replaced when pipeline.json changes and still checks out; runs keep the snapshot they started with.
  let active = loaded.value;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const queued = options.queue !== undefined;
  // Made once, for every run: the gateway (its keys this process's environment, .env loaded into it) and how attempts run.
  const gateway = new Gateway(process.env, { cacheOff: options.cacheOff === true });
  const runAttempt = options.queue ?? localAttempts(gateway);
  await Promise.all([paths.pending, paths.current, paths.complete, paths.requests, paths.locks].map((dir) => mkdir(dir, { recursive: true })));
  const managerLock = await takeManagerLock(paths, options);
  if (!managerLock.ok) return { ok: false, problems: [managerLock.error] };

  // A bug of the manager's own fails the task it met, not the daemon.
  const removeLastResort = installLastResort((fault) => logEvent(options.log, { event: 'internal-error', ...fault }));
  try {
    const stopController = new AbortController();
    // Aborted as soon as the manager begins to stop: no task starts after that, in any run.
    const stopStarting = new AbortController();
    const emit = (event: ManagerEvent) => {
      logEvent(options.log, event);
      options.onEvent?.(event);
    };
    await announceStart(paths, active, { ...options, concurrency, queued, tookOver: managerLock.value.tookOver }, emit);
    const { slots, standbys } = processSlots(paths, active, concurrency, queued);
    // Standbys are started before they have a task: the workspace's pipeline names their keys.
    noteKeyVariables(active.pipeline.providers);
    gateway.preload(active.pipeline);
    gateway.setWorkspaceLimits(active.pipeline.providers);
    if (!queued) standbys.start();

    const { runs, batchRounds } = queueWithBatchRounds(paths, emit, {
      concurrency,
      lockTries: options.once ? ONCE_LOCK_TRIES : undefined,
      pipeline: () => active.pipeline,
      execute: (entry) =>
        executeRunLocked({
          paths,
          ...entry,
          emit,
          cancelSignal: stopController.signal,
          stopSignal: stopStarting.signal,
          command: 'start',
          standbys,
          slots,
          runAttempt,
        }),
    });

    const current = await takeUpLeftRuns(paths, runs, emit);
    const intake = seedIntake(paths, runs, emit, options.settleMs ?? DEFAULT_SETTLE_MS, () => active);
    await setAsideCrashDuplicates(paths, current, emit);
    const reloadPipeline = async () => {
      const next = await loadWorkspace(paths, { freshRegistry: true });
      if (!next.ok) return emit({ event: 'pipeline-invalid', problems: next.error });
      if (next.value.pipelineText === active.pipelineText) return;
      active = next.value;
      gateway.setWorkspaceLimits(active.pipeline.providers);
      emit({ event: 'pipeline-reloaded', pipeline: active.pipeline.name, tasks: active.tasks.map((task) => task.name) });
    };

    const loop: ManagerLoop = {
      paths,
      emit,
      intake,
      runs,
      standbys,
      slots,
      handleRequest: requestTaker(paths, runs, emit),
      stopController,
      stopStarting,
      batchRounds,
    };
    if (options.once) {
      const batchWaiting = await workThroughOnce(loop);
      return { ok: true, ...runs.counts, rejected: intake.rejected, ...(batchWaiting.requests > 0 ? { batchWaiting } : {}) };
    }
    await watchUntilStopped(loop, reloadPipeline, options.graceMs ?? DEFAULT_GRACE_MS);
    emit({ event: 'manager-stopped', completed: runs.counts.completed, failed: runs.counts.failed, rejected: intake.rejected });
    return { ok: true, ...runs.counts, rejected: intake.rejected };
  } finally {
    removeLastResort();
    await managerLock.value.release();
  }
}

/**
 * The runs taken in, and the Batch API rounds that hand back the runs whose parked tasks got their
 * answers: a waiting run continues once a task of it has all its answers (one being worked on is
 * looked at when it ends).
 */
function queueWithBatchRounds(
  paths: WorkspacePaths,
  emit: EmitEvent,
  options: Pick<RunQueueOptions, 'concurrency' | 'lockTries' | 'execute'> & { pipeline: () => Pipeline },
): { runs: RunQueue; batchRounds: BatchRounds } {
  const continueIfAnswered = async (id: string) => {
    if (runs.has(id)) return;
    const runDir = join(paths.current, id);
    if (await hasAnsweredTasks(paths, runDir, id)) runs.enqueue({ runDir, id });
  };
  // A run that ended waiting: its status learns the batch noted while it ran, and answers that came
  // in while its other tasks ran let it continue at once.
  const onWaiting = async (id: string) => {
    await batchRounds.noteLeftOut(id);
    await continueIfAnswered(id);
  };
  const runs: RunQueue = new RunQueue({ ...options, emit, onWaiting });
  const batchRounds = new BatchRounds({
    paths,
    pipeline: options.pipeline,
    emit,
    isBusy: (run) => runs.has(run),
    onAnswered: async (answered) => {
      await Promise.all([...answered].map((run) => continueIfAnswered(run)));
    },
  });
  return { runs, batchRounds };
}

/** Seeds dropped into pipeline-pending/ become runs of the workspace's pipeline as it is when they are claimed. */
function seedIntake(paths: WorkspacePaths, runs: RunQueue, emit: EmitEvent, settleMs: number, active: () => LoadedWorkspace): SeedIntake {
  return new SeedIntake({
    paths,
    seedSchema: () => active().registry.seedSchema,
    settleMs,
    emit,
    claim: async (file, seed) => {
      const { pipeline, pipelineText, tasks } = active();
      const claimed = await claimSeed(paths, file, seed, { name: pipeline.name, text: pipelineText, tasks });
      runs.enqueue({ runDir: claimed.runDir, id: claimed.id, status: claimed.status });
      return claimed.id;
    },
  });
}

/**
 * The one manager of the workspace: its lock, or who holds it. A manager whose lock another host
 * takes over (its heartbeat stopped: a frozen machine) stops, so two never work at once.
 */
async function takeManagerLock(paths: WorkspacePaths, options: ManagerOptions): Promise<Result<HeldLock, string>> {
  const managerLock = await acquireLock(paths.managerLock, options.once ? 'start --once' : 'start', {
    onLost: (by) => {
      const event: ManagerEvent = { event: 'lock-lost', path: paths.managerLock, host: by?.host ?? 'unknown', pid: by?.pid ?? 0 };
      logEvent(options.log, event);
      options.onEvent?.(event);
      process.kill(process.pid, 'SIGTERM');
    },
  });
  if (managerLock.ok) return managerLock;
  if (managerLock.error.reason === 'io-error') return err(`cannot take the manager lock: ${managerLock.error.message}`);
  const { holder } = managerLock.error;
  const where = holder.host && holder.host !== hostname() ? `, on host ${holder.host}` : '';
  return err(`another manager (pid ${holder.pid}, "${holder.command}"${where}) is already working on ${paths.root}`);
}

/** What the manager says as it starts: its pipeline, the pipeline's warnings, a lock taken over, a network file system. */
async function announceStart(
  paths: WorkspacePaths,
  active: LoadedWorkspace,
  facts: { once: boolean; concurrency: number; queued: boolean; tookOver: HeldLock['tookOver'] },
  emit: EmitEvent,
): Promise<void> {
  const { pipeline, tasks } = active;
  emit({
    event: 'manager-started',
    root: paths.root,
    pipeline: pipeline.name,
    tasks: tasks.map((task) => task.name),
    concurrency: facts.concurrency,
    once: facts.once,
  });
  for (const warning of active.warnings) emit({ event: 'pipeline-warning', message: warning });
  const previous = facts.tookOver;
  if (previous)
    emit({
      event: 'lock-taken-over',
      path: paths.managerLock,
      host: previous.host ?? 'unknown',
      pid: previous.pid,
      heartbeatAt: previous.heartbeatAt ?? previous.acquiredAt,
    });
  await workspaceId(paths.root);
  const fileSystem = facts.queued ? undefined : await networkFileSystemOf(paths.root);
  if (fileSystem) {
    emit({
      event: 'workspace-on-network-fs',
      root: paths.root,
      fileSystem,
      message: `${paths.root} is on a network file system (${fileSystem}): a manager on another host is kept out only by the lock file's heartbeat, which needs the hosts' clocks to agree within seconds`,
    });
  }
}

/**
 * `concurrency` caps task processes across all runs; as many runs are taken in at once, so every
 * slot has a run to fill it while runs are queued. As many standbys as tasks waiting for a slot,
 * plus one (a replacement takes longer to start than a quick task takes to run), at most one more
 * than the slots; none when the tasks run on a queue's workers.
 */
function processSlots(paths: WorkspacePaths, active: LoadedWorkspace, concurrency: number, queued: boolean): { slots: TaskSlots; standbys: StandbyPool } {
  const slots = new TaskSlots(concurrency);
  const standbys = new StandbyPool(paths.root, active.pipeline.defaults?.memoryMb ?? DEFAULT_MEMORY_MB, queued ? 0 : concurrency + 1, () => slots.waiting);
  slots.onWaiting = () => standbys.demandChanged();
  return { slots, standbys };
}

/**
 * Continue what a previous manager left: runs queued, running, or complete but not yet moved (a
 * run waiting for the Batch API once its answers are in); a torn last line of runs.jsonl is cut off.
 */
async function takeUpLeftRuns(paths: WorkspacePaths, runs: RunQueue, emit: EmitEvent): Promise<CurrentRun[]> {
  const tornBytes = await repairTornTail(paths.runsJsonl, tornLinesFile(paths));
  if (tornBytes > 0) emit({ event: 'runs-file-repaired', path: paths.runsJsonl, bytes: tornBytes, keptIn: tornLinesFile(paths) });
  const current = await scanCurrentRuns(paths, emit);
  for (const run of current) {
    if (run.status.state === 'failed') continue;
    if (run.status.state === 'waiting' && !(await hasAnsweredTasks(paths, run.runDir, run.status.id))) continue;
    emit({ event: 'run-resumed', run: run.status.id, state: run.status.state });
    runs.enqueue({ runDir: run.runDir, id: run.status.id, status: run.status });
  }
  return current;
}

/** `resume` and `rerun` hand runs over as request files: each is taken once, and its run queued. */
function requestTaker(paths: WorkspacePaths, runs: RunQueue, emit: EmitEvent): (path: string) => Promise<void> {
  const beingTaken = new Set<string>();
  return async (path) => {
    // The watcher and the rescan may both offer one file.
    if (beingTaken.has(path)) return;
    beingTaken.add(path);
    const taken = await takeRunRequest(path).finally(() => beingTaken.delete(path));
    if (!taken) return;
    if (!taken.ok) return emit({ event: 'request-invalid', path, message: taken.error });
    const request = taken.value;
    const runDir = join(paths.current, request.run);
    emit({ event: 'run-requested', run: request.run, pipeline: request.pipeline });
    runs.enqueue({
      runDir,
      id: request.run,
      prepare: (status) => prepareResume(runDir, status, request.pipeline === 'current' ? { kind: 'current', file: paths.pipelineFile } : { kind: 'snapshot' }),
    });
  };
}

/** What the `--once` path and the watch path share, once the manager has taken in what was left. */
interface ManagerLoop {
  paths: WorkspacePaths;
  emit: (event: ManagerEvent) => void;
  intake: SeedIntake;
  runs: RunQueue;
  standbys: StandbyPool;
  slots: TaskSlots;
  /** Take in one request file of `resume` or `rerun`. */
  handleRequest: (path: string) => Promise<void>;
  /** Aborted when running tasks must be ended. */
  stopController: AbortController;
  /** Aborted as soon as the manager begins to stop. */
  stopStarting: AbortController;
  batchRounds: BatchRounds;
}

/** `--once`: the requests and seeds there now, every run they make settled, then done; says what still waits for a Batch API. */
async function workThroughOnce(loop: ManagerLoop): Promise<BatchWaiting> {
  const { paths, intake } = loop;
  const { scheduler, retries } = loop.runs;
  await takeWaitingRequests(loop);
  loop.emit({ event: 'manager-ready', resumed: loop.runs.size, pending: 'once' });
  for (const name of await pendingSeedNames(paths)) intake.offer(name);
  await intake.idle();
  await scheduler.idle();
  while (retries.waiting > 0) {
    await retries.next();
    await scheduler.idle();
  }
  const batchWaiting = await finishBatchRounds(loop);
  if (batchWaiting.requests > 0) loop.emit({ event: 'batches-waiting', ...batchWaiting });
  await loop.standbys.close();
  return batchWaiting;
}

/**
 * `start --once` does not sit for a day: every parked call is submitted, every open batch asked
 * once, and what came back is run, until a round brings nothing back. What still waits is said.
 */
async function finishBatchRounds(loop: ManagerLoop): Promise<BatchWaiting> {
  for (;;) {
    const round = await loop.batchRounds.flush();
    if (round.answered === 0) {
      const where = batchPaths(loop.paths.root);
      const runs: string[] = [];
      for (const run of (await readdir(where.pending).catch(() => [] as string[])).sort()) if ((await tasksStillWaiting(where, run)).size > 0) runs.push(run);
      return { requests: round.waiting, runs };
    }
    await loop.runs.scheduler.idle();
  }
}

/** Whether a waiting run has a parked task whose calls are all answered now. */
async function hasAnsweredTasks(paths: WorkspacePaths, runDir: string, id: string): Promise<boolean> {
  const status = await readJsonFile(runPaths(runDir).status, RunStatusSchema);
  if (!status.ok || status.value.state !== 'waiting') return false;
  const parked = await tasksStillWaiting(batchPaths(paths.root), id);
  return Object.entries(status.value.tasks).some(([name, task]) => task.state === 'waiting' && !parked.has(name));
}

/** Watching pending/, pipeline.json and the requests until SIGINT or SIGTERM, then a graceful stop. */
async function watchUntilStopped(loop: ManagerLoop, reloadPipeline: () => Promise<void>, graceMs: number): Promise<void> {
  const { paths, intake, emit, slots, stopController } = loop;
  const watchers = [
    watchFolder(paths.pending, isSeedName, (name) => intake.offer(name)),
    watchFolder(
      paths.root,
      (name) => name === 'pipeline.json',
      () => void reloadPipeline(),
    ),
    watchFolder(paths.requests, isRequestName, (name) => void loop.handleRequest(join(paths.requests, name))),
  ];
  await Promise.all(watchers.map((watcher) => new Promise<void>((resolve) => watcher.once('ready', () => resolve()))));
  for (const name of await pendingSeedNames(paths)) intake.offer(name);
  const rescan = rescanNowAndThen(loop);
  await takeWaitingRequests(loop);
  emit({ event: 'manager-ready', resumed: loop.runs.size, pending: 'watching' });
  loop.batchRounds.start();
  const onSecondSignal = (signal: string) => {
    if (stopController.signal.aborted) return;
    emit({ event: 'manager-forcing', signal, running: slots.running });
    stopController.abort(new Error(`a second ${signal}`));
  };
  await waitForStopSignal(onSecondSignal, async (signal) => {
    loop.stopStarting.abort();
    emit({ event: 'manager-stopping', signal, running: slots.running, graceMs });
    clearInterval(rescan);
    await Promise.all(watchers.map((watcher) => watcher.close()));
    await stopGracefully(loop, graceMs);
  });
}

/**
 * chokidar does not report a file whose name it still remembers from a file just moved away
 * (a seed dropped again under the same name): a look at the folder now and then catches it.
 * Only when the intake is idle: while it works through a backlog the files are being taken anyway.
 */
function rescanNowAndThen(loop: ManagerLoop): NodeJS.Timeout {
  const { paths, intake } = loop;
  return setInterval(() => {
    if (!intake.busy)
      void readdir(paths.pending).then(
        (names) => intake.rescan(names.filter(isSeedName)),
        () => {},
      );
    // A request written on another host sharing the folder raises no event here.
    void readdir(paths.requests).then(
      (names) => {
        for (const name of names) if (isRequestName(name)) void loop.handleRequest(join(paths.requests, name));
      },
      () => {},
    );
  }, RESCAN_MS);
}

/** No run or task starts any more; running tasks get the grace period, then are stopped. */
async function stopGracefully(loop: ManagerLoop, graceMs: number): Promise<void> {
  const { stopController } = loop;
  const { scheduler } = loop.runs;
  loop.intake.stop();
  loop.runs.retries.cancel();
  // Batches stay open at their providers: a later start re-attaches to them.
  await loop.batchRounds.stop();
  scheduler.pause();
  const grace = setTimeout(() => stopController.abort(new Error('grace period over')), graceMs);
  await scheduler.idle();
  clearTimeout(grace);
  await loop.standbys.close();
}

/** The request files already waiting, taken in before the manager says it is ready. */
async function takeWaitingRequests(loop: ManagerLoop): Promise<void> {
  for (const name of await readdir(loop.paths.requests)) if (isRequestName(name)) await loop.handleRequest(join(loop.paths.requests, name));
}

/** Seeds already in pending/, oldest first: a backlog is taken in the order it arrived. */
async function pendingSeedNames(paths: WorkspacePaths): Promise<string[]> {
  const names = (await readdir(paths.pending)).filter(isSeedName);
  const arrived = await Promise.all(names.map(async (name) => ({ name, at: (await lstat(join(paths.pending, name)).catch(() => undefined))?.mtimeMs ?? 0 })));
  return arrived.sort((a, b) => a.at - b.at || a.name.localeCompare(b.name)).map((seed) => seed.name);
}

/** Hidden names too: the intake rejects those that stay (see SeedIntake), rather than ignore them. */
const isSeedName = (name: string) => name.toLowerCase().endsWith('.json');

/** A request file of `resume` or `rerun` (hidden names are left alone). */
const isRequestName = (name: string) => name.endsWith('.json') && !name.startsWith('.');

/**
 * Watch one folder (not its subfolders) for files. No awaitWriteFinish: it would add a fixed wait
 * to every seed, and a file still being written simply fails to parse and is looked at again on
 * its next change.
 */
function watchFolder(dir: string, accept: (name: string) => boolean, onFile: (name: string) => void): FSWatcher {
  // Files there before the watch are offered by the caller, oldest first.
  const watcher = watch(dir, { depth: 0, ignoreInitial: true, persistent: true, followSymlinks: false });
  const handle = (path: string) => {
    const name = basename(path);
    if (join(dir, name) === path && accept(name)) onFile(name);
  };
  // addDir too: a folder named like a seed is offered, and rejected with a clear error.
  watcher.on('add', handle).on('change', handle).on('addDir', handle);
  return watcher;
}

/**
 * A crash between creating a run and removing its pending seed leaves both. The copy is the very
 * file the run's source.json describes (name, size, mtime, sha256): it is set aside to
 * pipeline-pending/duplicates/ with a note, never deleted and not run twice. A seed that only has the
 * same content is a new drop, and runs.
 */
async function setAsideCrashDuplicates(paths: WorkspacePaths, runs: CurrentRun[], emit: (event: ManagerEvent) => void): Promise<void> {
  if (runs.length === 0) return;
  const bySource = new Map<string, string>();
  for (const run of runs) {
    const source = await readJsonFile(runPaths(run.runDir).source, SourceSchema);
    if (source.ok) bySource.set(sourceKey(source.value.file, source.value.size, source.value.mtimeMs, source.value.sha256), run.status.id);
  }
  for (const name of await pendingSeedNames(paths)) {
    const check = await inspectSeed(join(paths.pending, name), undefined);
    if (check.kind !== 'ready') continue;
    const run = bySource.get(sourceKey(name, check.size, check.mtimeMs, check.sha256));
    if (run) emit({ event: 'seed-duplicate', seed: name, run, movedTo: await setAsideDuplicate(paths, join(paths.pending, name), run) });
  }
}

const sourceKey = (file: string, size: number, mtimeMs: number, sha256: string) => JSON.stringify([file, size, mtimeMs, sha256]);

/**
 * `on`, not `once`: other listeners (execa's cleanup) re-send a signal when they find themselves
 * alone, which would kill the manager in the middle of its graceful stop. A second signal while
 * stopping means "now": the running tasks are stopped without waiting for the grace period.
 */
function waitForStopSignal(onSecond: (signal: string) => void, onStop: (signal: string) => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) return onSecond(signal);
      stopping = true;
      void onStop(signal).finally(() => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
        resolve();
      });
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
