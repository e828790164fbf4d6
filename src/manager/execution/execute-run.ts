import { readJsonFile } from '../../fs/read-json.js';
import { PipelineSchema } from '../../formats/pipeline.js';
import { resolveTasks, taskGraphOf, type ResolvedTask } from '../../formats/resolve-pipeline.js';
import type { RunStatus } from '../../formats/tasks-status.js';
import { TaskGraph } from '../../formats/task-graph.js';
import { runPaths, type WorkspacePaths } from '../../workspace.js';
import type { EmitEvent } from '../events.js';
import type { RunAttempt } from './attempt-runner.js';
import type { RunContext } from './run-context.js';
import { completeRun, failRun, interruptRun, recoverFinishedTask, waitRun, type RunOutcome } from './run-outcome.js';
import type { StandbyPool } from './standby-pool.js';
import { serialStatusSaver } from './status-writes.js';
import { runTaskToOutcome, taskState, type TaskOutcome } from './task-attempt.js';
import type { TaskSlots } from './task-slots.js';
import { learnKeyVariables } from '../../secrets/known-secrets.js';

export type { RunOutcome } from './run-outcome.js';
export { MAX_ATTEMPTS_AFTER_OUTSIDE_FAILURE } from './task-attempt.js';

export interface ExecuteRunOptions {
  paths: WorkspacePaths;
  runDir: string;
  status: RunStatus;
  emit: EmitEvent;
  /** Aborted when running tasks must be ended: they stop and the run stays resumable. */
  cancelSignal: AbortSignal;
  /** Aborted when the manager begins to stop: no task starts after it; running ones finish. */
  stopSignal?: AbortSignal | undefined;
  alreadyRecorded?: (id: string) => Promise<boolean>;
  standbys?: StandbyPool | undefined;
  slots?: TaskSlots | undefined;
  /** How a task attempt runs: locally, or on a queue's workers. */
  runAttempt: RunAttempt;
}

/**
 * Drive one run through its task graph (the run's own pipeline snapshot): a task starts once
 * every task it needs is complete, each in its own process, several at once when the graph
 * allows. A failed task stops only the tasks downstream of it; the others run to the end.
 */
export async function executeRun(options: ExecuteRunOptions): Promise<RunOutcome> {
  const { status, emit, runDir } = options;
  const saveNow = serialStatusSaver(runDir, status);
  // Active time: this execution's span is added to what earlier ones spent, at every save, so a
  // resumed run's duration leaves out the time it sat stopped.
  const activeBefore = status.activeMs ?? 0;
  const began = performance.now();
  const save = () => {
    status.activeMs = Math.round(activeBefore + (performance.now() - began));
    return saveNow();
  };
  const snapshot = await readJsonFile(runPaths(runDir).pipeline, PipelineSchema, { comments: true });
  const stopping = options.stopSignal ? AbortSignal.any([options.stopSignal, options.cancelSignal]) : options.cancelSignal;
  const base = {
    paths: options.paths,
    runDir,
    status,
    emit,
    cancelSignal: options.cancelSignal,
    stopping,
    standbys: options.standbys,
    slots: options.slots,
    runAttempt: options.runAttempt,
    save,
  };
  if (!snapshot.ok) {
    const context: RunContext = { ...base, graph: new TaskGraph([]), providers: undefined, pipeline: undefined };
    return failRun(context, [], { task: 'pipeline.json', error: { reason: 'invalid-task', message: snapshot.error.message } });
  }
  learnKeyVariables(snapshot.value.providers);
  const context: RunContext = { ...base, graph: taskGraphOf(snapshot.value), providers: snapshot.value.providers, pipeline: snapshot.value };
  const tasks = new Map(resolveTasks(snapshot.value).map((task) => [task.name, task]));
  const order = context.graph.topologicalOrder();

  // Tasks a previous manager saw start: complete if their output was written, else run again.
  for (const name of order) {
    const state = taskState(context, name);
    if (state.state === 'running' && (await recoverFinishedTask(runDir, name, state))) emit({ event: 'task-recovered', run: status.id, task: name });
  }
  status.state = 'running';
  status.startedAt ??= new Date().toISOString();
  delete status.error;
  await save();
  emit({ event: 'run-started', run: status.id, tasks: order.length });

  const outcomes = await runGraph(context, order, tasks);
  const failed = order.filter((name) => outcomes.get(name) === 'failed');
  if (failed.length > 0) return failRun(context, failed);
  const waiting = order.filter((name) => outcomes.get(name) === 'waiting');
  if (waiting.length > 0 && !stopping.aborted) return waitRun(context, waiting);
  const unfinished = order.filter((name) => status.tasks[name]?.state !== 'complete');
  if (unfinished.length > 0) {
    // A task left for later (its job refused by a full Redis under `start --once`) leaves the run queued.
    const leftForLater = order.some((name) => outcomes.get(name) === 'interrupted');
    if (!stopping.aborted && !leftForLater) throw new Error(`run ${status.id}: tasks ${unfinished.join(', ')} could not start, yet nothing failed`);
    return interruptRun(context, unfinished);
  }
  return completeRun(context, options.alreadyRecorded);
}

/**
 * Start every task whose needs are complete, and again each time one ends, until nothing can
 * start: all complete, the rest downstream of a failure, or the manager stopping. Each task is
 * taken at most once per execution (its own retries are inside runTaskToOutcome).
 */
async function runGraph(context: RunContext, order: string[], tasks: Map<string, ResolvedTask>): Promise<Map<string, TaskOutcome>> {
  const outcomes = new Map<string, TaskOutcome>();
  const inFlight = new Map<string, Promise<void>>();
  const complete = (name: string) => context.status.tasks[name]?.state === 'complete';
  for (;;) {
    if (!context.stopping.aborted) {
      for (const name of order) {
        if (complete(name) || outcomes.has(name) || inFlight.has(name)) continue;
        if (!context.graph.needsOf(name).every(complete)) continue;
        const task = tasks.get(name)!;
        inFlight.set(
          name,
          runTaskToOutcome(context, task).then(
            (outcome) => {
              outcomes.set(name, outcome);
              inFlight.delete(name);
            },
            (error: unknown) => {
              inFlight.delete(name);
              throw error;
            },
          ),
        );
      }
    }
    if (inFlight.size === 0) return outcomes;
    // A bug in one task's bookkeeping ends the run (run-locked reports it), after the others settle.
    await Promise.race(inFlight.values()).catch(async (error: unknown) => {
      await Promise.allSettled(inFlight.values());
      throw error;
    });
  }
}
