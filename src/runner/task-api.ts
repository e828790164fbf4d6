import type { z } from 'zod';
import type { TaskLogger } from './task-log.js';

export type Role = 'system' | 'user' | 'assistant';
export interface Message {
  role: Role;
  content: string;
}

/** What a prompt stage may return: plain text (one user message), system + user, or a full message list. */
export type PromptResult = string | { system?: string; user: string } | Message[];

/** The default ingestion: the seed and the values of every earlier task, by task name. */
export interface Ingested {
  seed: Record<string, unknown>;
  inputs: Record<string, unknown>;
}

export interface InferenceResult {
  text: string;
  /** `provider:model` that answered. */
  model: string | null;
  usage: { inputTokens: number; outputTokens: number };
  latencyMs?: number;
  /** Models tried before this one, with why they were skipped. */
  skipped?: Array<{ model: string; reason: string; message: string }>;
}

export type IssueKind = 'parse' | 'structure' | 'quality';
export interface ValidationIssue {
  kind: IssueKind;
  path?: string;
  message: string;
}

/** A quality check passes with nothing, true or []; it fails with false, a message, or a list of them. */
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
  seed: Record<string, unknown>;
  /** The finished values of earlier tasks, by task name. */
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
  /** The default inference: the task's models with fallbacks and structured output. */
  callModel(messages: Message[]): Promise<InferenceResult>;
}

export type CritiqueContext = TaskContext & { reply: string };

type Awaitable<T> = T | Promise<T>;
export type OutputOf<S> = S extends z.ZodType ? z.output<S> : string;

/**
 * A task: an optional output schema and optional functions for the eight stages. Only `prompt`
 * is required; every other stage has a default (see the README).
 */
export interface TaskDefinition<S extends z.ZodType | undefined = z.ZodType | undefined, D = Ingested, P = D> {
  description?: string;
  /** zod schema of the task's value; sent to the model as JSON Schema and checked on every reply. */
  output?: S;
  /** 1. Gather the inputs. Default: `{ seed, inputs }`. */
  ingest?: (ctx: TaskContext) => Awaitable<D>;
  /** 2. Shape the inputs (truncate, chunk). Default: unchanged. */
  preprocess?: (data: D, ctx: TaskContext) => Awaitable<P>;
  /** 3. The prompt. */
  prompt: (data: P, ctx: TaskContext) => Awaitable<PromptResult>;
  /** 4. Call a model. Default: `ctx.callModel(messages)`. */
  infer?: (messages: Message[], ctx: TaskContext) => Awaitable<InferenceResult>;
  /** 5. Turn the reply into a value. Default: JSON (fenced or bare) with a schema, else the text. */
  parse?: (text: string, ctx: TaskContext) => Awaitable<unknown>;
  /** 6. Quality check, run after the schema check passes. */
  validate?: (value: OutputOf<S>, ctx: TaskContext) => Awaitable<QualityResult>;
  /** 7. Feedback for the re-prompt. Default: the issues listed, with a request to answer again. */
  critique?: (issues: ValidationIssue[], ctx: CritiqueContext) => Awaitable<string>;
  /** 8. The value to persist in output.json. Default: the validated value. */
  finalize?: (value: OutputOf<S>, ctx: TaskContext) => Awaitable<unknown>;
}

/** Declare a task module; the identity at run time, it gives plain `.js` task files their types. */
export function defineTask<S extends z.ZodType | undefined = undefined, D = Ingested, P = D>(
  definition: TaskDefinition<S, D, P>,
): TaskDefinition<S, D, P> {
  return definition;
}
