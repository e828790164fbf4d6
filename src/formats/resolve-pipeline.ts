import type { ItemFailures, MockBehaviour, Pipeline } from './pipeline.js';
import { directNeeds, TaskGraph } from './task-graph.js';

export const DEFAULT_MODEL = 'mock:default';
export const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
export const DEFAULT_MAX_REFINEMENTS = 2;
export const DEFAULT_MEMORY_MB = 1024;
export const DEFAULT_ITEM_CONCURRENCY = 4;
export const BUILT_IN_PROVIDERS = ['openai', 'anthropic', 'mock'] as const;

/** A pipeline step with every default applied: what the manager schedules and letters carry. */
export interface ResolvedTask {
  name: string;
  module: string;
  models: string[];
  timeoutMs: number;
  maxRefinements: number;
  memoryMb: number;
  config: Record<string, unknown>;
  mock: MockBehaviour | undefined;
  /** Overrides the providers' `maxRetries` for this task's calls. */
  maxRetries: number | undefined;
  /** Fan-out items in flight at once. */
  concurrency: number;
  itemFailures: ItemFailures;
  /** Answer identical calls from the call cache. */
  cache: boolean;
  /** The tasks it waits for, defaults applied (absent in pipeline.json: the task listed before). */
  needs: string[];
}

const MAX_ALIAS_DEPTH = 4;

/**
 * Expand a model reference into the specs to try in order: aliases from `models` (which may name
 * specs, lists, or other aliases) and plain `provider:model` specs.
 */
export function expandModel(pipeline: Pipeline, ref: string | string[] | undefined): string[] {
  const models = pipeline.models ?? {};
  return expandAliases(models, ref ?? pipeline.defaults?.model ?? ('default' in models ? 'default' : DEFAULT_MODEL));
}

/** A spec, alias or list as the specs to try in order, through the pipeline's `models` aliases. */
export function expandAliases(aliases: Pipeline['models'], ref: string | string[]): string[] {
  const models = aliases ?? {};
  const expand = (item: string, depth: number): string[] => {
    const alias = models[item];
    if (alias === undefined || depth > MAX_ALIAS_DEPTH) return [item];
    return (Array.isArray(alias) ? alias : [alias]).flatMap((inner) => expand(inner, depth + 1));
  };
  return [...new Set((Array.isArray(ref) ? ref : [ref]).flatMap((item) => expand(item, 0)))];
}

const entriesOf = (pipeline: Pipeline) => pipeline.tasks.map((entry) => (typeof entry === 'string' ? { name: entry } : entry));

/** The graph of a parsed (so checked) pipeline. */
export function taskGraphOf(pipeline: Pipeline): TaskGraph {
  return new TaskGraph(entriesOf(pipeline));
}

export function resolveTasks(pipeline: Pipeline): ResolvedTask[] {
  const defaults = pipeline.defaults ?? {};
  const needs = directNeeds(entriesOf(pipeline));
  return entriesOf(pipeline).map((step) => {
    return {
      name: step.name,
      module: ('task' in step && step.task) || step.name,
      models: expandModel(pipeline, 'model' in step ? step.model : undefined),
      timeoutMs: ('timeoutMs' in step && step.timeoutMs) || defaults.timeoutMs || DEFAULT_TIMEOUT_MS,
      maxRefinements:
        ('maxRefinements' in step ? step.maxRefinements : undefined) ?? defaults.maxRefinements ?? DEFAULT_MAX_REFINEMENTS,
      memoryMb: ('memoryMb' in step && step.memoryMb) || defaults.memoryMb || DEFAULT_MEMORY_MB,
      config: ('config' in step && step.config) || {},
      mock: ('mock' in step ? step.mock : undefined) ?? defaults.mock,
      maxRetries: ('maxRetries' in step ? step.maxRetries : undefined) ?? defaults.maxRetries,
      concurrency: ('concurrency' in step ? step.concurrency : undefined) ?? defaults.concurrency ?? DEFAULT_ITEM_CONCURRENCY,
      itemFailures: ('itemFailures' in step ? step.itemFailures : undefined) ?? defaults.itemFailures ?? 'fail',
      cache: ('cache' in step ? step.cache : undefined) ?? defaults.cache ?? false,
      needs: needs.get(step.name) ?? [],
    };
  });
}

/** `provider:model` → its parts; the provider is everything before the first colon. */
export function splitModelSpec(spec: string): { provider: string; model: string } | undefined {
  const colon = spec.indexOf(':');
  if (colon <= 0 || colon === spec.length - 1) return undefined;
  return { provider: spec.slice(0, colon), model: spec.slice(colon + 1) };
}
