import type { BatchMode, ItemFailures, MockBehaviour, Pipeline } from './pipeline.js';
import { directNeeds, TaskGraph } from './task-graph.js';

export const DEFAULT_MODEL = 'mock:default';
export const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
export const DEFAULT_MAX_REFINEMENTS = 2;
export const DEFAULT_MEMORY_MB = 1024;
export const DEFAULT_ITEM_CONCURRENCY = 4;
/** Model calls one task attempt may make: generous, yet a runaway loop stops. */
export const DEFAULT_MAX_CALLS = 10_000;
export const DEFAULT_ESCALATE_AFTER = 1;
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
  /** Model calls one attempt may make. */
  maxCalls: number;
  /** USD the task may spend over all its attempts. */
  maxCostUsd: number | undefined;
  /** Stronger models, in order, for replies that keep failing validation: each rung its specs with their fallbacks. */
  escalate: string[][];
  /** Refinements on a rung before the next call moves up. */
  escalateAfter: number;
  /** Its calls wait for the Batch API (`required`: never in real time); false: made at once. */
  batch: BatchMode;
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
      maxRefinements: ('maxRefinements' in step ? step.maxRefinements : undefined) ?? defaults.maxRefinements ?? DEFAULT_MAX_REFINEMENTS,
      memoryMb: ('memoryMb' in step && step.memoryMb) || defaults.memoryMb || DEFAULT_MEMORY_MB,
      config: ('config' in step && step.config) || {},
      mock: ('mock' in step ? step.mock : undefined) ?? defaults.mock,
      maxRetries: ('maxRetries' in step ? step.maxRetries : undefined) ?? defaults.maxRetries,
      concurrency: ('concurrency' in step ? step.concurrency : undefined) ?? defaults.concurrency ?? DEFAULT_ITEM_CONCURRENCY,
      itemFailures: ('itemFailures' in step ? step.itemFailures : undefined) ?? defaults.itemFailures ?? 'fail',
      cache: ('cache' in step ? step.cache : undefined) ?? defaults.cache ?? false,
      needs: needs.get(step.name) ?? [],
      maxCalls: ('maxCalls' in step ? step.maxCalls : undefined) ?? defaults.maxCalls ?? DEFAULT_MAX_CALLS,
      maxCostUsd: ('maxCostUsd' in step ? step.maxCostUsd : undefined) ?? defaults.maxCostUsd,
      escalate: expandLadder(pipeline, ('escalate' in step ? step.escalate : undefined) ?? defaults.escalate),
      escalateAfter: ('escalateAfter' in step ? step.escalateAfter : undefined) ?? defaults.escalateAfter ?? DEFAULT_ESCALATE_AFTER,
      batch: ('batch' in step ? step.batch : undefined) ?? defaults.batch ?? false,
    };
  });
}

/** Each rung of a ladder as the specs to try in order: an alias brings its fallbacks with it. */
function expandLadder(pipeline: Pipeline, rungs: string[] | undefined): string[][] {
  return (rungs ?? []).map((rung) => expandAliases(pipeline.models, rung));
}

export { splitModelSpec } from './model-spec.js';
