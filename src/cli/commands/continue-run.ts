import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { lockHolder } from '../../fs/lock-file.js';
import { workspaceId } from '../../fs/workspace-id.js';
import { queueNameFor } from '../../queue/connection.js';
import { managerByLease } from '../../queue/manager-lease.js';
import { readJsonFile } from '../../fs/read-json.js';
import { RunStatusSchema } from '../../formats/tasks-status.js';
import type { ManagerEvent } from '../../manager/events.js';
import { logEvent } from '../../manager/events.js';
import { findRun } from '../../manager/runs/find-run.js';
import { writeRunRequest } from '../../manager/runs/requests.js';
import { executeRunLocked, type LockedRunOptions } from '../../manager/execution/run-locked.js';
import { runPaths, type WorkspacePaths } from '../../workspace.js';
import { EXIT } from '../exit-codes.js';
import { Gateway } from '../../gateway/gateway.js';
import { localAttempts } from '../../manager/execution/attempt-runner.js';
import { applyWorkspaceLimits } from '../../gateway/workspace-limits.js';

const WAIT_POLL_MS = 250;

export interface ContinueOptions {
  paths: WorkspacePaths;
  id: string;
  runDir: string;
  pipeline: 'snapshot' | 'current';
  prepare?: LockedRunOptions['prepare'];
  /** With a manager running: wait for the run to finish instead of returning after the hand-off. */
  wait: boolean;
  /** A `start --queue` manager's Redis: a manager holding its lease (on any host) is handed the run. */
  queue?: string | undefined;
  command: string;
  log: Logger;
  onEvent?: (event: ManagerEvent) => void;
}

/**
 * Continue a run without ever having two processes on it: a running manager is handed the run
 * through a request file; with none, this process takes the run's lock and runs it here.
 */
export async function continueRun(options: ContinueOptions): Promise<number> {
  const { paths, id } = options;
  let manager = await lockHolder(paths.managerLock);
  if (!manager && options.queue !== undefined) {
    const leased = await managerByLease(options.queue, queueNameFor(await workspaceId(paths.root)));
    if (!leased.ok) {
      process.stderr.write(`pop: ${leased.error}\n`);
      return EXIT.busy;
    }
    manager = leased.value;
  }
  if (manager?.command === 'start --once') {
    // It reads hand-offs only as it starts, and may be about to exit: it would never see this one.
    process.stderr.write(
      `pop: run ${id} cannot be handed over now: a \`start --once\` manager (pid ${manager.pid}) is working on this workspace; try again when it has finished\n`,
    );
    return EXIT.busy;
  }
  if (manager) {
    const before = await readJsonFile(runPaths(options.runDir).status, RunStatusSchema);
    const request = await writeRunRequest(paths, {
      run: id,
      action: 'resume',
      pipeline: options.pipeline,
      requestedAt: new Date().toISOString(),
      pid: process.pid,
    });
    if (!request.ok) {
      process.stderr.write(`pop: run ${id} is busy: a request for it is already waiting for the manager\n`);
      return EXIT.busy;
    }
    process.stdout.write(`handed run ${id} to the running manager (pid ${manager.pid}); follow it with: pop status ${id}\n`);
    return options.wait ? waitForOutcome(paths, id, before.ok ? before.value.updatedAt : undefined) : EXIT.ok;
  }

  // This process runs the tasks itself, their calls through its own gateway. Provider limits are
  // the workspace's, not those of the run's snapshot.
  const gateway = new Gateway(process.env);
  await applyWorkspaceLimits(gateway, paths.pipelineFile);
  const stop = new AbortController();
  const onSignal = () => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const outcome = await executeRunLocked({
      paths,
      runDir: options.runDir,
      id,
      prepare: options.prepare,
      emit: (event) => {
        logEvent(options.log, event);
        options.onEvent?.(event);
      },
      cancelSignal: stop.signal,
      command: options.command,
      runAttempt: localAttempts(gateway),
    });
    if (outcome === 'busy') {
      process.stderr.write(`pop: run ${id} is busy: another process is working on it\n`);
      return EXIT.busy;
    }
    if (typeof outcome === 'object' && 'deferred' in outcome) {
      process.stderr.write(`pop: run ${id} cannot be locked now (${outcome.deferred}); try again\n`);
      return EXIT.busy;
    }
    if (typeof outcome === 'object') {
      process.stderr.write(`pop: ${outcome.refused}\n`);
      return EXIT.usage;
    }
    if (outcome === 'complete') process.stderr.write(`pop: run ${id} complete\n`);
    else if (outcome === 'waiting')
      process.stderr.write(`pop: run ${id} waits for the Batch API; \`pop start\` (or start --once) submits its calls and continues it\n`);
    else process.stderr.write(`pop: run ${id} ${outcome}; see: pop status ${id}\n`);
    return outcome === 'complete' || outcome === 'waiting' ? EXIT.ok : EXIT.runsFailed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Poll the run until it is complete (moved to pipeline-complete/) or failed again: failed with a
 * status the manager rewrote after the hand-off, not the failure that was there before it.
 */
async function waitForOutcome(paths: WorkspacePaths, id: string, before: string | undefined): Promise<number> {
  for (;;) {
    const found = await findRun(paths, id);
    if (found.ok && found.value.where === 'complete') {
      process.stderr.write(`pop: run ${id} complete\n`);
      return EXIT.ok;
    }
    if (found.ok) {
      const status = await readJsonFile(runPaths(found.value.dir).status, RunStatusSchema);
      if (status.ok && status.value.state === 'failed' && status.value.updatedAt !== before) {
        process.stderr.write(`pop: run ${id} failed; see: pop status ${id}\n`);
        return EXIT.runsFailed;
      }
    }
    await sleep(WAIT_POLL_MS);
  }
}
