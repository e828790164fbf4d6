import type { z } from 'zod';
import type { TaskFailure } from '../formats/task-failure.js';
import type { ArtifactWriter } from './artifacts.js';
import { extractJson } from './extract-json.js';
import { renderPromptMarkdown, toMessages } from './messages.js';
import type { ModelCaller } from './model-caller.js';
import { CallParkedError } from './inference.js';
import { failureOf, StageError, writeFor, type StageRunner } from './stage.js';
import type { InferenceResult, Message, TaskContext, TaskDefinition, ValidationIssue } from './task-api.js';
import { defaultFeedback, describeIssue, qualityIssues, structureIssues } from './validation.js';

/** One prompt's stages 3–7, in one folder: the task's own, or one item's of a fan-out. */
export interface PromptLoopSetup {
  task: TaskDefinition;
  ctx: TaskContext;
  caller: ModelCaller;
  artifacts: ArtifactWriter;
  /** The folder relative to the run folder (`tasks/<task>` or `tasks/<task>/items/0003`), for errors. */
  folder: string;
  schema: z.ZodType | undefined;
  outputJsonSchema: Record<string, unknown> | undefined;
  maxRefinements: number;
  /** The escalation ladder: each rung's models above the task's own, and refinements per rung before moving up. */
  escalate: { rungs: string[][]; after: number };
  /** The first line of 03-prompt.md. */
  header: string;
  stage: StageRunner;
}

export type PromptLoopResult =
  | { ok: true; value: unknown; model: string | null; refinements: number; escalations: number; prompt: Message[] }
  | { ok: false; error: TaskFailure; refinements: number; escalations: number };

type Parsed = { ok: true; value: unknown } | { ok: false; issue: ValidationIssue };

/**
 * Prompt, then infer, parse and validate; a reply that fails goes back to the model with the
 * critique's feedback until maxRefinements is spent. Every step leaves its numbered artifact.
 */
export async function runPromptLoop(setup: PromptLoopSetup, data: unknown): Promise<PromptLoopResult> {
  const { task, ctx, caller, artifacts, schema, stage } = setup;
  // A fan-out task's stages are typed for a context with `item`; the runner hands them one.
  const stageCtx = ctx as never;
  const write = (name: string, content: unknown) => writeFor(stage, artifacts, name, content);
  const recordOwn = (reply: InferenceResult) =>
    caller.recordOwnReply(reply).catch((error: unknown) => {
      throw new StageError('inference', error);
    });
  let refinements = 0;
  // The rung calls go to, and the refinements made on it so far.
  let rung = 0;
  let onRung = 0;
  try {
    const prompt = await stage('prompt', async () => toMessages(await task.prompt(data as never, stageCtx)));
    let messages = prompt;
    await write(artifacts.freeName('03-prompt', 'md'), renderPromptMarkdown(messages, setup.header, setup.outputJsonSchema));
    await write(artifacts.freeName('03-prompt', 'json'), { messages, schema: setup.outputJsonSchema ?? null });

    for (;;) {
      ctx.refinement = refinements;
      caller.refinement = refinements;
      const before = caller.made;
      const reply: InferenceResult = await stage('inference', () => (task.infer ? task.infer(messages, stageCtx) : caller.call(messages)));
      // The reply's own call; else the last call the infer made; else it made none through
      // ctx.callModel, and its reply counts as a call of its own.
      const call = caller.callOf(reply) ?? (caller.made > before ? caller.lastCall : await recordOwn(reply));

      const parsed = await stage('parsing', async (): Promise<Parsed> => {
        if (task.parse) return { ok: true, value: await task.parse(reply.text, stageCtx) };
        if (!schema) return reply.text.trim() ? { ok: true, value: reply.text } : { ok: false, issue: { kind: 'parse', message: 'the reply was empty' } };
        const json = extractJson(reply.text);
        return json.ok ? { ok: true, value: json.value } : { ok: false, issue: { kind: 'parse', message: json.error } };
      });
      await write(artifacts.callName('05-parsed', call), parsed.ok ? { ok: true, value: parsed.value } : { ok: false, error: parsed.issue.message });

      const checked = await stage('validation', async () => {
        if (!parsed.ok) return { value: undefined, issues: [parsed.issue] };
        const structure = schema ? structureIssues(schema, parsed.value) : { value: parsed.value, issues: [] };
        if (structure.issues.length || !task.validate) return structure;
        return { value: structure.value, issues: qualityIssues(await task.validate(structure.value as never, stageCtx)) };
      });
      const validation = artifacts.callName('06-validation', call);
      await write(validation, { call, ok: checked.issues.length === 0, issues: checked.issues });

      caller.judge(reply, checked.issues.length === 0);
      if (checked.issues.length === 0) return { ok: true, value: checked.value, model: reply.model, refinements, escalations: rung, prompt };

      if (refinements >= setup.maxRefinements) {
        const issues = checked.issues.map(describeIssue);
        return {
          ok: false,
          refinements,
          escalations: rung,
          error: {
            reason: 'refinements-exhausted',
            stage: 'validation',
            message: `the reply still failed validation after ${refinements} refinement${refinements === 1 ? '' : 's'}: ${issues.join('; ')}`,
            issues,
            artifact: `${setup.folder}/${validation}`,
          },
        };
      }

      const feedback = await stage('critique', () =>
        task.critique ? task.critique(checked.issues, { ...ctx, reply: reply.text } as never) : defaultFeedback(checked.issues, schema !== undefined),
      );
      if (typeof feedback !== 'string' || feedback.trim() === '') throw new StageError('critique', new TypeError('critique must return the feedback text'));
      await write(artifacts.callName('07-critique', call), { afterCall: call, issues: checked.issues, feedback });
      messages = [...messages, { role: 'assistant', content: reply.text } satisfies Message, { role: 'user', content: feedback } satisfies Message];
      refinements++;
      // A rung that has had its refinements and still fails hands the refinement to the next one up.
      const next = setup.escalate.rungs[rung];
      if (next && onRung >= setup.escalate.after) {
        rung++;
        onRung = 0;
        caller.useRung(rung, next);
        ctx.log.info({ event: 'escalated', rung, models: next, afterCall: call }, `escalated to ${next.join(', ')}`);
      }
      onRung++;
    }
  } catch (error) {
    // A call waiting for the Batch API is no failure: the attempt ends parked.
    if (error instanceof CallParkedError) throw error;
    return {
      ok: false,
      refinements,
      escalations: rung,
      error: failureOf(error, artifacts.lastWritten ? `${setup.folder}/${artifacts.lastWritten}` : undefined),
    };
  }
}
