import { mkdir } from 'node:fs/promises';
import { acquireLock } from '../../fs/lock-file.js';
import { readJsonFile } from '../../fs/read-json.js';
import { RunStatusSchema, type RunStatus } from '../../formats/tasks-status.js';
import { fileLogger } from '../../log.js';
import { err, messageOf, type Result } from '../../result.js';
import { runLockPath, runPaths, type WorkspacePaths } from '../../workspace.js';
import { logEvent, type EmitEvent } from '../events.js';
import { executeRun, type RunOutcome } from './execute-run.js';
import { failRunOnError } from './fail-on-error.js';
import { runsJsonlHas } from '../recovery/reconcile.js';
import { saveStatus } from '../runs/run-status.js';
import type { RunAttempt } from './attempt-runner.js';
import type { StandbyPool } from './standby-pool.js';
import type { TaskSlots } from './task-slots.js';

export interface LockedRunOptions {
  paths: WorkspacePaths;
  runDir: string;
  id: string;
  /** The status as the caller has it; read from disk under the lock when absent. */
  status?: RunStatus | undefined;
  /** A change to make to the run before it continues (resume), under the lock. */
  prepare?: ((status: RunStatus) => Promise<Result<RunStatus, string>>) | undefined;
  emit: EmitEvent;
  cancelSignal: AbortSignal;
  /** Aborted when the manager begins to stop: no new task starts. */
  stopSignal?: AbortSignal | undefined;
  command: string;
  standbys?: StandbyPool | undefined;
  slots?: TaskSlots | undefined;
  /** How a task attempt runs: locally, or on a queue's workers. */
  runAttempt: RunAttempt;
}

/** `deferred`: the lock could not be taken at all (disk full): the run stays queued, to try again. */
export type LockedRunOutcome = RunOutcome | 'busy' | { refused: string } | { deferred: string };

/**
 * Execute a run while holding its lock, so no two processes ever work on one run; its events
 * also go to the run's own run.log. 'busy' when another live process holds the lock.
 */
export async function executeRunLocked(options: LockedRunOptions): Promise<LockedRunOutcome> {
  const { paths, runDir, id } = options;
  const lock = await mkdir(paths.locks, { recursive: true }).then(
    () => acquireLock(runLockPath(paths, id), options.command),
    (error: unknown) => err({ reason: 'io-error' as const, message: `${paths.locks}: ${messageOf(error)}` }),
  );
  if (!lock.ok) {
    if (lock.error.reason === 'io-error') return { deferred: lock.error.message };
    options.emit({ event: 'run-busy', run: id, pid: lock.error.holder.pid, command: lock.error.holder.command });
    return 'busy';
  }
  const previous = lock.value.tookOver;
  if (previous)
    options.emit({
      event: 'lock-taken-over',
      path: lock.value.path,
      host: previous.host ?? 'unknown',
      pid: previous.pid,
      heartbeatAt: previous.heartbeatAt ?? previous.acquiredAt,
    });
  const runLog = fileLogger(runPaths(runDir).log, { run: id });
  const emit: EmitEvent = (event) => {
    options.emit(event);
    logEvent(runLog.log, event);
  };
  let status = options.status;
  try {
    if (!status || options.prepare) {
      const read = await readJsonFile(runPaths(runDir).status, RunStatusSchema);
      if (!read.ok) return { refused: read.error.message };
      status = read.value;
    }
    if (options.prepare) {
      const prepared = await options.prepare(status);
      if (!prepared.ok) return { refused: prepared.error };
      status = prepared.value;
      await saveStatus(runDir, status);
    }
    return await executeRun({
      paths,
      runDir,
      status,
      emit,
      cancelSignal: options.cancelSignal,
      stopSignal: options.stopSignal,
      standbys: options.standbys,
      slots: options.slots,
      runAttempt: options.runAttempt,
      alreadyRecorded: (run) => runsJsonlHas(paths.runsJsonl, run),
    });
  } catch (error) {
    emit({ event: 'internal-error', message: `run ${id}: ${messageOf(error)}`, ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) });
    // Never left `running` on disk: the run failed, and says why.
    if (status) await failRunOnError(runDir, status, error);
    return 'failed';
  } finally {
    runLog.close();
    await lock.value.release();
  }
}
