import type { z } from 'zod';
import type { ItemProgress, Truncation } from '../formats/items.js';
import type { Letter } from '../formats/letter.js';
import type { Output } from '../formats/output.js';
import type { Price, ProviderConfig } from '../formats/pipeline.js';
import type { TaskFailure } from '../formats/task-failure.js';
import type { Usage } from '../formats/usage.js';
import { ArtifactWriter, type OnRedacted } from './artifacts.js';
import { ModelCaller, UsageMeter, type CallDefaults } from './model-caller.js';
import { runPromptLoop } from './prompt-loop.js';
import { CallParkedError } from './inference.js';
import { failureOf, StageError, stageRunner, writeFor, type Stage, type StageRunner } from './stage.js';
import { defaultStageArtifact } from './stage-references.js';
import type { FanOutTaskDefinition, Ingested, SingleTaskDefinition, TaskContext, TaskDefinition } from './task-api.js';
import type { TaskLogger } from './task-log.js';
import { recordTextNotes } from './text-notes.js';

export type { Stage } from './stage.js';

export interface TaskRunSetup {
  letter: Letter;
  taskDir: string;
  definition: TaskDefinition;
  seed: Record<string, unknown>;
  inputs: Record<string, unknown>;
  providers: Record<string, ProviderConfig> | undefined;
  prices: Record<string, Price> | undefined;
  /** pipeline.json `models`: aliases a call may name. */
  aliases?: Record<string, string | string[]> | undefined;
  log: TaskLogger;
  signal: AbortSignal;
  onStage: (stage: Stage, call: number) => void;
  /** A fan-out task's progress. */
  onItems?: (progress: ItemProgress) => void;
  /** A text truncateToTokens cut. */
  onTruncated?: (truncation: Truncation) => void;
}

export type TaskRunResult =
  | { ok: true; output: Output }
  | { ok: false; error: TaskFailure; usage: Usage; refinements: number; costUsd: number | undefined }
  /** Calls wait for the Batch API: the attempt runs again once they are answered. */
  | { ok: false; parked: string; usage: Usage; refinements: number };

/** What the parts of one attempt share: its setup, artifacts, model caller and stages. */
interface TaskRun {
  setup: TaskRunSetup;
  letter: Letter;
  task: TaskDefinition;
  log: TaskLogger;
  onRedacted: OnRedacted;
  artifacts: ArtifactWriter;
  schema: z.ZodType | undefined;
  outputJsonSchema: Record<string, unknown> | undefined;
  meter: UsageMeter;
  defaults: CallDefaults;
  caller: ModelCaller;
  stage: StageRunner;
  textNotes: { truncated: Truncation[]; stop: () => void };
  ctx: TaskContext;
  write: (name: string, content: unknown) => Promise<void>;
  /** Kept up to date as the attempt goes: a failure reports the refinements made before it. */
  refinements: number;
  escalations: number;
}

/** How stages 3–7 (and finalization) ended, once or per item: the value, or why not. */
type Ended = { ok: true; value: unknown; model: string | null; items?: Output['items'] } | { ok: false; error: TaskFailure };

/**
 * Run one attempt of one task through the eight stages, leaving an artifact per stage. Stages 3–7
 * run once (prompt-loop.ts), or once per item when the task has `each` (items.ts).
 */
export async function runTask(setup: TaskRunSetup): Promise<TaskRunResult> {
  const run = await openTaskRun(setup);
  const { meter, artifacts } = run;
  const failed = (error: TaskFailure): TaskRunResult => ({ ok: false, usage: meter.usage, refinements: run.refinements, costUsd: meter.costUsd, error });
  try {
    const prepared = await ingestAndPrepare(run);
    const { task } = run;
    const ended = task.each ? await runFanOut(run, task, prepared) : await runSinglePrompt(run, task, prepared);
    if (!ended.ok) return failed(ended.error);
    return { ok: true, output: await writeTaskOutput(run, ended) };
  } catch (error) {
    if (error instanceof CallParkedError) return { ok: false, parked: error.provider, usage: meter.usage, refinements: run.refinements };
    return failed(failureOf(error, artifacts.lastWritten ? `tasks/${run.letter.task}/${artifacts.lastWritten}` : undefined));
  } finally {
    run.textNotes.stop();
  }
}

/** Everything an attempt needs before its first stage: the artifact writer, the model caller, the task's context. */
async function openTaskRun(setup: TaskRunSetup): Promise<TaskRun> {
  const { letter, definition: task, log } = setup;
  const onRedacted: OnRedacted = (artifact, variables) => log.warn({ event: 'secrets-redacted', artifact, variables }, 'API keys taken out of an artifact');
  const artifacts = await ArtifactWriter.open(setup.taskDir, onRedacted);
  const schema = task.output as z.ZodType | undefined;
  // zod's JSON Schema export is loaded only by tasks that have a schema (and so load zod anyway).
  const outputJsonSchema = schema ? (await import('../formats/all-schemas.js')).jsonSchemaOf(schema) : undefined;
  const meter = new UsageMeter();
  const defaults: CallDefaults = {
    task: letter.task,
    models: letter.model,
    aliases: setup.aliases,
    schema: outputJsonSchema,
    providers: setup.providers,
    prices: setup.prices,
    mock: letter.mock,
    maxRetries: letter.maxRetries,
    signal: setup.signal,
  };
  const caller = new ModelCaller(defaults, artifacts, meter, log);
  const stage = stageRunner(log, artifacts, setup.onStage);
  const textNotes = recordTextNotes(log, () => stage.current, setup.onTruncated);

  const ctx: TaskContext = {
    runId: letter.runId,
    task: letter.task,
    attempt: letter.attempt,
    refinement: 0,
    config: letter.config,
    seed: setup.seed,
    inputs: setup.inputs,
    models: letter.model,
    outputJsonSchema,
    log,
    signal: setup.signal,
    writeArtifact: (name, content) => {
      if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) throw new Error(`artifact name "${name}" must be a plain file name`);
      return artifacts.write(name, content);
    },
    callModel: (messages, options) => caller.call(messages, options, true),
  };
  const write = (name: string, content: unknown) => writeFor(stage, artifacts, name, content);
  return {
    setup,
    letter,
    task,
    log,
    onRedacted,
    artifacts,
    schema,
    outputJsonSchema,
    meter,
    defaults,
    caller,
    stage,
    textNotes,
    ctx,
    write,
    refinements: 0,
    escalations: 0,
  };
}

/** Stages 1 and 2, each leaving its artifact: what the task works on. */
async function ingestAndPrepare(run: TaskRun): Promise<unknown> {
  const { setup, letter, task, ctx, artifacts, stage, write } = run;
  const ingested = await stage('ingestion', () => (task.ingest ? task.ingest(ctx) : ({ seed: setup.seed, inputs: setup.inputs } satisfies Ingested)));
  const references = defaultStageArtifact(letter.inputs);
  const ingestion = artifacts.freeName('01-ingestion', 'json');
  await write(ingestion, task.ingest ? (ingested ?? null) : references);

  const prepared = await stage('pre-processing', () => (task.preprocess ? task.preprocess(ingested as never, ctx) : ingested));
  // Passed through unchanged: a reference, to the ingestion artifact or to what it references.
  await write(artifacts.freeName('02-preprocessed', 'json'), task.preprocess ? (prepared ?? null) : task.ingest ? { $ref: ingestion } : references);
  return prepared;
}

/** A task with `each`: stages 3–7 once per item (items.ts), then finalization over the items' values. */
async function runFanOut(run: TaskRun, task: FanOutTaskDefinition, prepared: unknown): Promise<Ended> {
  const { setup, letter, ctx, stage } = run;
  const list = await stage('items', async () => {
    const returned = await task.each(prepared as never, ctx);
    if (!Array.isArray(returned)) throw new TypeError(`each must return a list of items, not ${returned === null ? 'null' : typeof returned}`);
    return returned as unknown[];
  });
  // Loaded only by fan-out tasks: module loading is most of a task process's start-up.
  const { runItems } = await import('./items.js');
  const outcome = await runItems(
    {
      letter,
      taskDir: setup.taskDir,
      task,
      ctx,
      defaults: run.defaults,
      meter: run.meter,
      log: run.log,
      schema: run.schema,
      outputJsonSchema: run.outputJsonSchema,
      artifacts: run.artifacts,
      onRedacted: run.onRedacted,
      onItems: (counts) => setup.onItems?.(counts),
    },
    list,
  ).catch((error: unknown) => {
    throw error instanceof StageError || error instanceof CallParkedError ? error : new StageError('items', error);
  });
  run.refinements = outcome.refinements;
  if (!outcome.ok) return { ok: false, error: outcome.error };
  run.escalations = outcome.escalations;
  const finalCtx = { ...ctx, failedItems: outcome.failedItems };
  const value = await stage('finalization', () => (task.finalize ? task.finalize(outcome.values as never, finalCtx) : outcome.values));
  return { ok: true, value, model: outcome.model, items: { ...outcome.counts, failedItems: outcome.failedItems } };
}

/** A task without `each`: stages 3–7 once (prompt-loop.ts), then finalization. */
async function runSinglePrompt(run: TaskRun, task: SingleTaskDefinition, prepared: unknown): Promise<Ended> {
  const { letter, ctx, stage } = run;
  const escalate = { rungs: letter.escalate ?? [], after: letter.escalateAfter ?? 1 };
  const header = `task ${letter.task} · run ${letter.runId} · attempt ${letter.attempt} · models ${letter.model.join(', ')}`;
  const result = await runPromptLoop(
    {
      task,
      ctx,
      caller: run.caller,
      artifacts: run.artifacts,
      folder: `tasks/${letter.task}`,
      schema: run.schema,
      outputJsonSchema: run.outputJsonSchema,
      maxRefinements: letter.maxRefinements,
      escalate,
      header,
      stage,
    },
    prepared,
  );
  run.refinements = result.refinements;
  run.escalations = result.escalations;
  if (!result.ok) return { ok: false, error: result.error };
  const checked = result.value;
  const value = await stage('finalization', () => (task.finalize ? task.finalize(checked as never, ctx) : checked));
  return { ok: true, value, model: result.model };
}

/** output.json, the mark of a finished attempt; then the calls' answers may be kept in the cache. */
async function writeTaskOutput(run: TaskRun, ended: Extract<Ended, { ok: true }>): Promise<Output> {
  const { letter, meter, refinements, escalations } = run;
  const { truncated } = run.textNotes;
  // The calls this attempt made: the manager adds each attempt's to the task's totals, so items
  // reused from an earlier attempt (whose calls that attempt reported) are not counted again.
  const costUsd = meter.costUsd;
  const output: Output = {
    task: letter.task,
    attempt: letter.attempt,
    value: ended.value ?? null,
    model: ended.model,
    usage: meter.usage,
    refinements,
    ...(escalations ? { escalations } : {}),
    ...(costUsd === undefined ? {} : { costUsd }),
    ...(ended.items ? { items: ended.items } : {}),
    ...(truncated.length ? { truncated } : {}),
    finishedAt: new Date().toISOString(),
  };
  await run.artifacts.writeOutput(output);
  run.caller.keepTheRest();
  return output;
}
