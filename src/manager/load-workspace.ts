import { readFile } from 'node:fs/promises';
import { PipelineSchema, type Pipeline } from '../formats/pipeline.js';
import { BUILT_IN_PROVIDERS, expandAliases, resolveTasks, splitModelSpec, type ResolvedTask } from '../formats/resolve-pipeline.js';
import { schemaIssues } from '../formats/describe-error.js';
import { parsePipelineText } from '../formats/parse-jsonc.js';
import { loadRegistry, type Registry } from '../registry/load-registry.js';
import { providerConfigFor } from '../gateway/index.js';
import { err, ok, type Result } from '../result.js';
import type { WorkspacePaths } from '../workspace.js';
import { keyProblems } from './check-keys.js';
import { learnKeyVariables } from '../secrets/known-secrets.js';

export interface LoadedWorkspace {
  pipeline: Pipeline;
  pipelineText: string;
  tasks: ResolvedTask[];
  registry: Registry;
  /** Settings that do nothing as written (an escalation ladder on a task nothing can fail). */
  warnings: string[];
}

/** Pure checks of a parsed pipeline against the registry: every problem, each naming its place. */
export function pipelineProblems(pipeline: Pipeline, registry: Registry, file: string): string[] {
  const registered = [...registry.tasks.keys()];
  const problems: string[] = [];
  resolveTasks(pipeline).forEach((task, index) => {
    if (!registry.tasks.has(task.module)) {
      problems.push(`${file}: tasks[${index}] "${task.module}" is not a registered task (registered in ${registry.file}: ${registered.join(', ') || 'none'})`);
    }
  });
  return [...problems, ...modelProblems(pipeline, file)];
}

/** An escalation ladder only climbs on a reply that fails validation: a task with no output schema and no quality check never does. */
export function escalationWarnings(pipeline: Pipeline, registry: Registry, file: string): string[] {
  const warnings: string[] = [];
  resolveTasks(pipeline).forEach((task, index) => {
    const definition = registry.tasks.get(task.module);
    if (task.escalate.length && definition && !definition.output && !definition.validate) {
      warnings.push(
        `${file}: tasks[${index}] "${task.name}" has "escalate", but its task has neither an output schema nor a validate check: no reply can fail validation, so it never escalates`,
      );
    }
  });
  return warnings;
}

/** Model specs (and escalation rungs) that name no known provider; checkable without the registry. */
export function modelProblems(pipeline: Pipeline, file: string): string[] {
  const problems: string[] = [];
  const specProblem = (place: string, spec: string): string | undefined => {
    const parts = splitModelSpec(spec);
    if (!parts) return `${file}: ${place}: model "${spec}" is neither an alias in "models" nor of the form provider:model`;
    if (!providerConfigFor(parts.provider, pipeline.providers)) {
      return `${file}: ${place}: provider "${parts.provider}" of "${spec}" is not declared in "providers" (built in: ${BUILT_IN_PROVIDERS.join(', ')})`;
    }
    return undefined;
  };
  resolveTasks(pipeline).forEach((task, index) => {
    for (const spec of task.models) {
      const problem = specProblem(`tasks[${index}] "${task.name}"`, spec);
      if (problem) problems.push(problem);
    }
  });
  // Each rung where it is written: on the task, or in defaults (checked once there).
  const ladders: Array<{ place: string; rungs: string[] }> = [];
  if (pipeline.defaults?.escalate) ladders.push({ place: 'defaults.escalate', rungs: pipeline.defaults.escalate });
  pipeline.tasks.forEach((entry, index) => {
    if (typeof entry !== 'string' && entry.escalate) ladders.push({ place: `tasks[${index}].escalate`, rungs: entry.escalate });
  });
  for (const { place, rungs } of ladders) {
    rungs.forEach((rung, at) => {
      for (const spec of expandAliases(pipeline.models, rung)) {
        const problem = specProblem(`${place}[${at}]`, spec);
        if (problem) problems.push(problem);
      }
    });
  }
  return problems;
}

/** Read and check pipeline.json and the task registry, as the manager needs them to start. */
export async function loadWorkspace(paths: WorkspacePaths, options: { freshRegistry?: boolean } = {}): Promise<Result<LoadedWorkspace, string[]>> {
  const file = paths.pipelineFile;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return err([`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)}); is --root the workspace folder?`]);
  }
  const data = parsePipelineText(text);
  if (!data.ok) return err([`${file}: ${data.error}`]);
  const parsed = PipelineSchema.safeParse(data.value);
  if (!parsed.success) {
    return err(schemaIssues(parsed.error).map((issue) => `${file}: ${issue.path || '(top level)'}: ${issue.message}`));
  }
  learnKeyVariables(parsed.data.providers);
  const registry = await loadRegistry(paths.registryFile, { fresh: options.freshRegistry === true });
  if (!registry.ok) {
    const { reason, problems, message } = registry.error;
    return err(reason === 'registry-failed-to-load' ? [...problems, message] : reason === 'registry-invalid' ? problems : [message]);
  }
  const problems = [...pipelineProblems(parsed.data, registry.value, file), ...keyProblems(parsed.data, process.env, file).errors];
  if (problems.length) return err(problems);
  return ok({
    pipeline: parsed.data,
    pipelineText: text,
    tasks: resolveTasks(parsed.data),
    registry: registry.value,
    warnings: escalationWarnings(parsed.data, registry.value, file),
  });
}
