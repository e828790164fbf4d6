import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../fs/atomic-write.js';
import { exists } from '../fs/create-new-file.js';
import { readJsonFile } from '../fs/read-json.js';
import { BatchAnswerSchema, PendingRequestSchema, SubmissionSchema, type BatchAnswer, type PendingRequest, type Submission } from '../formats/batch.js';
import { taskPaths } from '../workspace.js';

/** Where the Batch API's records live: `.pop/batches/` of the workspace. */
export function batchPaths(root: string) {
  const dir = join(root, '.pop', 'batches');
  return {
    dir,
    /** Calls parked and not yet in a submission: `<run>/<task>--<request>.json`. */
    pending: join(dir, 'pending'),
    /** The mock provider's simulated batches. */
    mock: join(dir, 'mock'),
  };
}
export type BatchPaths = ReturnType<typeof batchPaths>;

const SEPARATOR = '--';
const pendingPath = (paths: BatchPaths, request: Pick<PendingRequest, 'id' | 'owner'>) =>
  join(paths.pending, request.owner.run, `${request.owner.task}${SEPARATOR}${request.id}.json`);
const submissionPath = (paths: BatchPaths, key: string) => join(paths.dir, `${key}.json`);

/** A submission still at its provider, or being made: its calls wait. */
export const isOpen = (submission: Submission) => submission.state === 'open' || submission.state === 'submitting';
/** A run's answers to its task's batched calls, beside the task's other artifacts. */
export const answerPath = (runDir: string, task: string, id: string) => join(taskPaths(runDir, task).dir, 'batch', `${id}.json`);

/** Park a call: written once (a task that parks again on the same call finds it there). */
export async function writePending(paths: BatchPaths, request: PendingRequest): Promise<void> {
  const path = pendingPath(paths, request);
  if (await exists(path)) return;
  // The run's folder may be removed (emptied by the pool) between making it and writing: once more.
  for (let tries = 1; ; tries++) {
    await mkdir(join(paths.pending, request.owner.run), { recursive: true });
    try {
      return await writeJsonAtomic(path, request);
    } catch (error) {
      if (tries >= 3 || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

export async function removePending(paths: BatchPaths, request: Pick<PendingRequest, 'id' | 'owner'>): Promise<void> {
  await rm(pendingPath(paths, request), { force: true });
}

/** The files of every parked call of every run. */
export async function listPending(paths: BatchPaths): Promise<string[]> {
  const files: string[] = [];
  for (const run of await readdir(paths.pending).catch(() => [] as string[])) {
    for (const name of await readdir(join(paths.pending, run)).catch(() => [] as string[]))
      if (name.endsWith('.json') && !name.startsWith('.')) files.push(join(paths.pending, run, name));
  }
  return files;
}

export async function readPending(path: string): Promise<PendingRequest | undefined> {
  const read = await readJsonFile(path, PendingRequestSchema);
  return read.ok ? read.value : undefined;
}

/** Every parked call of every run; unreadable files are skipped (and named to `onProblem`). */
export async function readAllPending(paths: BatchPaths, onProblem?: (message: string) => void): Promise<PendingRequest[]> {
  const runs = await readdir(paths.pending).catch(() => [] as string[]);
  const requests: PendingRequest[] = [];
  for (const run of runs) requests.push(...(await readPendingOfRun(paths, run, onProblem)));
  return requests;
}

export async function readPendingOfRun(paths: BatchPaths, run: string, onProblem?: (message: string) => void): Promise<PendingRequest[]> {
  const names = await readdir(join(paths.pending, run)).catch(() => [] as string[]);
  const requests: PendingRequest[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const read = await readJsonFile(join(paths.pending, run, name), PendingRequestSchema);
    if (read.ok) requests.push(read.value);
    else onProblem?.(read.error.message);
  }
  return requests;
}

/** The tasks of a run with calls still parked (not yet answered). */
export async function tasksStillWaiting(paths: BatchPaths, run: string): Promise<Set<string>> {
  const names = await readdir(join(paths.pending, run)).catch(() => [] as string[]);
  return new Set(names.filter((name) => name.includes(SEPARATOR)).map((name) => name.slice(0, name.indexOf(SEPARATOR))));
}

export async function removeRunPending(paths: BatchPaths, run: string): Promise<void> {
  await rm(join(paths.pending, run), { recursive: true, force: true });
}

export async function writeSubmission(paths: BatchPaths, submission: Submission): Promise<void> {
  await mkdir(paths.dir, { recursive: true });
  await writeJsonAtomic(submissionPath(paths, submission.key), submission);
}

export async function readSubmissions(paths: BatchPaths, onProblem?: (message: string) => void): Promise<Submission[]> {
  const names = await readdir(paths.dir).catch(() => [] as string[]);
  const submissions: Submission[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const read = await readJsonFile(join(paths.dir, name), SubmissionSchema);
    if (read.ok) submissions.push(read.value);
    else onProblem?.(read.error.message);
  }
  return submissions;
}

export async function readAnswer(runDir: string, task: string, id: string): Promise<BatchAnswer | undefined> {
  const read = await readJsonFile(answerPath(runDir, task, id), BatchAnswerSchema);
  return read.ok ? read.value : undefined;
}

export async function writeAnswer(runDir: string, task: string, answer: BatchAnswer): Promise<void> {
  await mkdir(join(taskPaths(runDir, task).dir, 'batch'), { recursive: true });
  await writeJsonAtomic(answerPath(runDir, task, answer.id), answer);
}

export const answerExists = (runDir: string, task: string, id: string) => exists(answerPath(runDir, task, id));
