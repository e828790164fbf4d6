import { readFile } from 'node:fs/promises';
import { PipelineSchema, type Pipeline } from '../../formats/pipeline.js';
import { schemaIssues } from '../../formats/describe-error.js';
import { parsePipelineText } from '../../formats/parse-jsonc.js';
import { resolveTasks } from '../../formats/resolve-pipeline.js';
import { keyProblems } from '../../manager/check-keys.js';
import { escalationWarnings, modelProblems, pipelineProblems } from '../../manager/load-workspace.js';
import { loadRegistry } from '../../registry/load-registry.js';
import type { WorkspacePaths } from '../../workspace.js';
import { EXIT } from '../exit-codes.js';

/**
 * `validate`: pipeline.json, the registry, every task module, the model specs and the keys they
 * need. Lists every problem with its file, not just the first.
 */
export async function validateCommand(paths: WorkspacePaths, json: boolean): Promise<number> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const pipeline = await readPipeline(paths.pipelineFile, problems);
  const registry = await loadRegistry(paths.registryFile);
  if (!registry.ok) {
    problems.push(
      ...(registry.error.problems.length && registry.error.reason === 'registry-invalid'
        ? registry.error.problems
        : [registry.error.message, ...registry.error.problems]),
    );
  }
  if (pipeline) {
    // Without a loaded registry the task names cannot be checked, but models and keys still can.
    problems.push(...(registry.ok ? pipelineProblems(pipeline, registry.value, paths.pipelineFile) : modelProblems(pipeline, paths.pipelineFile)));
    if (registry.ok) warnings.push(...escalationWarnings(pipeline, registry.value, paths.pipelineFile));
    const keys = keyProblems(pipeline, process.env, paths.pipelineFile);
    problems.push(...keys.errors);
    warnings.push(...keys.warnings);
  }

  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: problems.length === 0, problems, warnings }, null, 2)}\n`);
  } else {
    for (const warning of warnings) process.stdout.write(`warning: ${warning}\n`);
    for (const problem of problems) process.stdout.write(`problem: ${problem}\n`);
    if (problems.length === 0 && pipeline && registry.ok) {
      const tasks = resolveTasks(pipeline);
      process.stdout.write(
        `ok: pipeline "${pipeline.name}" with ${tasks.length} task(s): ${tasks.map((task, index) => `${task.name} (${task.models.join(' → ')}${task.escalate.length ? `, escalating to ${task.escalate.map((rung) => rung[0]).join(' ⇒ ')}` : ''}${describeNeeds(task.needs, tasks[index - 1]?.name)})`).join(', ')}; ` +
          `${registry.value.tasks.size} task(s) registered in ${paths.registryFile}${registry.value.seedSchema ? ', with a seedSchema' : ''}\n`,
      );
    } else if (problems.length > 0) {
      process.stdout.write(`${problems.length} problem(s)\n`);
    }
  }
  return problems.length === 0 ? EXIT.ok : EXIT.runsFailed;
}

async function readPipeline(file: string, problems: string[]): Promise<Pipeline | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    problems.push(
      `${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`}`,
    );
    return undefined;
  }
  const data = parsePipelineText(text);
  if (!data.ok) {
    problems.push(`${file}: ${data.error}`);
    return undefined;
  }
  const parsed = PipelineSchema.safeParse(data.value);
  if (parsed.success) return parsed.data;
  problems.push(...schemaIssues(parsed.error).map((issue) => `${file}: ${issue.path || '(top level)'}: ${issue.message}`));
  return undefined;
}

/** A task's needs, where they differ from the default (the task listed before it). */
function describeNeeds(needs: string[], previous: string | undefined): string {
  if (needs.join('\n') === (previous ?? '')) return '';
  return `; needs ${needs.join(', ') || 'nothing'}`;
}
