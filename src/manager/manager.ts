import { lstat, mkdir, readdir, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { watch, type FSWatcher } from 'chokidar';
import { workspacePaths, type WorkspacePaths } from '../workspace.js';
import { acquireLock } from '../fs/lock-file.js';
import { logEvent, type ManagerEvent } from './events.js';
import { loadWorkspace } from './load-workspace.js';
import { claimSeed } from './intake/claim-seed.js';
import { executeRunLocked, type LockedRunOptions } from './execution/run-locked.js';
import { scanCurrentRuns, type CurrentRun } from './recovery/reconcile.js';
import { Scheduler } from './execution/scheduler.js';
import { StandbyPool } from './execution/standby-pool.js';
import { TaskSlots } from './execution/task-slots.js';
import { attemptsRunHere } from './execution/attempt-runner.js';
import { saveStatus } from './runs/run-status.js';
import { DEFAULT_MEMORY_MB } from '../formats/resolve-pipeline.js';
import { DEFAULT_SETTLE_MS, SeedIntake } from './intake/seed-intake.js';
import { inspectSeed } from './intake/inspect-seed.js';
import { prepareResume } from './recovery/prepare-resume.js';
import { takeRunRequest } from './runs/requests.js';
import { installLastResort } from './last-resort.js';
import { RetryLater } from './execution/retry-later.js';
import { repairTornTail } from '../fs/append-line.js';
import { tornLinesFile } from './runs/promote-run.js';
import { noteKeyVariables } from '../gateway/key-variables.js';
import { processGateway } from '../gateway/shared.js';

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
  /** Extra consumer of events (the live progress display). */
  onEvent?: (event: ManagerEvent) => void;
}

export type ManagerResult =
  | { ok: true; completed: number; failed: number; rejected: number; interrupted: number }
  | { ok: false; problems: string[] };

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
  const { pipeline, tasks } = active;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  await Promise.all([paths.pending, paths.current, paths.complete, paths.requests, paths.locks].map((dir) => mkdir(dir, { recursive: true })));

  const managerLock = await acquireLock(paths.managerLock, options.once ? 'start --once' : 'start');
  if (!managerLock.ok) {
    if (managerLock.error.reason === 'io-error') return { ok: false, problems: [`cannot take the manager lock: ${managerLock.error.message}`] };
    const { holder } = managerLock.error;
    return { ok: false, problems: [`another manager (pid ${holder.pid}, "${holder.command}") is already working on ${paths.root}`] };
  }

  // A bug of the manager's own fails the task it met, not the daemon.
  const removeLastResort = installLastResort((fault) => logEvent(options.log, { event: 'internal-error', ...fault }));
  try {
    const stopController = new AbortController();
    // Aborted as soon as the manager begins to stop: no task starts after that, in any run.
    const stopStarting = new AbortController();
    const counts = { completed: 0, failed: 0, interrupted: 0 };
    type QueuedRun = Pick<LockedRunOptions, 'runDir' | 'id' | 'status' | 'prepare'>;
    const queuedRuns = new Map<string, QueuedRun>();
    const emit = (event: ManagerEvent) => {
      logEvent(options.log, event);
      options.onEvent?.(event);
    };
    emit({ event: 'manager-started', root: paths.root, pipeline: pipeline.name, tasks: tasks.map((task) => task.name), concurrency, once: options.once });

    // `concurrency` caps task processes across all runs; as many runs are taken in at once, so
    // every slot has a run to fill it while runs are queued.
    const slots = new TaskSlots(concurrency);
    // As many standbys as tasks waiting for a slot, plus one (a replacement takes longer to start
    // than a quick task takes to run), at most one more than the slots; none when the tasks run on
    // a queue's workers.
    const standbys = new StandbyPool(paths.root, active.pipeline.defaults?.memoryMb ?? DEFAULT_MEMORY_MB, attemptsRunHere() ? concurrency + 1 : 0, () => slots.waiting);
    slots.onWaiting = () => standbys.demandChanged();
    // Standbys are started before they have a task: the workspace's pipeline names their keys.
    noteKeyVariables(active.pipeline.providers);
    processGateway().preload(active.pipeline);
    standbys.start();
    let queuedShown = 0;
    const showQueued = () => {
      if (scheduler.queued === queuedShown) return;
      queuedShown = scheduler.queued;
      emit({ event: 'runs-queued', queued: queuedShown });
    };
    // --once must end: a run that still cannot start after a few tries is left for the next start.
    const retries = new RetryLater<string>((id) => scheduler.enqueue(id), options.once ? ONCE_LOCK_TRIES : undefined);
    const scheduler = new Scheduler<string>(concurrency, async (id) => {
      showQueued();
      const entry = queuedRuns.get(id);
      if (!entry) return;
      const outcome = await executeRunLocked({ paths, ...entry, emit, cancelSignal: stopController.signal, stopSignal: stopStarting.signal, command: 'start', standbys, slots });
      if (typeof outcome === 'object' && 'deferred' in outcome) {
        // Stays queued: tried again when the cause (a full disk) may have passed.
        const retryInMs = retries.schedule(id) ?? null;
        if (retryInMs === null) {
          queuedRuns.delete(id);
          counts.interrupted++;
        }
        return emit({ event: 'run-deferred', run: id, reason: 'lock-unavailable', message: outcome.deferred, retryInMs });
      }
      queuedRuns.delete(id);
      retries.started(id);
      if (outcome === 'complete') counts.completed++;
      else if (outcome === 'failed') counts.failed++;
      else if (outcome === 'interrupted') counts.interrupted++;
      else if (typeof outcome === 'object') emit({ event: 'request-invalid', path: entry.runDir, message: outcome.refused });
    });
    const enqueue = (run: QueuedRun) => {
      if (queuedRuns.has(run.id)) return;
      queuedRuns.set(run.id, run);
      scheduler.enqueue(run.id);
      showQueued();
    };

    const tornBytes = await repairTornTail(paths.runsJsonl, tornLinesFile(paths));
    if (tornBytes > 0) emit({ event: 'runs-file-repaired', path: paths.runsJsonl, bytes: tornBytes, keptIn: tornLinesFile(paths) });
    // Continue what a previous manager left: runs queued, running, or complete but not yet moved.
    const current = await scanCurrentRuns(paths, emit);
    for (const run of current) {
      if (run.status.state === 'failed') continue;
      emit({ event: 'run-resumed', run: run.status.id, state: run.status.state });
      enqueue({ runDir: run.runDir, id: run.status.id, status: run.status });
    }

    const intake = new SeedIntake({
      paths,
      seedSchema: () => active.registry.seedSchema,
      settleMs: options.settleMs ?? DEFAULT_SETTLE_MS,
      emit,
      claim: async (file, seed) => {
        const claimed = await claimSeed(paths, file, seed, { name: active.pipeline.name, text: active.pipelineText, tasks: active.tasks });
        enqueue({ runDir: claimed.runDir, id: claimed.id, status: claimed.status });
        return claimed.id;
      },
    });
    await removeCrashDuplicates(paths, current, emit);

    /** `resume` and `rerun` hand runs over as request files. */
    const handleRequest = async (path: string) => {
      const taken = await takeRunRequest(path);
      if (!taken) return;
      if (!taken.ok) return emit({ event: 'request-invalid', path, message: taken.error });
      const request = taken.value;
      const runDir = join(paths.current, request.run);
      emit({ event: 'run-requested', run: request.run, pipeline: request.pipeline });
      enqueue({
        runDir,
        id: request.run,
        prepare: (status) => prepareResume(runDir, status, request.pipeline === 'current' ? { kind: 'current', file: paths.pipelineFile } : { kind: 'snapshot' }),
      });
    };
    const reloadPipeline = async () => {
      const next = await loadWorkspace(paths, { freshRegistry: true });
      if (!next.ok) return emit({ event: 'pipeline-invalid', problems: next.error });
      if (next.value.pipelineText === active.pipelineText) return;
      active = next.value;
      emit({ event: 'pipeline-reloaded', pipeline: active.pipeline.name, tasks: active.tasks.map((task) => task.name) });
    };

    if (options.once) {
      for (const name of await readdir(paths.requests)) if (name.endsWith('.json') && !name.startsWith('.')) await handleRequest(join(paths.requests, name));
      emit({ event: 'manager-ready', resumed: queuedRuns.size, pending: 'once' });
      for (const name of await pendingSeedNames(paths)) intake.offer(name);
      await intake.idle();
      await scheduler.idle();
      while (retries.waiting > 0) {
        await retries.next();
        await scheduler.idle();
      }
      await standbys.close();
      return { ok: true, ...counts, rejected: intake.rejected };
    }

    const watchers = [
      watchFolder(paths.pending, isSeedName, (name) => intake.offer(name)),
      watchFolder(paths.root, (name) => name === 'pipeline.json', () => void reloadPipeline()),
      watchFolder(paths.requests, (name) => name.endsWith('.json') && !name.startsWith('.'), (name) => void handleRequest(join(paths.requests, name))),
    ];
    await Promise.all(watchers.map((watcher) => new Promise<void>((resolve) => watcher.once('ready', () => resolve()))));
    for (const name of await pendingSeedNames(paths)) intake.offer(name);
    // chokidar does not report a file whose name it still remembers from a file just moved away
    // (a seed dropped again under the same name): a look at the folder now and then catches it.
    // Only when the intake is idle: while it works through a backlog the files are being taken anyway.
    const rescan = setInterval(() => {
      if (!intake.busy) void readdir(paths.pending).then((names) => intake.rescan(names.filter(isSeedName)), () => {});
    }, RESCAN_MS);
    for (const name of await readdir(paths.requests)) if (name.endsWith('.json') && !name.startsWith('.')) await handleRequest(join(paths.requests, name));
    emit({ event: 'manager-ready', resumed: queuedRuns.size, pending: 'watching' });
    await waitForStopSignal(async (signal) => {
      stopStarting.abort();
      emit({ event: 'manager-stopping', signal, running: slots.running });
      clearInterval(rescan);
      await Promise.all(watchers.map((watcher) => watcher.close()));
      intake.stop();
      retries.cancel();
      scheduler.pause();
      const grace = setTimeout(() => stopController.abort(new Error('grace period over')), options.graceMs ?? DEFAULT_GRACE_MS);
      await scheduler.idle();
      clearTimeout(grace);
      await standbys.close();
    });
    emit({ event: 'manager-stopped', completed: counts.completed, failed: counts.failed, rejected: intake.rejected });
    return { ok: true, ...counts, rejected: intake.rejected };
  } finally {
    removeLastResort();
    await managerLock.value.release();
  }
}

/** Seeds already in pending/, oldest first: a backlog is taken in the order it arrived. */
async function pendingSeedNames(paths: WorkspacePaths): Promise<string[]> {
  const names = (await readdir(paths.pending)).filter(isSeedName);
  const arrived = await Promise.all(names.map(async (name) => ({ name, at: (await lstat(join(paths.pending, name)).catch(() => undefined))?.mtimeMs ?? 0 })));
  return arrived.sort((a, b) => a.at - b.at || a.name.localeCompare(b.name)).map((seed) => seed.name);
}

/** Hidden names too: the intake rejects those that stay (see SeedIntake), rather than ignore them. */
const isSeedName = (name: string) => name.toLowerCase().endsWith('.json');

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
 * A crash between creating a run and removing its pending seed leaves both. The copy is the same
 * file (name, content, mtime) as the run's source; it is removed, not run twice.
 */
async function removeCrashDuplicates(paths: WorkspacePaths, runs: CurrentRun[], emit: (event: ManagerEvent) => void): Promise<void> {
  if (runs.length === 0) return;
  const bySource = new Map(runs.map((run) => [`${run.status.source.file}\n${run.status.source.sha256}\n${run.status.source.mtimeMs}`, run.status.id]));
  // A status rebuilt from a torn file no longer knows the seed's name: its content must do.
  const rebuilt = new Map(runs.filter((run) => run.status.error?.reason === 'state-unreadable').map((run) => [run.status.source.sha256, run]));
  for (const name of await pendingSeedNames(paths)) {
    const check = await inspectSeed(join(paths.pending, name), undefined);
    if (check.kind !== 'ready') continue;
    const torn = rebuilt.get(check.sha256);
    if (torn && torn.status.source.file === 'unknown') {
      // The leftover copy tells the rebuilt status which seed it ran.
      torn.status.source = { file: name, sha256: check.sha256, mtimeMs: check.mtimeMs };
      await saveStatus(torn.runDir, torn.status);
    }
    const run = bySource.get(`${name}\n${check.sha256}\n${check.mtimeMs}`) ?? torn?.status.id;
    if (run) {
      await unlink(join(paths.pending, name));
      emit({ event: 'seed-duplicate', seed: name, run });
    }
  }
}

/**
 * `on`, not `once`: other listeners (execa's cleanup) re-send a signal when they find themselves
 * alone, which would kill the manager in the middle of its graceful stop.
 */
function waitForStopSignal(onStop: (signal: string) => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) return;
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
