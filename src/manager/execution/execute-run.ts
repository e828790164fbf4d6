import { mkdir } from 'node:fs/promises';
import { writeJsonAtomic } from '../../fs/atomic-write.js';
import { readJsonFile } from '../../fs/read-json.js';
import type { Letter } from '../../formats/letter.js';
import { OutputSchema } from '../../formats/output.js';
import { PipelineSchema, type Pipeline } from '../../formats/pipeline.js';
import { resolveTasks, type ResolvedTask } from '../../formats/resolve-pipeline.js';
import type { RunStatus, TaskStatus } from '../../formats/tasks-status.js';
import type { TaskFailure } from '../../formats/task-failure.js';
import { addUsage, emptyUsage } from '../../util/usage.js';
import { addCost } from '../../runner/cost.js';
import { relativeOutputPath, runPaths, taskPaths, type WorkspacePaths } from '../../workspace.js';
import type { EmitEvent } from '../events.js';
import { promoteRun } from '../runs/promote-run.js';
import { saveStatus } from '../runs/run-status.js';
import { runTaskProcess } from './task-process.js';
import { countAttemptCutShort } from './crash-loop.js';
import { itemsOfOutput, trackTaskProgress } from './task-progress.js';
import { crashPoint } from '../recovery/crash-point.js';
import type { StandbyPool } from './standby-pool.js';
import { learnKeyVariables } from '../../secrets/known-secrets.js';

export type RunOutcome = 'complete' | 'failed' | 'interrupted';

/**
 * A task process killed from outside (a signal we did not send) or that could not start is not
 * the task's fault: it is tried again, up to this many tries in one go, before the run fails.
 */
export const MAX_ATTEMPTS_AFTER_OUTSIDE_FAILURE = 3;
const OUTSIDE_FAILURES = new Set(['killed', 'spawn-error']);

export interface ExecuteRunOptions {
  paths: WorkspacePaths;
  runDir: string;
  status: RunStatus;
  emit: EmitEvent;
  /** Aborted when the manager stops: running tasks are ended and the run stays resumable. */
  cancelSignal: AbortSignal;
  alreadyRecorded?: (id: string) => Promise<boolean>;
  standbys?: StandbyPool | undefined;
}

/**
 * Drive one run: each task of the run's own pipeline snapshot in order, each in its own process,
 * skipping tasks already complete. The status file is rewritten at every transition.
 */
export async function executeRun(options: ExecuteRunOptions): Promise<RunOutcome> {
  const { paths, runDir, status, emit } = options;
  const run = status.id;
  const snapshot = await readJsonFile(runPaths(runDir).pipeline, PipelineSchema);
  if (!snapshot.ok) {
    return failRun(options, 'pipeline.json', { reason: 'invalid-task', message: snapshot.error.message });
  }
  learnKeyVariables(snapshot.value.providers);
  const tasks = resolveTasks(snapshot.value);
  status.state = 'running';
  status.startedAt ??= new Date().toISOString();
  delete status.error;
  emit({ event: 'run-started', run, tasks: tasks.length });

  for (const [index, task] of tasks.entries()) {
    const state: TaskStatus = (status.tasks[task.name] ??= { state: 'pending', attempts: 0, refinements: 0, usage: emptyUsage() });
    if (state.state === 'complete') continue;
    if (state.state === 'running' && (await recoverFinishedTask(runDir, task.name, state))) {
      emit({ event: 'task-recovered', run, task: task.name });
      continue;
    }
    // Counted here, not by attempt number: attempts cut short by a manager crash do not use them up.
    let outsideFailures = 0;
    let outcome = await runOneTask(options, task, tasks.slice(0, index), state, outsideFailures, snapshot.value.providers);
    while (outcome === 'retry') outcome = await runOneTask(options, task, tasks.slice(0, index), state, ++outsideFailures, snapshot.value.providers);
    if (outcome !== 'complete') return outcome;
  }

  status.current = null;
  const target = await promoteRun(paths, runDir, status, options.alreadyRecorded ? { alreadyRecorded: options.alreadyRecorded } : {});
  emit({ event: 'run-complete', run, durationMs: Date.parse(status.updatedAt) - Date.parse(status.startedAt ?? status.createdAt), dir: target });
  return 'complete';
}

async function runOneTask(options: ExecuteRunOptions, task: ResolvedTask, earlier: ResolvedTask[], state: TaskStatus, outsideFailures: number, providers: Pipeline['providers']): Promise<RunOutcome | 'retry'> {
  const { runDir, status, emit } = options;
  const run = status.id;
  const files = taskPaths(runDir, task.name);
  await mkdir(files.dir, { recursive: true });

  // The runner trusts what it is handed, so earlier outputs are checked here, once.
  for (const done of earlier) {
    const output = await readJsonFile(taskPaths(runDir, done.name).output, OutputSchema);
    if (!output.ok) return failRun(options, task.name, { reason: 'bad-input', message: `the output of earlier task "${done.name}" is unusable: ${output.error.message}` });
  }

  const crashLoop = countAttemptCutShort(state);
  if (crashLoop) {
    Object.assign(state, { state: 'failed', error: crashLoop });
    emit({ event: 'task-failed', run, task: task.name, attempt: state.attempts, reason: crashLoop.reason, message: crashLoop.message });
    return failRun(options, task.name, crashLoop);
  }

  const attempt = state.attempts + 1;
  const letter: Letter = {
    runId: run,
    task: task.name,
    module: task.module,
    attempt,
    model: task.models,
    config: task.config,
    inputs: Object.fromEntries(earlier.map((done) => [done.name, relativeOutputPath(done.name)])),
    timeoutMs: task.timeoutMs,
    maxRefinements: task.maxRefinements,
    ...(task.mock ? { mock: task.mock } : {}),
    ...(task.maxRetries === undefined ? {} : { maxRetries: task.maxRetries }),
    concurrency: task.concurrency,
    itemFailures: task.itemFailures,
    createdAt: new Date().toISOString(),
  };
  await writeJsonAtomic(files.letter, letter);

  const startedAt = new Date();
  Object.assign(state, { state: 'running', attempts: attempt, startedAt: startedAt.toISOString() });
  delete state.error;
  delete state.endedAt;
  delete state.durationMs;
  delete state.truncated;
  status.current = task.name;
  await saveStatus(runDir, status);
  emit({ event: 'task-started', run, task: task.name, attempt, model: task.models.join(' → ') });
  const progress = trackTaskProgress({ runDir, status, state, task: task.name, emit });

  const result = await runTaskProcess({
    workspace: options.paths.root,
    run,
    task: task.name,
    letterPath: files.letter,
    outputPath: files.output,
    consolePath: files.console,
    timeoutMs: task.timeoutMs,
    memoryMb: task.memoryMb,
    cancelSignal: options.cancelSignal,
    standbys: options.standbys,
    calls: { providers, maxRetries: task.maxRetries, ...(task.cache ? { cacheDir: options.paths.callCache } : {}) },
    onMessage: (message) => {
      if (message.type === 'stage') emit({ event: 'task-stage', run, task: task.name, stage: message.stage, call: message.attempt });
      progress.onMessage(message);
    },
  });
  await progress.settle();

  if (result.ok) crashPoint('after-task-output');
  const endedAt = new Date();
  const finished = { endedAt: endedAt.toISOString(), durationMs: endedAt.getTime() - startedAt.getTime() };
  if (result.ok) {
    const done = result.value;
    const costUsd = addCost(state.costUsd, done.costUsd);
    Object.assign(state, { state: 'complete', ...finished, refinements: done.refinements, usage: addUsage(state.usage, done.usage), ...itemsOfOutput(done), ...(done.model ? { model: done.model } : {}), ...(costUsd === undefined ? {} : { costUsd }) });
    await saveStatus(runDir, status);
    emit({ event: 'task-complete', run, task: task.name, attempt, durationMs: finished.durationMs, refinements: done.refinements, usage: done.usage, model: done.model });
    return 'complete';
  }

  const failure = result.error;
  const costUsd = addCost(state.costUsd, failure.costUsd);
  Object.assign(state, { ...finished, refinements: failure.refinements, usage: addUsage(state.usage, failure.usage), ...(costUsd === undefined ? {} : { costUsd }) });
  if (failure.error.reason === 'interrupted') {
    // Not the task's fault: leave it to be retried as a new attempt when the manager starts again.
    Object.assign(state, { state: 'pending' });
    status.state = 'queued';
    await saveStatus(runDir, status);
    emit({ event: 'run-interrupted', run, task: task.name });
    return 'interrupted';
  }
  state.state = 'failed';
  state.error = failure.error;
  if (OUTSIDE_FAILURES.has(failure.error.reason) && outsideFailures + 1 < MAX_ATTEMPTS_AFTER_OUTSIDE_FAILURE) {
    await saveStatus(runDir, status);
    emit({ event: 'task-retrying', run, task: task.name, attempt, reason: failure.error.reason, message: failure.error.message });
    return 'retry';
  }
  emit({ event: 'task-failed', run, task: task.name, attempt, reason: failure.error.reason, message: failure.error.message, ...(failure.error.artifact ? { artifact: failure.error.artifact } : {}) });
  return failRun(options, task.name, failure.error);
}

async function failRun(options: ExecuteRunOptions, task: string, error: TaskFailure): Promise<RunOutcome> {
  const { status, runDir } = options;
  status.state = 'failed';
  status.current = task;
  status.error = { ...error, task };
  await saveStatus(runDir, status);
  options.emit({ event: 'run-failed', run: status.id, task, reason: error.reason, message: error.message, dir: runDir });
  return 'failed';
}

/** A task the manager saw start but not finish may have written its output just before a crash. */
async function recoverFinishedTask(runDir: string, task: string, state: TaskStatus): Promise<boolean> {
  const output = await readJsonFile(taskPaths(runDir, task).output, OutputSchema);
  if (!output.ok) return false;
  const endedAt = output.value.finishedAt;
  Object.assign(state, {
    state: 'complete',
    endedAt,
    refinements: output.value.refinements,
    usage: addUsage(state.usage, output.value.usage),
    ...(output.value.model ? { model: output.value.model } : {}),
    ...itemsOfOutput(output.value),
    ...(state.startedAt ? { durationMs: Math.max(0, Date.parse(endedAt) - Date.parse(state.startedAt)) } : {}),
    ...(output.value.costUsd === undefined ? {} : { costUsd: addCost(state.costUsd, output.value.costUsd) }),
  });
  return true;
}
