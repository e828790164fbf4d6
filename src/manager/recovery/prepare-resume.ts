import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../fs/atomic-write.js';
import { PipelineSchema } from '../../formats/pipeline.js';
import { parsePipelineText } from '../../formats/parse-jsonc.js';
import { resolveTasks } from '../../formats/resolve-pipeline.js';
import type { RunStatus } from '../../formats/tasks-status.js';
import { err, ok, type Result } from '../../result.js';
import { runPaths } from '../../workspace.js';

/**
 * Ready a failed or interrupted run to continue from its first task not complete. With
 * `pipeline: 'current'` its snapshot is replaced by the workspace's pipeline.json (for a fix made
 * there); tasks no longer in the pipeline are dropped from the status.
 */
export async function prepareResume(
  runDir: string,
  status: RunStatus,
  pipeline: { kind: 'snapshot' } | { kind: 'current'; file: string },
): Promise<Result<RunStatus, string>> {
  if (status.state === 'complete') return err(`run ${status.id} is already complete; use rerun --from <task> to run tasks again`);
  if (pipeline.kind === 'current') {
    const text = await readFile(pipeline.file, 'utf8');
    const data = parsePipelineText(text);
    if (!data.ok) return err(`${pipeline.file}: ${data.error}`);
    const parsed = PipelineSchema.safeParse(data.value);
    if (!parsed.success) return err(`${pipeline.file}: not a valid pipeline (${parsed.error.issues[0]?.message ?? 'invalid'})`);
    await writeFileAtomic(runPaths(runDir).pipeline, text);
    const names = new Set(resolveTasks(parsed.data).map((task) => task.name));
    for (const name of Object.keys(status.tasks)) if (!names.has(name)) delete status.tasks[name];
  }
  status.state = 'queued';
  delete status.error;
  return ok(status);
}
