import type { TaskLogger } from './task-log.js';
import type { z } from 'zod';
import type { Letter } from '../formats/letter.js';
import type { Output } from '../formats/output.js';
import type { Price, ProviderConfig } from '../formats/pipeline.js';
import type { TaskFailure } from '../formats/task-failure.js';
import { addUsage, emptyUsage } from '../util/usage.js';
import type { Usage } from '../formats/usage.js';
import { ArtifactWriter } from './artifacts.js';
import { AllModelsFailedError, callModels } from './inference.js';
import { renderPromptMarkdown, toMessages } from './messages.js';
import { extractJson } from './extract-json.js';
import { defaultFeedback, describeIssue, qualityIssues, structureIssues } from './validation.js';
import { addCost, costOf } from './cost.js';
import type { Ingested, InferenceResult, Message, TaskContext, TaskDefinition, ValidationIssue } from './task-api.js';

export type Stage = 'ingestion' | 'pre-processing' | 'prompt' | 'inference' | 'parsing' | 'validation' | 'critique' | 'finalization';

export interface TaskRunSetup {
  letter: Letter;
  taskDir: string;
  definition: TaskDefinition;
  seed: Record<string, unknown>;
  inputs: Record<string, unknown>;
  providers: Record<string, ProviderConfig> | undefined;
  prices: Record<string, Price> | undefined;
  log: TaskLogger;
  signal: AbortSignal;
  onStage: (stage: Stage, call: number) => void;
}

export type TaskRunResult =
  | { ok: true; output: Output }
  | { ok: false; error: TaskFailure; usage: Usage; refinements: number; costUsd: number | undefined };

/** A stage function threw: carries the stage so the failure says where. */
class StageError extends Error {
  constructor(
    readonly stage: Stage,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * Run one attempt of one task through the eight stages, leaving an artifact per stage. Failed
 * validation loops back to inference with the critique's feedback until maxRefinements is spent.
 */
export async function runTask(setup: TaskRunSetup): Promise<TaskRunResult> {
  const { letter, definition: task, log } = setup;
  const artifacts = await ArtifactWriter.open(setup.taskDir, (artifact, variables) => log.warn({ event: 'secrets-redacted', artifact, variables }, 'API keys taken out of an artifact'));
  const schema = task.output as z.ZodType | undefined;
  // zod's JSON Schema export is loaded only by tasks that have a schema (and so load zod anyway).
  const outputJsonSchema = schema ? (await import('../formats/all-schemas.js')).jsonSchemaOf(schema) : undefined;
  let usage = emptyUsage();
  let costUsd: number | undefined;
  let refinements = 0;
  let call = 0;
  let lastArtifact: string | undefined;
  /** The stage whose artifact is being written: a value JSON cannot hold (a BigInt, a cycle) fails there. */
  let current: Stage = 'ingestion';

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
    callModel: (messages: Message[]) =>
      callModels(
        { models: letter.model, providers: setup.providers, schema: outputJsonSchema, schemaName: letter.task.replace(/-/g, '_'), mock: letter.mock, maxRetries: letter.maxRetries, signal: setup.signal, log },
        messages,
        call,
      ),
  };

  const stage = async <T>(name: Stage, body: () => T | Promise<T>): Promise<T> => {
    current = name;
    setup.onStage(name, call);
    log.info({ event: 'stage-started', stage: name, call }, name);
    try {
      return await body();
    } catch (error) {
      if (error instanceof StageError || error instanceof AllModelsFailedError) throw error;
      throw new StageError(name, error);
    }
  };
  /** A failed attempt, with what it used so far. */
  const failed = (error: TaskFailure): TaskRunResult => ({ ok: false, usage, refinements, costUsd, error });
  const write = async (name: string, content: unknown) => {
    try {
      lastArtifact = await artifacts.write(name, content);
    } catch (error) {
      throw new StageError(current, error);
    }
  };

  try {
    const ingested = await stage('ingestion', () => (task.ingest ? task.ingest(ctx) : ({ seed: setup.seed, inputs: setup.inputs } satisfies Ingested)));
    await write(artifacts.freeName('01-ingestion', 'json'), ingested ?? null);

    const prepared = await stage('pre-processing', () => (task.preprocess ? task.preprocess(ingested, ctx) : ingested));
    await write(artifacts.freeName('02-preprocessed', 'json'), prepared ?? null);

    let messages = await stage('prompt', async () => toMessages(await task.prompt(prepared, ctx)));
    const header = `task ${letter.task} · run ${letter.runId} · attempt ${letter.attempt} · models ${letter.model.join(', ')}`;
    await write(artifacts.freeName('03-prompt', 'md'), renderPromptMarkdown(messages, header, outputJsonSchema));
    await write(artifacts.freeName('03-prompt', 'json'), { messages, schema: outputJsonSchema ?? null });

    for (;;) {
      call = artifacts.nextCall();
      ctx.refinement = refinements;

      const reply: InferenceResult = await stage('inference', () => (task.infer ? task.infer(messages, ctx) : ctx.callModel(messages)));
      const callUsage = { ...reply.usage, calls: 1 };
      usage = addUsage(usage, callUsage);
      costUsd = addCost(costUsd, costOf(reply.usage, reply.model, setup.prices));
      await write(artifacts.callName('04-response', call), { call, model: reply.model, text: reply.text, usage: reply.usage, latencyMs: reply.latencyMs ?? null, skipped: reply.skipped ?? [] });

      const parsed = await stage('parsing', async (): Promise<{ ok: true; value: unknown } | { ok: false; issue: ValidationIssue }> => {
        if (task.parse) return { ok: true, value: await task.parse(reply.text, ctx) };
        if (!schema) return reply.text.trim() ? { ok: true, value: reply.text } : { ok: false, issue: { kind: 'parse', message: 'the reply was empty' } };
        const json = extractJson(reply.text);
        return json.ok ? { ok: true, value: json.value } : { ok: false, issue: { kind: 'parse', message: json.error } };
      });
      await write(artifacts.callName('05-parsed', call), parsed.ok ? { ok: true, value: parsed.value } : { ok: false, error: parsed.issue.message });

      const checked = await stage('validation', async () => {
        if (!parsed.ok) return { value: undefined, issues: [parsed.issue] };
        const structure = schema ? structureIssues(schema, parsed.value) : { value: parsed.value, issues: [] };
        if (structure.issues.length || !task.validate) return structure;
        return { value: structure.value, issues: qualityIssues(await task.validate(structure.value as never, ctx)) };
      });
      await write(artifacts.callName('06-validation', call), { call, ok: checked.issues.length === 0, issues: checked.issues });

      if (checked.issues.length === 0) {
        const value = await stage('finalization', () => (task.finalize ? task.finalize(checked.value as never, ctx) : checked.value));
        const output: Output = {
          task: letter.task,
          value: value ?? null,
          model: reply.model,
          usage,
          refinements,
          ...(costUsd === undefined ? {} : { costUsd }),
          finishedAt: new Date().toISOString(),
        };
        await artifacts.writeOutput(output);
        return { ok: true, output };
      }

      if (refinements >= letter.maxRefinements) {
        const issues = checked.issues.map(describeIssue);
        return failed({
          reason: 'refinements-exhausted',
          stage: 'validation',
          message: `the reply still failed validation after ${refinements} refinement${refinements === 1 ? '' : 's'}: ${issues.join('; ')}`,
          issues,
          artifact: `tasks/${letter.task}/${artifacts.callName('06-validation', call)}`,
        });
      }

      const feedback = await stage('critique', () =>
        task.critique ? task.critique(checked.issues, { ...ctx, reply: reply.text }) : defaultFeedback(checked.issues, schema !== undefined),
      );
      if (typeof feedback !== 'string' || feedback.trim() === '') throw new StageError('critique', new TypeError('critique must return the feedback text'));
      await write(artifacts.callName('07-critique', call), { afterCall: call, issues: checked.issues, feedback });
      messages = [...messages, { role: 'assistant', content: reply.text }, { role: 'user', content: feedback }];
      refinements++;
    }
  } catch (error) {
    const artifact = lastArtifact ? { artifact: `tasks/${letter.task}/${lastArtifact}` } : {};
    if (error instanceof AllModelsFailedError) {
      return failed({
        reason: 'provider-failed',
        stage: 'inference',
        message: `every model failed: ${error.message}`,
        issues: error.failures.map((f) => `${f.provider}:${f.model}: ${f.reason}: ${f.message}`),
        ...artifact,
      });
    }
    const stageError = error instanceof StageError ? error : new StageError('finalization', error);
    const cause = stageError.cause;
    return failed({
      reason: 'task-threw',
      stage: stageError.stage,
      message: `${stageError.stage} threw: ${stageError.message}`,
      ...(cause instanceof Error && cause.stack ? { stack: cause.stack } : {}),
      ...artifact,
    });
  }
}
