import { join } from 'node:path';

/** Where everything lives in a workspace (the folder holding pipeline.json and the pipeline-* folders). */
export function workspacePaths(root: string) {
  const complete = join(root, 'pipeline-complete');
  const pending = join(root, 'pipeline-pending');
  return {
    root,
    pipelineFile: join(root, 'pipeline.json'),
    registryFile: join(root, 'pipeline-tasks', 'index.js'),
    envFile: join(root, '.env'),
    /** Stored model replies of tasks with `cache: true`. */
    callCache: join(root, '.pop', 'cache'),
    pending,
    rejected: join(pending, 'rejected'),
    /** Crash-left copies of claimed seeds, set aside at start with a note. */
    duplicates: join(pending, 'duplicates'),
    current: join(root, 'pipeline-current'),
    complete,
    runsJsonl: join(complete, 'runs.jsonl'),
    /** Held by the one manager working on this workspace. */
    managerLock: join(root, 'pipeline-current', '.manager.lock'),
    /** Per-run locks, outside the run folders so they never travel with a promoted run. */
    locks: join(root, 'pipeline-current', '.locks'),
    /** Hand-off from `resume` and `rerun` to a running manager. */
    requests: join(root, 'pipeline-current', '.requests'),
  };
}
export type WorkspacePaths = ReturnType<typeof workspacePaths>;

/** The files of one run folder, wherever the folder currently is. */
export function runPaths(runDir: string) {
  return {
    dir: runDir,
    seed: join(runDir, 'seed.json'),
    /** The pending file it was claimed from (name, size, mtime, sha256), written once. */
    source: join(runDir, 'source.json'),
    pipeline: join(runDir, 'pipeline.json'),
    status: join(runDir, 'tasks-status.json'),
    log: join(runDir, 'run.log'),
    tasks: join(runDir, 'tasks'),
  };
}

export function taskPaths(runDir: string, task: string) {
  const dir = join(runDir, 'tasks', task);
  return {
    dir,
    letter: join(dir, 'letter.json'),
    output: join(dir, 'output.json'),
    log: join(dir, 'task.log'),
    console: join(dir, 'console.log'),
  };
}

/** A task's output.json relative to the run folder, as letters record it. */
export const relativeOutputPath = (task: string) => `tasks/${task}/output.json`;

export const runLockPath = (paths: WorkspacePaths, id: string) => join(paths.locks, `${id}.lock`);
