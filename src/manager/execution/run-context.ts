import type { Pipeline } from '../../formats/pipeline.js';
import type { RunStatus } from '../../formats/tasks-status.js';
import type { TaskGraph } from '../../formats/task-graph.js';
import type { WorkspacePaths } from '../../workspace.js';
import type { EmitEvent } from '../events.js';
import type { RunAttempt } from './attempt-runner.js';
import type { StandbyPool } from './standby-pool.js';
import type { TaskSlots } from './task-slots.js';

/** What every part of one run's execution shares. */
export interface RunContext {
  paths: WorkspacePaths;
  runDir: string;
  status: RunStatus;
  graph: TaskGraph;
  /** The providers of the run's pipeline snapshot, for the calls its tasks make. */
  providers: Pipeline['providers'];
  /** The run's pipeline snapshot: its prices, models and limits govern its calls. */
  pipeline: Pipeline | undefined;
  emit: EmitEvent;
  /** Aborted when running tasks must be ended (the grace period is over, or a CLI run is stopped). */
  cancelSignal: AbortSignal;
  /** Aborted when nothing new may start (the manager is stopping); includes cancelSignal. */
  stopping: AbortSignal;
  standbys: StandbyPool | undefined;
  /** The manager's cap on task processes; none for a run continued by the CLI on its own. */
  slots: TaskSlots | undefined;
  /** How this process runs a task attempt: locally, or on a queue's workers. */
  runAttempt: RunAttempt;
  /** Write tasks-status.json (serialised: tasks of the run finish concurrently). */
  save: () => Promise<void>;
}
