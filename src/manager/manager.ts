import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { watch, type FSWatcher } from 'chokidar';
import { workspacePaths, runPaths, type WorkspacePaths } from '../workspace.js';
import { messageOf } from '../result.js';
import { fileLogger } from '../log.js';
import { logEvent, type ManagerEvent } from './events.js';
import { loadWorkspace } from './load-workspace.js';
import { claimSeed } from './claim-seed.js';
import { executeRun, type RunOutcome } from './execute-run.js';
import { runsJsonlHas, scanCurrentRuns, type CurrentRun } from './reconcile.js';
import { Scheduler } from './scheduler.js';
import { DEFAULT_SETTLE_MS, SeedIntake } from './seed-intake.js';
import type { RunStatus } from '../formats/tasks-status.js';
import { inspectSeed } from './inspect-seed.js';

export const DEFAULT_CONCURRENCY = 2;
/** On SIGINT/SIGTERM, running tasks get this long to finish before they are stopped. */
export const DEFAULT_GRACE_MS = 10_000;

export interface ManagerOptions {
  root: string;
  once: boolean;
  concurrency?: number;
  settleMs?: number;
  graceMs?: number;
  log: Logger;
}

export type ManagerResult =
  | { ok: true; completed: number; failed: number; rejected: number; interrupted: number }
  | { ok: false; problems: string[] };

/**
 * The outer layer: claims seeds, runs their tasks (each in a child process), promotes finished
 * runs. The only writer of tasks-status.json, runs.jsonl and the moves between folders.
 */
export async function runManager(options: ManagerOptions): Promise<ManagerResult> {
  const paths = workspacePaths(options.root);
  const loaded = await loadWorkspace(paths);
  if (!loaded.ok) return { ok: false, problems: loaded.error };
  const { pipeline, pipelineText, tasks, registry } = loaded.value;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  await Promise.all([paths.pending, paths.current, paths.complete].map((dir) => mkdir(dir, { recursive: true })));

  const stopController = new AbortController();
  const counts = { completed: 0, failed: 0, interrupted: 0 };
  const statuses = new Map<string, { runDir: string; status: RunStatus }>();
  const runLogs = new Map<string, ReturnType<typeof fileLogger>>();
  const emit = (event: ManagerEvent) => {
    logEvent(options.log, event);
    const run = 'run' in event ? runLogs.get(event.run) : undefined;
    if (run) logEvent(run.log, event);
  };
  emit({ event: 'manager-started', root: paths.root, pipeline: pipeline.name, tasks: tasks.map((task) => task.name), concurrency, once: options.once });

  const runOne = async (id: string): Promise<void> => {
    const entry = statuses.get(id);
    if (!entry) return;
    const runLog = fileLogger(runPaths(entry.runDir).log, { run: id });
    runLogs.set(id, runLog);
    let outcome: RunOutcome;
    try {
      outcome = await executeRun({ paths, runDir: entry.runDir, status: entry.status, emit, cancelSignal: stopController.signal, alreadyRecorded: (runId) => runsJsonlHas(paths.runsJsonl, runId) });
    } catch (error) {
      emit({ event: 'internal-error', message: `run ${id}: ${messageOf(error)}`, ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) });
      outcome = 'failed';
    } finally {
      runLogs.delete(id);
      runLog.close();
      statuses.delete(id);
    }
    counts[outcome === 'complete' ? 'completed' : outcome === 'failed' ? 'failed' : 'interrupted']++;
  };
  const scheduler = new Scheduler<string>(concurrency, runOne);

  // Continue what a previous manager left: runs queued, running, or complete but not yet moved.
  const current = await scanCurrentRuns(paths, emit);
  for (const run of current) {
    if (run.status.state === 'failed') continue;
    statuses.set(run.status.id, run);
    emit({ event: 'run-resumed', run: run.status.id, state: run.status.state });
    scheduler.enqueue(run.status.id);
  }

  const intake = new SeedIntake({
    paths,
    seedSchema: registry.seedSchema,
    settleMs: options.settleMs ?? DEFAULT_SETTLE_MS,
    emit,
    claim: async (file, seed) => {
      const claimed = await claimSeed(paths, file, seed, { name: pipeline.name, text: pipelineText, tasks });
      statuses.set(claimed.id, { runDir: claimed.runDir, status: claimed.status });
      scheduler.enqueue(claimed.id);
      return claimed.id;
    },
  });
  await removeCrashDuplicates(paths, current, emit);

  let watcher: FSWatcher | undefined;
  if (options.once) {
    for (const name of await pendingSeedNames(paths)) intake.offer(name);
    await intake.idle();
    await scheduler.idle();
    return { ok: true, ...counts, rejected: intake.rejected };
  }

  watcher = watchPending(paths, (name) => intake.offer(name));
  await waitForStopSignal(async (signal) => {
    emit({ event: 'manager-stopping', signal, running: scheduler.running });
    await watcher?.close();
    intake.stop();
    scheduler.pause();
    const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    const grace = setTimeout(() => stopController.abort(new Error('grace period over')), graceMs);
    await scheduler.idle();
    clearTimeout(grace);
  });
  emit({ event: 'manager-stopped', completed: counts.completed, failed: counts.failed, rejected: intake.rejected });
  return { ok: true, ...counts, rejected: intake.rejected };
}

/** Seeds already in pending/, oldest first, so a backlog is taken in arrival order. */
async function pendingSeedNames(paths: WorkspacePaths): Promise<string[]> {
  const entries = await readdir(paths.pending, { withFileTypes: true });
  return entries.filter((entry) => isSeedName(entry.name)).map((entry) => entry.name).sort();
}

const isSeedName = (name: string) => name.toLowerCase().endsWith('.json') && !name.startsWith('.');

/**
 * Watch pending/ for seeds. No awaitWriteFinish: it would add a fixed wait to every seed, and a
 * file still being written simply fails to parse and is looked at again on its next change.
 */
function watchPending(paths: WorkspacePaths, offer: (name: string) => void): FSWatcher {
  const watcher = watch(paths.pending, { depth: 0, ignoreInitial: false, persistent: true });
  const onFile = (path: string) => {
    const name = path.slice(paths.pending.length + 1);
    if (!name.includes('/') && isSeedName(name)) offer(name);
  };
  watcher.on('add', onFile).on('change', onFile);
  return watcher;
}

/**
 * A crash between creating a run and removing its pending seed leaves both. The copy is the same
 * file (name, content, mtime) as the run's source; it is removed, not run twice.
 */
async function removeCrashDuplicates(paths: WorkspacePaths, runs: CurrentRun[], emit: (event: ManagerEvent) => void): Promise<void> {
  if (runs.length === 0) return;
  const bySource = new Map(runs.map((run) => [`${run.status.source.file}\n${run.status.source.sha256}\n${run.status.source.mtimeMs}`, run.status.id]));
  for (const name of await pendingSeedNames(paths)) {
    const check = await inspectSeed(join(paths.pending, name), undefined);
    if (check.kind !== 'ready') continue;
    const run = bySource.get(`${name}\n${check.sha256}\n${check.mtimeMs}`);
    if (run) {
      await unlink(join(paths.pending, name));
      emit({ event: 'seed-duplicate', seed: name, run });
    }
  }
}

function waitForStopSignal(onStop: (signal: string) => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      void onStop(signal).finally(resolve);
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  });
}
