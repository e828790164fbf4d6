import type { Pipeline } from './pipeline.js';
import { BUILT_IN_PROVIDERS, expandAliases, resolveTasks, splitModelSpec } from './resolve-pipeline.js';

/** The models a task may be served: what its pipeline makes available to it. */
export interface AllowedModels {
  /** Its own models, fallbacks and escalation ladder, as specs. */
  specs: string[];
  /** Providers any of whose models it may ask for: those declared, and built-ins the pipeline names. */
  providers: string[];
}

/**
 * A task may be served its model, its fallbacks, its escalation rungs, and any model of a provider
 * the pipeline declares under `providers`; a built-in provider (openai, anthropic, mock) only when
 * the pipeline names it somewhere (a task's model, `defaults`, an alias). Anything else is refused:
 * a task's code cannot spend a key its pipeline never mentions.
 */
export function allowedModelsOf(pipeline: Pipeline, taskModels: string[]): AllowedModels {
  // taskModels: the task's own specs, its escalation rungs included.
  const named = new Set<string>(Object.keys(pipeline.providers ?? {}));
  const specsNamed = [
    ...resolveTasks(pipeline).flatMap((task) => [...task.models, ...task.escalate.flat()]),
    ...Object.values(pipeline.models ?? {}).flatMap((ref) => expandAliases(pipeline.models, ref)),
  ];
  for (const spec of specsNamed) {
    const provider = splitModelSpec(spec)?.provider;
    if (provider && (BUILT_IN_PROVIDERS as readonly string[]).includes(provider)) named.add(provider);
  }
  return { specs: [...new Set(taskModels)], providers: [...named].sort() };
}

export function isAllowed(allowed: AllowedModels, spec: string): boolean {
  if (allowed.specs.includes(spec)) return true;
  const provider = splitModelSpec(spec)?.provider;
  return provider !== undefined && allowed.providers.includes(provider);
}
