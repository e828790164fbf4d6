import { batchApiFor } from '../../batch/batch-api-for.js';
import { cancelRunBatches } from '../../batch/cancel-batches.js';
import { batchPaths, isOpen, readAllPending, readSubmissions } from '../../batch/batch-store.js';
import type { PendingRequest } from '../../formats/batch.js';
import { RunStatusSchema } from '../../formats/tasks-status.js';
import { acquireLock } from '../../fs/lock-file.js';
import { readJsonFile } from '../../fs/read-json.js';
import { describeFindError, findRun } from '../../manager/runs/find-run.js';
import { saveStatus } from '../../manager/runs/run-status.js';
import { silentLogger } from '../../util/logger.js';
import { formatDuration } from '../../util/format-numbers.js';
import { runLockPath, runPaths, type WorkspacePaths } from '../../workspace.js';
import { EXIT, exitForFindError } from '../exit-codes.js';
import { table } from '../table.js';

/** `pop batches`: open submissions (all with --all) with their age and counts, and calls not submitted yet. */
export async function batchesCommand(paths: WorkspacePaths, options: { all: boolean; json: boolean }): Promise<number> {
  const where = batchPaths(paths.root);
  const submissions = (await readSubmissions(where)).filter((submission) => options.all || isOpen(submission));
  const submitted = new Set(submissions.flatMap((submission) => submission.requests.map((request) => request.id)));
  const unsubmitted = (await readAllPending(where)).filter((request) => !submitted.has(request.id));
  const now = Date.now();
  if (options.json) {
    const rows = submissions.map(({ requests, ...submission }) => ({ ...submission, requests: requests.length, runs: runsOf(requests) }));
    process.stdout.write(`${JSON.stringify({ submissions: rows, unsubmitted: unsubmitted.length }, null, 2)}\n`);
    return EXIT.ok;
  }
  if (submissions.length === 0 && unsubmitted.length === 0) {
    process.stdout.write(options.all ? 'No batches in .pop/batches/.\n' : 'No calls are waiting for a Batch API.\n');
    return EXIT.ok;
  }
  if (submissions.length > 0) {
    const rows = [['BATCH', 'PROVIDER', 'MODEL', 'STATE', 'REQUESTS', 'ANSWERED', 'FAILED', 'AGE', 'RUNS']];
    for (const submission of submissions) {
      const since = submission.submittedAt ?? submission.createdAt;
      rows.push([
        submission.batch ?? `(${submission.key})`,
        submission.provider,
        submission.model,
        submission.state,
        String(submission.requests.length),
        submission.counts ? String(submission.counts.succeeded) : '-',
        submission.counts ? String(submission.counts.failed) : '-',
        formatDuration(now - Date.parse(since)),
        runsOf(submission.requests).join(', '),
      ]);
    }
    process.stdout.write(`${table(rows)}\n`);
  }
  if (unsubmitted.length > 0) {
    const oldest = Math.min(...unsubmitted.map((request) => Date.parse(request.queuedAt)));
    process.stdout.write(
      `${submissions.length ? '\n' : ''}${unsubmitted.length} call(s) not submitted yet (the oldest parked ${formatDuration(now - oldest)} ago); a running manager submits them once its batch window has passed\n`,
    );
  }
  return EXIT.ok;
}

/** The runs a batch's requests belong to, in order, each once. */
function runsOf(requests: PendingRequest[]): string[] {
  return [...new Set(requests.map((request) => request.owner.run))];
}

/**
 * `pop cancel <run>`: its calls waiting for the Batch API are cancelled (and the batches that hold
 * nothing else), and its waiting tasks fail with `cancelled`; `pop resume` starts them again.
 */
export async function cancelCommand(paths: WorkspacePaths, id: string): Promise<number> {
  const found = await findRun(paths, id);
  if (!found.ok) {
    process.stderr.write(`pop: ${describeFindError(found.error)}\n`);
    return exitForFindError(found.error);
  }
  const run = found.value;
  if (run.where === 'complete') {
    process.stderr.write(`pop: run ${run.id} is complete: nothing of it waits\n`);
    return EXIT.usage;
  }
  const lock = await acquireLock(runLockPath(paths, run.id), 'cancel');
  if (!lock.ok) {
    const holder = lock.error.reason === 'held' ? ` (pid ${lock.error.holder.pid}, "${lock.error.holder.command}")` : '';
    process.stderr.write(`pop: run ${run.id} is being worked on right now${holder}; try again in a moment\n`);
    return EXIT.busy;
  }
  try {
    const where = batchPaths(paths.root);
    const report = await cancelRunBatches(where, run.id, (request) =>
      batchApiFor({ name: request.provider, config: request.config, env: process.env, mockDir: where.mock, log: silentLogger }),
    );
    const read = await readJsonFile(runPaths(run.dir).status, RunStatusSchema);
    if (!read.ok) {
      process.stderr.write(`pop: ${read.error.message}\n`);
      return EXIT.runsFailed;
    }
    const status = read.value;
    const waiting = Object.entries(status.tasks).filter(([, task]) => task.state === 'waiting');
    const error = { reason: 'cancelled' as const, message: 'its calls waiting for the Batch API were cancelled with pop cancel' };
    for (const [, task] of waiting) Object.assign(task, { state: 'failed', error, endedAt: new Date().toISOString() });
    if (waiting.length > 0) {
      status.state = 'failed';
      status.error = { ...error, task: waiting[0]![0] };
      status.updatedAt = new Date().toISOString();
      await saveStatus(run.dir, status);
    }
    const said = [
      `run ${run.id}: ${waiting.length} waiting task(s) cancelled (${waiting.map(([name]) => name).join(', ') || 'none'})`,
      `${report.unsubmitted} call(s) not submitted dropped`,
      ...(report.cancelled.length ? [`batch(es) cancelled: ${report.cancelled.join(', ')}`] : []),
      ...(report.shared.length ? [`shared with other runs, left to finish: ${report.shared.join(', ')}`] : []),
    ];
    process.stdout.write(`${said.join('\n')}\n`);
    for (const problem of report.problems) process.stderr.write(`pop: could not cancel ${problem}\n`);
    if (waiting.length > 0) process.stdout.write(`pop resume ${run.id} makes its calls again\n`);
    return report.problems.length ? EXIT.runsFailed : EXIT.ok;
  } finally {
    await lock.value.release();
  }
}
