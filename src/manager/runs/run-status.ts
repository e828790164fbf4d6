import { writeJsonAtomic } from '../../fs/atomic-write.js';
import type { RunStatus, TaskStatus } from '../../formats/tasks-status.js';
import { emptyUsage } from '../../util/usage.js';
import type { ResolvedTask } from '../../formats/resolve-pipeline.js';
import { runPaths } from '../../workspace.js';

export function initialStatus(init: {
  id: string;
  pipeline: string;
  file: string;
  sha256: string;
  mtimeMs: number;
  tasks: ResolvedTask[];
  now: string;
}): RunStatus {
  const tasks: Record<string, TaskStatus> = {};
  for (const task of init.tasks) tasks[task.name] = { state: 'pending', attempts: 0, refinements: 0, usage: emptyUsage() };
  return {
    id: init.id,
    pipeline: init.pipeline,
    state: 'queued',
    source: { file: init.file, sha256: init.sha256, mtimeMs: init.mtimeMs },
    createdAt: init.now,
    updatedAt: init.now,
    running: [],
    tasks,
  };
}

/** The only way tasks-status.json is written: stamped and atomic. */
export async function saveStatus(runDir: string, status: RunStatus): Promise<void> {
  status.updatedAt = new Date().toISOString();
  await writeJsonAtomic(runPaths(runDir).status, status);
}
