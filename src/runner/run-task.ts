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
import { failureOf, StageError, stageRunner, writeFor, type Stage } from './stage.js';
import { defaultStageArtifact } from './stage-references.js';
import type { Ingested, TaskContext, TaskDefinition } from './task-api.js';
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

/**
 * Run one attempt of one task through the eight stages, leaving an artifact per stage. Stages 3–7
 * run once (prompt-loop.ts), or once per item when the task has `each` (items.ts).
 */
export async function runTask(setup: TaskRunSetup): Promise<TaskRunResult> {
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
  let refinements = 0;
  let escalations = 0;
  const stage = stageRunner(log, artifacts, setup.onStage);
  const textNotes = recordTextNotes(log, () => stage.current, setup.onTruncated);
  const { truncated } = textNotes;

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
  const failed = (error: TaskFailure): TaskRunResult => ({ ok: false, usage: meter.usage, refinements, costUsd: meter.costUsd, error });
  const header = `task ${letter.task} · run ${letter.runId} · attempt ${letter.attempt} · models ${letter.model.join(', ')}`;

  try {
    const ingested = await stage('ingestion', () => (task.ingest ? task.ingest(ctx) : ({ seed: setup.seed, inputs: setup.inputs } satisfies Ingested)));
    const references = defaultStageArtifact(letter.inputs);
    const ingestion = artifacts.freeName('01-ingestion', 'json');
    await write(ingestion, task.ingest ? (ingested ?? null) : references);

    const prepared = await stage('pre-processing', () => (task.preprocess ? task.preprocess(ingested as never, ctx) : ingested));
    // Passed through unchanged: a reference, to the ingestion artifact or to what it references.
    await write(artifacts.freeName('02-preprocessed', 'json'), task.preprocess ? (prepared ?? null) : task.ingest ? { $ref: ingestion } : references);

    let value: unknown;
    let model: string | null;
    let items: Output['items'];
    if (task.each) {
      const each = task.each;
      const list = await stage('items', async () => {
        const returned = await each(prepared as never, ctx);
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
          defaults,
          meter,
          log,
          schema,
          outputJsonSchema,
          artifacts,
          onRedacted,
          onItems: (counts) => setup.onItems?.(counts),
        },
        list,
      ).catch((error: unknown) => {
        throw error instanceof StageError || error instanceof CallParkedError ? error : new StageError('items', error);
      });
      refinements = outcome.refinements;
      if (!outcome.ok) return failed(outcome.error);
      escalations = outcome.escalations;
      const finalCtx = { ...ctx, failedItems: outcome.failedItems };
      value = await stage('finalization', () => (task.finalize ? task.finalize(outcome.values as never, finalCtx) : outcome.values));
      model = outcome.model;
      items = { ...outcome.counts, failedItems: outcome.failedItems };
    } else {
      const escalate = { rungs: letter.escalate ?? [], after: letter.escalateAfter ?? 1 };
      const result = await runPromptLoop(
        {
          task,
          ctx,
          caller,
          artifacts,
          folder: `tasks/${letter.task}`,
          schema,
          outputJsonSchema,
          maxRefinements: letter.maxRefinements,
          escalate,
          header,
          stage,
        },
        prepared,
      );
      refinements = result.refinements;
      escalations = result.escalations;
      if (!result.ok) return failed(result.error);
      const checked = result.value;
      value = await stage('finalization', () => (task.finalize ? task.finalize(checked as never, ctx) : checked));
      model = result.model;
    }

    // The calls this attempt made: the manager adds each attempt's to the task's totals, so items
    // reused from an earlier attempt (whose calls that attempt reported) are not counted again.
    const costUsd = meter.costUsd;
    const output: Output = {
      task: letter.task,
      attempt: letter.attempt,
      value: value ?? null,
      model,
      usage: meter.usage,
      refinements,
      ...(escalations ? { escalations } : {}),
      ...(costUsd === undefined ? {} : { costUsd }),
      ...(items ? { items } : {}),
      ...(truncated.length ? { truncated } : {}),
      finishedAt: new Date().toISOString(),
    };
    await artifacts.writeOutput(output);
    caller.keepTheRest();
    return { ok: true, output };
  } catch (error) {
    if (error instanceof CallParkedError) {
      return { ok: false, parked: error.provider, usage: meter.usage, refinements };
    }
    return failed(failureOf(error, artifacts.lastWritten ? `tasks/${letter.task}/${artifacts.lastWritten}` : undefined));
  } finally {
    textNotes.stop();
  }
}
