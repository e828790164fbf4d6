import { isAbsolute, join, relative } from 'node:path';
import { z } from 'zod';
import type { TaskProcessOptions } from '../manager/execution/task-process.js';

/**
 * A task attempt as a queue job: paths relative to the workspace, so a worker that sees the
 * workspace elsewhere (a shared file system mounted at another path) finds the same files.
 */
export const TaskJobSchema = z.object({
  run: z.string(),
  task: z.string(),
  attempt: z.number().int().min(1),
  letter: z.string(),
  output: z.string(),
  console: z.string(),
  timeoutMs: z.number().int().positive(),
  memoryMb: z.number().int().positive(),
  calls: z.object({ providers: z.unknown().optional(), maxRetries: z.number().int().optional(), cacheDir: z.string().optional(), caller: z.string().optional() }),
});
export type TaskJob = z.output<typeof TaskJobSchema>;

/** What a worker hands back: the attempt's outcome. The manager still reads output.json itself. */
export const TaskJobResultSchema = z.union([
  z.object({ ok: z.literal(true), worker: z.string().optional() }),
  z.object({ ok: z.literal(false), worker: z.string().optional(), failure: z.object({ error: z.object({ reason: z.string(), message: z.string() }).passthrough(), usage: z.unknown(), refinements: z.number(), costUsd: z.number().optional() }) }),
]);
export type TaskJobResult = z.output<typeof TaskJobResultSchema>;

/** One job per attempt, never two: the id says which. */
export const jobIdOf = (run: string, task: string, attempt: number): string => `${run}:${task}:${attempt}`;

export function taskJobOf(options: TaskProcessOptions, attempt: number): TaskJob {
  const from = (path: string) => relative(options.workspace, path);
  return {
    run: options.run,
    task: options.task,
    attempt,
    letter: from(options.letterPath),
    output: from(options.outputPath),
    console: from(options.consolePath),
    timeoutMs: options.timeoutMs,
    memoryMb: options.memoryMb,
    calls: { providers: options.calls.providers, ...(options.calls.maxRetries === undefined ? {} : { maxRetries: options.calls.maxRetries }), ...(options.calls.cacheDir ? { cacheDir: from(options.calls.cacheDir) } : {}), ...(options.calls.caller ? { caller: options.calls.caller } : {}) },
  };
}

/** A job's path under this worker's root; a path that would leave it is refused. */
export function underRoot(root: string, path: string): string | undefined {
  if (isAbsolute(path) || path.split(/[\\/]/).includes('..')) return undefined;
  return join(root, path);
}
