import { callSettingsOf } from '../gateway/call-settings.js';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallSettings } from '../gateway/gateway.js';
import { describeZodError } from '../formats/describe-error.js';
import { LetterSchema } from '../formats/letter.js';
import { PipelineSchema } from '../formats/pipeline.js';
import { resolveTasks } from '../formats/resolve-pipeline.js';
import { RunStatusSchema } from '../formats/tasks-status.js';
import { readJsonFile } from '../fs/read-json.js';
import { err, ok, type Result } from '../result.js';
import { runPaths, taskPaths, workspacePaths } from '../workspace.js';
import { jobIdOf, TaskJobSchema } from './task-job.js';

/** A job a worker may run, with everything it needs taken from the workspace, not from the job. */
export interface AdmittedJob {
  run: string;
  task: string;
  attempt: number;
  runDir: string;
  letterPath: string;
  outputPath: string;
  consolePath: string;
  taskLog: string;
  timeoutMs: number;
  memoryMb: number;
  calls: CallSettings;
}

/**
 * Check a job before anything of it is used: strict data, its id the one the manager gives that
 * attempt, a run folder (not a link) in pipeline-current/ whose status says this very attempt is
 * running and whose letter is for it; providers and limits from the run's own pipeline snapshot.
 * The error says why it was refused.
 */
export async function admitJob(root: string, id: string | undefined, data: unknown): Promise<Result<AdmittedJob, string>> {
  const parsed = TaskJobSchema.safeParse(data);
  if (!parsed.success) return err(`its data is not a task job: ${describeZodError(parsed.error)}`);
  const { run, task, attempt, round } = parsed.data;
  if (id !== jobIdOf(run, task, attempt, round)) return err(`its id "${id ?? ''}" is not the one of attempt ${attempt} of task "${task}" of run ${run}`);

  const runDir = join(workspacePaths(root).current, run);
  const folder = await lstat(runDir).catch(() => undefined);
  if (!folder?.isDirectory()) return err(`run ${run} is not a run folder in pipeline-current/`);
  const status = await readJsonFile(runPaths(runDir).status, RunStatusSchema);
  if (!status.ok) return err(status.error.message);
  const state = status.value.tasks[task];
  if (status.value.id !== run || status.value.state === 'complete' || state?.state !== 'running' || state.attempts !== attempt) {
    return err(
      `run ${run} is not running attempt ${attempt} of task "${task}" (its status says ${state ? `${state.state}, attempt ${state.attempts}` : 'no such task'})`,
    );
  }
  const files = taskPaths(runDir, task);
  const letter = await readJsonFile(files.letter, LetterSchema);
  if (!letter.ok) return err(letter.error.message);
  if (letter.value.runId !== run || letter.value.task !== task || letter.value.attempt !== attempt)
    return err(`${files.letter} is not the letter of attempt ${attempt}`);
  const snapshot = await readJsonFile(runPaths(runDir).pipeline, PipelineSchema, { comments: true });
  if (!snapshot.ok) return err(snapshot.error.message);
  const resolved = resolveTasks(snapshot.value).find((entry) => entry.name === task);
  if (!resolved) return err(`the pipeline snapshot of run ${run} has no task "${task}"`);
  return ok({
    run,
    task,
    attempt,
    runDir,
    letterPath: files.letter,
    outputPath: files.output,
    consolePath: files.console,
    taskLog: files.log,
    timeoutMs: resolved.timeoutMs,
    memoryMb: resolved.memoryMb,
    // As the manager builds them: the run's own snapshot decides models, prices and spending limits.
    calls: { ...callSettingsOf(snapshot.value, resolved, workspacePaths(root).callCache, { root, runDir }), caller: `${run}/${task}` },
  });
}
