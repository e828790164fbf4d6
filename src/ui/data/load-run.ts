import { join } from 'node:path';
import { z } from 'zod';
import { runPaths, type WorkspacePaths } from '../../workspace.js';
import { exists } from '../../fs/create-new-file.js';
import { learnKeyVariables } from '../../secrets/known-secrets.js';
import { LooseRunStatusSchema, type LooseRunStatus } from './loose-formats.js';
import { readLoose } from './read-file.js';
import { taskGraph, type GraphNode } from './task-graph.js';

/** Run ids as POP makes them; anything else (a path, `..`) is never looked up. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** Task and item folder names. */
const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const isRunId = (id: string) => RUN_ID.test(id) && !id.includes('..');
export const isTaskName = (name: string) => NAME.test(name);
export const isItemName = (name: string) => /^\d{1,6}$/.test(name);

export interface LoadedRun {
  id: string;
  dir: string;
  where: 'current' | 'complete';
  status: LooseRunStatus;
  pipeline: Record<string, unknown> | undefined;
  graph: GraphNode[];
}

/** A run folder by its exact id, in pipeline-current/ first, then pipeline-complete/. */
export async function locateRun(paths: WorkspacePaths, id: string): Promise<{ dir: string; where: 'current' | 'complete' } | undefined> {
  if (!isRunId(id)) return undefined;
  for (const where of ['current', 'complete'] as const) {
    const dir = join(paths[where], id);
    if (await exists(runPaths(dir).status)) return { dir, where };
  }
  return undefined;
}

export async function loadRun(paths: WorkspacePaths, id: string): Promise<LoadedRun | undefined> {
  const found = await locateRun(paths, id);
  if (!found) return undefined;
  const files = runPaths(found.dir);
  const status = await readLoose(files.status, LooseRunStatusSchema);
  if (!status) return undefined;
  const pipeline = await readLoose(files.pipeline, z.record(z.string(), z.unknown()));
  const pipelineTasks = pipeline && Array.isArray(pipeline.tasks) ? pipeline.tasks : [];
  // Keys named by a run's own providers are redacted from its pages too.
  if (pipeline && typeof pipeline.providers === 'object' && pipeline.providers !== null)
    learnKeyVariables(pipeline.providers as Record<string, { apiKeyEnv?: string }>);
  return { id, ...found, status, pipeline, graph: taskGraph(pipelineTasks, Object.keys(status.tasks)) };
}

/** The names of the tasks running now: the status's list where it has one, else its single `current`. */
export function runningTasks(status: LooseRunStatus): string[] {
  // A failed run's status may still name the task it stopped at as `current`.
  if (status.state !== 'running' && status.state !== 'queued') return [];
  if (status.running) return status.running;
  const fromStates = Object.entries(status.tasks)
    .filter(([, task]) => task.state === 'running')
    .map(([name]) => name);
  if (fromStates.length) return fromStates;
  return status.current ? [status.current] : [];
}
