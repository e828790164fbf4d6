import type { z } from 'zod';
import type { TaskLogger } from './task-log.js';

import type { Message } from '../formats/message.js';

export type { Message, Role } from '../formats/message.js';

/** What a prompt stage may return: plain text (one user message), system + user, or a full message list. */
export type PromptResult = string | { system?: string; user: string } | Message[];

/**
 * Filled in by a workspace to type its seeds: `pop init` writes `pipeline-tasks/pop-types.d.ts`,
 * which registers `seed` as the output of the registry's `seedSchema`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: an interface, so that a workspace can merge its declaration into it.
export interface Register {}

/** The seed's type: from the registry's seedSchema once registered (see Register), else any object. */
export type Seed = Register extends { seed: infer S } ? S : Record<string, unknown>;

/** The default ingestion: the seed and the values of every task upstream, by task name. */
export interface Ingested<Inputs = Record<string, unknown>> {
  seed: Seed;
  inputs: Inputs;
}

export interface InferenceResult {
  text: string;
  /** `provider:model` that answered. */
  model: string | null;
  usage: { inputTokens: number; outputTokens: number };
  latencyMs?: number;
  /** Models tried before this one, with why they were skipped. */
  skipped?: Array<{ model: string; reason: string; message: string }>;
  /** Served from the call cache: no request was made, and `usage` is the original call's. */
  cached?: boolean;
  /** What the call cost by pipeline.json `prices`, as the gateway recorded it in calls.jsonl. */
  costUsd?: number;
  /** Why the model stopped (`stop`, `length`, `end_turn`, `max_tokens`, ...), as the provider said. */
  finishReason?: string;
}

export type IssueKind = 'parse' | 'structure' | 'quality';
export interface ValidationIssue {
  kind: IssueKind;
  path?: string;
  message: string;
}

/** Where a fan-out item stands: `index` from 0 in the list `each` returned, of `count` items. */
export interface ItemPosition {
  index: number;
  count: number;
}

/** An item of a fan-out task that never validated, or whose stages threw (`itemFailures: "skip"`). */
export interface FailedItem {
  index: number;
  /** Its folder under `items/`, e.g. `0003`. */
  item: string;
  reason: string;
  message: string;
  issues?: string[];
  /** The file to open first, relative to the run folder. */
  artifact?: string;
}

/** Per-call options of `ctx.callModel`, instead of the task's own. */
export interface CallModelOptions {
  /** The reply's schema: a zod schema, or `null` for plain text. Default: the task's `output`. */
  schema?: z.ZodType | null;
  /** A `provider:model` spec, an alias from pipeline.json `models`, or a list (fallbacks). */
  model?: string | string[];
}

/** A quality check passes with nothing, true or []; it fails with false, a message, or a list of them. */
// biome-ignore lint/suspicious/noConfusingVoidType: a check that returns nothing passes.
export type QualityResult = void | undefined | boolean | string | Array<string | { path?: string; message: string }>;

export interface TaskContext {
  runId: string;
  /** This step's name in pipeline.json. */
  task: string;
  /** Process attempt of this task, from 1. */
  attempt: number;
  /** How many re-prompts this attempt has made so far. */
  refinement: number;
  config: Record<string, unknown>;
  seed: Seed;
  /** The values of every task upstream (its needs, theirs, and so on), by task name. */
  inputs: Record<string, unknown>;
  /** Model specs to try, in order. */
  models: string[];
  /** JSON Schema of the output, when the task has one. */
  outputJsonSchema: Record<string, unknown> | undefined;
  /** pino-style logger writing to task.log: `ctx.log.info({ fields }, 'message')`. */
  log: TaskLogger;
  /** Aborted when the task must stop (time limit, shutdown). */
  signal: AbortSignal;
  /** Write an extra file into this task's folder for people to open (e.g. `brief.md`). */
  writeArtifact(name: string, content: string | object): Promise<string>;
  /** In a fan-out task's per-item stages (prompt to critique): which item this is. */
  item?: ItemPosition;
  /** In a fan-out task's finalize with `itemFailures: "skip"`: the items that failed ([] if none). */
  failedItems?: FailedItem[];
  /**
   * Call a model: the task's models with fallbacks and structured output, or those of `options`.
   * Every call is counted in the task's usage and cost and leaves its own `04-response*.json`.
   */
  callModel(messages: Message[], options?: CallModelOptions): Promise<InferenceResult>;
}

export type CritiqueContext<C extends TaskContext = TaskContext> = C & { reply: string };
/** The context of a fan-out task's per-item stages (prompt to critique). */
export type ItemTaskContext = TaskContext & { item: ItemPosition };
/** The context of a fan-out task's finalize. */
export type FinalizeItemsContext = TaskContext & { failedItems: FailedItem[] };

type Awaitable<T> = T | Promise<T>;
export type OutputOf<S> = S extends z.ZodType ? z.output<S> : string;

/** The stages every task may define, whatever it produces. */
interface CommonStages<S extends z.ZodType | undefined, D, P, C extends TaskContext> {
  description?: string;
  /** zod schema of the task's value (of each item's, in a fan-out); sent as JSON Schema, checked on every reply. */
  output?: S;
  /** 1. Gather the inputs. Default: `{ seed, inputs }`. */
  ingest?: (ctx: TaskContext) => Awaitable<D>;
  /** 2. Shape the inputs (truncate, chunk). Default: unchanged. */
  preprocess?: (data: D, ctx: TaskContext) => Awaitable<P>;
  /** 4. Call a model. Default: `ctx.callModel(messages)`. */
  infer?: (messages: Message[], ctx: C) => Awaitable<InferenceResult>;
  /** 5. Turn the reply into a value. Default: JSON (fenced or bare) with a schema, else the text. */
  parse?: (text: string, ctx: C) => Awaitable<unknown>;
  /** 6. Quality check, run after the schema check passes. */
  validate?: (value: OutputOf<S>, ctx: C) => Awaitable<QualityResult>;
  /** 7. Feedback for the re-prompt. Default: the issues listed, with a request to answer again. */
  critique?: (issues: ValidationIssue[], ctx: CritiqueContext<C>) => Awaitable<string>;
}

/**
 * A task of one prompt: an optional output schema and optional functions for the eight stages.
 * Only `prompt` is required; every other stage has a default (see docs/writing-tasks.md).
 */
export interface SingleTaskDefinition<S extends z.ZodType | undefined = z.ZodType | undefined, D = Ingested, P = D, R = unknown>
  extends CommonStages<S, D, P, TaskContext> {
  each?: undefined;
  /** 3. The prompt. */
  prompt: (data: P, ctx: TaskContext) => Awaitable<PromptResult>;
  /** 8. The value to persist in output.json. Default: the validated value. */
  finalize?: (value: OutputOf<S>, ctx: TaskContext) => Awaitable<R>;
}

/**
 * A fan-out task: `each` turns the pre-processed data into items, stages 3–7 run once per item
 * (`ctx.item` says which; `output` and `validate` apply to each item's value), and `finalize`
 * gets the item values in item order.
 */
export interface FanOutTaskDefinition<S extends z.ZodType | undefined = z.ZodType | undefined, D = Ingested, P = D, I = unknown, R = unknown>
  extends CommonStages<S, D, P, ItemTaskContext> {
  /** 2b. The items, after pre-processing (chunks of a document, facts of an earlier task, ...). */
  each: (data: P, ctx: TaskContext) => Awaitable<readonly I[]>;
  /** 3. The prompt for one item. */
  prompt: (item: I, ctx: ItemTaskContext) => Awaitable<PromptResult>;
  /** 8. The task's value from the item values, in item order. Default: the list of values. */
  finalize?: (values: OutputOf<S>[], ctx: FinalizeItemsContext) => Awaitable<R>;
}

export type TaskDefinition<S extends z.ZodType | undefined = z.ZodType | undefined, D = Ingested, P = D, I = unknown> =
  | SingleTaskDefinition<S, D, P>
  | FanOutTaskDefinition<S, D, P, I>;

/** Declare a task module; the identity at run time, it gives plain `.js` task files their types. */
export function defineTask<S extends z.ZodType | undefined = undefined, D = Ingested, P = D, I = unknown, R = NoFinalize>(
  definition: FanOutTaskDefinition<S, D, P, I, R>,
): FanOutTaskDefinition<S, D, P, I, R>;
export function defineTask<S extends z.ZodType | undefined = undefined, D = Ingested, P = D, R = NoFinalize>(
  definition: SingleTaskDefinition<S, D, P, R>,
): SingleTaskDefinition<S, D, P, R>;
export function defineTask(definition: TaskDefinition): TaskDefinition {
  return definition;
}

/** What `defineTask` records, as the type of finalize's value, for a task without a finalize stage. */
declare const noFinalize: unique symbol;
export type NoFinalize = typeof noFinalize;

/** The value a task hands on (its output.json `value`): what its finalize returns, else its output. */
export type ValueOf<T> = [FinalizedOf<T>] extends [NoFinalize]
  ? T extends { each: (...args: never[]) => unknown }
    ? OutputOf<SchemaOf<T>>[]
    : OutputOf<SchemaOf<T>>
  : FinalizedOf<T>;
type FinalizedOf<T> = T extends { finalize?: (...args: never[]) => infer R } ? Awaited<R> : NoFinalize;
type SchemaOf<T> = T extends { output?: infer S } ? S : undefined;

/** `defineTask`, for tasks whose ingested `inputs` have the type `Inputs`. */
export interface DefineTask<Inputs> {
  <S extends z.ZodType | undefined = undefined, D = Ingested<Inputs>, P = D, I = unknown, R = NoFinalize>(
    definition: FanOutTaskDefinition<S, D, P, I, R>,
  ): FanOutTaskDefinition<S, D, P, I, R>;
  <S extends z.ZodType | undefined = undefined, D = Ingested<Inputs>, P = D, R = NoFinalize>(
    definition: SingleTaskDefinition<S, D, P, R>,
  ): SingleTaskDefinition<S, D, P, R>;
}

/**
 * Typed `inputs` for a task that needs others: `needing({ outline }).defineTask({ ... })` gives the
 * prompt `inputs.outline` with the type of the outline task's value. Only types: at run time the
 * inputs are those pipeline.json's `needs` bring, whatever is named here.
 */
export function needing<T extends Record<string, object>>(_tasks: T): { defineTask: DefineTask<{ [K in keyof T]: ValueOf<T[K]> } & Record<string, unknown>> } {
  return { defineTask: defineTask as DefineTask<{ [K in keyof T]: ValueOf<T[K]> } & Record<string, unknown>> };
}
