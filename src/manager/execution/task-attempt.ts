import { mkdir } from 'node:fs/promises';
import { writeJsonAtomic } from '../../fs/atomic-write.js';
import { readJsonFile } from '../../fs/read-json.js';
import type { Letter } from '../../formats/letter.js';
import { OutputSchema, type Output } from '../../formats/output.js';
import type { ResolvedTask } from '../../formats/resolve-pipeline.js';
import type { TaskStatus } from '../../formats/tasks-status.js';
import { emptyUsage } from '../../util/usage.js';
import { callSettingsOf } from '../../gateway/call-settings.js';
import { applyLedger, taskLedgerTotals } from '../../ledger/task-totals.js';
import { redactTaskFiles } from '../../secrets/redact-task-files.js';
import { batchPaths, readPendingOfRun, tasksStillWaiting } from '../../batch/batch-store.js';
import { relativeOutputPath, taskPaths } from '../../workspace.js';
import { crashPoint } from '../recovery/crash-point.js';
import type { AttemptOptions } from './attempt-runner.js';
import { countAttemptCutShort } from './crash-loop.js';
import type { TaskProcessFailure } from './task-process.js';
import { itemsOfOutput, trackTaskProgress } from './task-progress.js';
import type { RunContext } from './run-context.js';

/**
 * A task process killed from outside (a signal we did not send) or that could not start is not
 * the task's fault: it is tried again, up to this many tries in one go, before the task fails.
 */
export const MAX_ATTEMPTS_AFTER_OUTSIDE_FAILURE = 3;
const OUTSIDE_FAILURES = new Set(['killed', 'spawn-error']);

/** How a task ended this time: `not-started` when the manager began stopping before it could start. */
export type TaskOutcome = 'complete' | 'failed' | 'interrupted' | 'not-started' | 'waiting';

export function taskState(context: RunContext, name: string): TaskStatus {
  return (context.status.tasks[name] ??= { state: 'pending', attempts: 0, refinements: 0, usage: emptyUsage() });
}

/**
 * Run one task to an outcome: wait for a process slot, then attempt it, trying again after a
 * failure from outside. Every transition is saved to tasks-status.json.
 */
export async function runTaskToOutcome(context: RunContext, task: ResolvedTask): Promise<TaskOutcome> {
  // Parked on the Batch API with calls not answered yet: nothing to run, no process to take.
  if (taskState(context, task.name).state === 'waiting' && (await stillParked(context, task.name))) return 'waiting';
  const release = context.slots ? await context.slots.acquire(context.stopping) : () => {};
  if (!release) return 'not-started';
  try {
    // Counted here, not by attempt number: attempts cut short by a manager crash do not use them up.
    for (let outsideFailures = 0; ; outsideFailures++) {
      if (context.stopping.aborted) return outsideFailures === 0 ? 'not-started' : setBackToPending(context, task.name);
      const outcome = await attemptTask(context, task, outsideFailures);
      if (outcome !== 'retry') return outcome;
    }
  } finally {
    release();
  }
}

/** A task whose last try was ended from outside, not retried because the manager stops: not its fault. */
async function setBackToPending(context: RunContext, name: string): Promise<TaskOutcome> {
  const state = taskState(context, name);
  state.state = 'pending';
  delete state.error;
  await context.save();
  return 'interrupted';
}

/**
 * One attempt of a task: its upstream outputs checked, its letter written, the attempt run (here
 * or on a worker), then what its process left settled and the task's state saved.
 */
async function attemptTask(context: RunContext, task: ResolvedTask, outsideFailures: number): Promise<TaskOutcome | 'retry'> {
  const state = taskState(context, task.name);
  const files = taskPaths(context.runDir, task.name);
  await mkdir(files.dir, { recursive: true });

  const upstream = context.graph.upstreamOf(task.name);
  const unusable = await unusableUpstream(context, task.name, upstream);
  if (unusable) return failTask(context, task.name, state.attempts, unusable);
  const crashLoop = countAttemptCutShort(state);
  if (crashLoop) return failTask(context, task.name, state.attempts, crashLoop);

  // A parked task runs again as the same attempt: parking is no failure.
  const resumed = state.state === 'waiting';
  const attempt = resumed ? Math.max(1, state.attempts) : state.attempts + 1;
  if (!resumed) delete state.parked;
  await writeLetter(context, task, attempt, upstream, files.letter);
  const startedAt = await markRunning(context, task, attempt);
  const progress = trackTaskProgress({ save: context.save, status: context.status, state, task: task.name, emit: context.emit });
  const result = await context.runAttempt({ ...attemptOptionsOf(context, task, attempt, files, progress), round: state.parked });
  await progress.settle();
  await settleTaskFiles(context, task.name, files.dir, startedAt);

  if (result.ok) return completeTask(context, task, attempt, startedAt, result.value);
  return endFailedAttempt(context, task, attempt, startedAt, result.error, outsideFailures);
}

/** The runner trusts what it is handed, so the outputs it reads are checked here, once. */
async function unusableUpstream(context: RunContext, name: string, upstream: string[]): Promise<NonNullable<TaskStatus['error']> | undefined> {
  for (const done of upstream) {
    const output = await readJsonFile(taskPaths(context.runDir, done).output, OutputSchema);
    if (!output.ok) {
      return {
        reason: 'bad-input',
        message: `the output of task "${done}", which "${name}" needs, is unusable: ${output.error.message}`,
      };
    }
  }
  return undefined;
}

/** The letter: everything the task process is told about this attempt. */
async function writeLetter(context: RunContext, task: ResolvedTask, attempt: number, upstream: string[], letterPath: string): Promise<void> {
  const letter: Letter = {
    runId: context.status.id,
    task: task.name,
    module: task.module,
    attempt,
    model: task.models,
    ...(task.escalate.length ? { escalate: task.escalate, escalateAfter: task.escalateAfter } : {}),
    config: task.config,
    inputs: Object.fromEntries(upstream.map((done) => [done, relativeOutputPath(done)])),
    timeoutMs: task.timeoutMs,
    maxRefinements: task.maxRefinements,
    ...(task.mock ? { mock: task.mock } : {}),
    ...(task.maxRetries === undefined ? {} : { maxRetries: task.maxRetries }),
    concurrency: task.concurrency,
    itemFailures: task.itemFailures,
    createdAt: new Date().toISOString(),
  };
  await writeJsonAtomic(letterPath, letter);
}

/** The task is running, as attempt `attempt`, from now: saved before the attempt starts, so a crash finds it. */
async function markRunning(context: RunContext, task: ResolvedTask, attempt: number): Promise<Date> {
  const state = taskState(context, task.name);
  const startedAt = new Date();
  Object.assign(state, { state: 'running', attempts: attempt, startedAt: startedAt.toISOString() });
  delete state.error;
  delete state.endedAt;
  delete state.durationMs;
  delete state.truncated;
  delete state.worker;
  delete state.waiting;
  await context.save();
  context.emit({ event: 'task-started', run: context.status.id, task: task.name, attempt, model: task.models.join(' → ') });
  return startedAt;
}

/** How the attempt is run and what is heard from it: its files, limits, call settings and events. */
function attemptOptionsOf(
  context: RunContext,
  task: ResolvedTask,
  attempt: number,
  files: ReturnType<typeof taskPaths>,
  progress: ReturnType<typeof trackTaskProgress>,
): AttemptOptions {
  const { emit } = context;
  const run = context.status.id;
  const state = taskState(context, task.name);
  return {
    attempt,
    onWorker: (worker) => {
      if (state.worker === worker) return;
      state.worker = worker;
      progress.changed();
      emit({ event: 'task-worker', run, task: task.name, attempt, worker });
    },
    onJobLost: (message) => emit({ event: 'task-job-lost', run, task: task.name, attempt, message }),
    onWaiting: (wait) => emit({ event: 'task-waiting', run, task: task.name, ...wait }),
    workspace: context.paths.root,
    run,
    task: task.name,
    letterPath: files.letter,
    outputPath: files.output,
    consolePath: files.console,
    timeoutMs: task.timeoutMs,
    memoryMb: task.memoryMb,
    cancelSignal: context.cancelSignal,
    standbys: context.standbys,
    calls: {
      ...(context.pipeline
        ? callSettingsOf(context.pipeline, task, context.paths.callCache, { root: context.paths.root, runDir: context.runDir })
        : { providers: context.providers, maxRetries: task.maxRetries }),
      caller: `${run}/${task.name}`,
      onWaiting: (wait) => emit({ event: 'task-waiting', run, task: task.name, ...wait }),
      onRecorded: (line) =>
        emit({
          event: 'task-call',
          run,
          task: task.name,
          model: line.model,
          outcome: line.outcome,
          cached: line.cached,
          tokens: line.usage.inputTokens + line.usage.outputTokens,
          ...(line.rung ? { rung: line.rung } : {}),
        }),
    },
    onMessage: (message) => {
      if (message.type === 'stage') emit({ event: 'task-stage', run, task: task.name, stage: message.stage, call: message.call });
      progress.onMessage(message);
    },
  };
}

/** After any attempt, before anyone reads its files: keys taken out, usage and cost taken from the ledger. */
async function settleTaskFiles(context: RunContext, name: string, dir: string, startedAt: Date): Promise<void> {
  const { runDir, emit } = context;
  const run = context.status.id;
  // Nothing the task process wrote may hold a key, whatever way it came in, before anyone reads it.
  await redactTaskFiles(dir, startedAt.getTime(), (artifact, variables) => emit({ event: 'secrets-redacted', run, task: name, artifact, variables }));
  // Usage and cost are the ledger's, over every attempt: what the task process says is display only.
  const ledger = await taskLedgerTotals(runDir, name, run);
  applyLedger(taskState(context, name), ledger);
  if (ledger.skipped || ledger.problem)
    emit({ event: 'ledger-problem', run, task: name, skipped: ledger.skipped, ...(ledger.problem ? { message: ledger.problem } : {}) });
}

/** When the attempt ended and how long it took. */
function finishedSince(startedAt: Date): { endedAt: string; durationMs: number } {
  const endedAt = new Date();
  return { endedAt: endedAt.toISOString(), durationMs: endedAt.getTime() - startedAt.getTime() };
}

async function completeTask(context: RunContext, task: ResolvedTask, attempt: number, startedAt: Date, done: Output): Promise<TaskOutcome> {
  crashPoint('after-task-output');
  const state = taskState(context, task.name);
  const finished = finishedSince(startedAt);
  Object.assign(state, {
    state: 'complete',
    ...finished,
    refinements: done.refinements,
    ...itemsOfOutput(done),
    ...(done.model ? { model: done.model } : {}),
    ...(done.escalations ? { escalations: done.escalations } : {}),
  });
  await context.save();
  context.emit({
    event: 'task-complete',
    run: context.status.id,
    task: task.name,
    attempt,
    durationMs: finished.durationMs,
    refinements: done.refinements,
    usage: state.usage,
    model: done.model,
    ...(state.costUsd === undefined ? {} : { costUsd: state.costUsd }),
    ...(state.worker ? { worker: state.worker } : {}),
  });
  return 'complete';
}

/** A failed attempt: set back to pending when stopped, tried again after a failure from outside, else the task fails. */
async function endFailedAttempt(
  context: RunContext,
  task: ResolvedTask,
  attempt: number,
  startedAt: Date,
  failure: TaskProcessFailure,
  outsideFailures: number,
): Promise<TaskOutcome | 'retry'> {
  const state = taskState(context, task.name);
  Object.assign(state, { ...finishedSince(startedAt), refinements: failure.refinements });
  if (failure.error.reason === 'parked') return parkTask(context, task.name, attempt);
  if (failure.error.reason === 'interrupted') {
    // Not the task's fault: it is tried again as a new attempt when the run continues.
    state.state = 'pending';
    await context.save();
    return 'interrupted';
  }
  if (OUTSIDE_FAILURES.has(failure.error.reason) && outsideFailures + 1 < MAX_ATTEMPTS_AFTER_OUTSIDE_FAILURE) {
    Object.assign(state, { state: 'failed', error: failure.error });
    await context.save();
    context.emit({
      event: 'task-retrying',
      run: context.status.id,
      task: task.name,
      attempt,
      reason: failure.error.reason,
      message: failure.error.message,
    });
    return 'retry';
  }
  return failTask(context, task.name, attempt, failure.error);
}

async function failTask(context: RunContext, name: string, attempt: number, error: NonNullable<TaskStatus['error']>): Promise<TaskOutcome> {
  const state = taskState(context, name);
  Object.assign(state, { state: 'failed', error });
  await context.save();
  context.emit({
    event: 'task-failed',
    run: context.status.id,
    task: name,
    attempt,
    reason: error.reason,
    message: error.message,
    ...(error.artifact ? { artifact: error.artifact } : {}),
  });
  return 'failed';
}

/**
 * A task parks once per round of calls it makes (its first calls, each refinement): more than this
 * in one attempt means it asks for new calls every time it runs, and would never finish.
 */
const MAX_PARKED_ROUNDS = 25;

/** Its calls wait for the Batch API: `waiting`, with what it waits for, and no process held. */
async function parkTask(context: RunContext, name: string, attempt: number): Promise<TaskOutcome> {
  const run = context.status.id;
  const where = batchPaths(context.paths.root);
  const requests = (await readPendingOfRun(where, run)).filter((request) => request.owner.task === name);
  const state = taskState(context, name);
  state.parked = (state.parked ?? 0) + 1;
  if (state.parked > MAX_PARKED_ROUNDS) {
    return failTask(context, name, attempt, {
      reason: 'provider-failed',
      message: `the task parked on the Batch API ${MAX_PARKED_ROUNDS} times in one attempt, asking for new calls each time; are its prompts the same each time it runs (no timestamps, no random ids)?`,
    });
  }
  state.state = 'waiting';
  // Which batch, once submitted, the manager's batch rounds note (after the run, if it is still worked on).
  const provider = requests[0]?.provider ?? 'unknown';
  state.waiting = { reason: 'batch', provider, parkedAt: new Date().toISOString(), requests: requests.length };
  await context.save();
  context.emit({ event: 'task-parked', run, task: name, attempt, provider, requests: requests.length });
  return 'waiting';
}

/** Whether calls of the task still wait for the Batch API (their answers not stored yet). */
async function stillParked(context: RunContext, name: string): Promise<boolean> {
  return (await tasksStillWaiting(batchPaths(context.paths.root), context.status.id)).has(name);
}
