import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchAnswer, PendingRequest, Submission } from '../formats/batch.js';
import { exists } from '../fs/create-new-file.js';
import { appendCall, ledgerPathOf } from '../ledger/ledger-file.js';
import { priceOf } from '../ledger/price.js';
import { readLedger } from '../ledger/read-ledger.js';
import { redact, redactText } from '../secrets/known-secrets.js';
import { taskPaths } from '../workspace.js';
import type { BatchResult } from './batch-api.js';
import { answerExists, removePending, writeAnswer, type BatchPaths } from './batch-store.js';

/** A request's result, or why it has none, before it is stored. */
export type Outcome = BatchResult | { customId: string; ok: false; reason: 'rejected' | 'unsupported'; message: string };

/**
 * Store each request's result where its parked task finds it, once: the ledger line first (with
 * the request id, so a line already there after a crash is not written again), then the answer.
 * Requests of runs no longer in pipeline-current (cancelled, removed) are let go. Returns the runs
 * that got answers.
 */
export async function applyResults(
  paths: BatchPaths,
  currentDir: string,
  submission: Submission,
  outcomes: Iterable<Outcome> | AsyncIterable<Outcome>,
): Promise<Set<string>> {
  const byId = new Map(submission.requests.map((request) => [request.id, request]));
  const seen = new Set<string>();
  const runs = new Set<string>();
  const store = async (request: PendingRequest, outcome: Outcome) => {
    seen.add(request.id);
    const runDir = join(currentDir, request.owner.run);
    if ((await exists(runDir)) && !(await answerExists(runDir, request.owner.task, request.id))) {
      await recordOnce(runDir, request, outcome, submission.batch);
      await writeAnswer(runDir, request.owner.task, answerOf(request, outcome, submission.batch));
      runs.add(request.owner.run);
    }
    await removePending(paths, request);
  };
  for await (const outcome of outcomes) {
    const request = byId.get(outcome.customId);
    if (request && !seen.has(request.id)) await store(request, outcome);
  }
  // A request the provider returned no line for never ran: as an expired one.
  for (const request of submission.requests) {
    if (!seen.has(request.id))
      await store(request, { customId: request.id, ok: false, reason: 'expired', message: 'the batch ended without a result for this request' });
  }
  // A run's pending folder goes once nothing of it waits (a folder still holding calls stays).
  for (const run of new Set(submission.requests.map((request) => request.owner.run))) await rmdir(join(paths.pending, run)).catch(() => {});
  return runs;
}

function answerOf(request: PendingRequest, outcome: Outcome, batch: string | undefined): BatchAnswer {
  const at = new Date().toISOString();
  if (!outcome.ok) return { ok: false, id: request.id, ...(batch ? { batch } : {}), reason: outcome.reason, message: redactText(outcome.message), at };
  const { completion } = outcome;
  const costUsd = request.price ? priceOf(completion.usage, request.price) : undefined;
  return {
    ok: true,
    id: request.id,
    batch: batch ?? '',
    model: request.spec,
    servedModel: redactText(completion.model),
    // A server that echoes the request's headers must not hand the task a key.
    text: redact(completion.text).text,
    usage: completion.usage,
    ...(costUsd === undefined ? {} : { costUsd }),
    ...(completion.finishReason === undefined ? {} : { finishReason: redactText(completion.finishReason) }),
    at,
  };
}

/** The call's line in its task's ledger, unless a line for this request is there already. */
async function recordOnce(runDir: string, request: PendingRequest, outcome: Outcome, batch: string | undefined): Promise<void> {
  const path = ledgerPathOf(taskPaths(runDir, request.owner.task).dir);
  const { records } = await readLedger(path);
  if (records.some((record) => record.request === request.id)) return;
  const { owner } = request;
  const common = {
    ...(owner.item === undefined ? {} : { item: owner.item }),
    call: owner.call,
    modelAsked: owner.modelAsked,
    ...(owner.rung ? { rung: owner.rung } : {}),
    model: request.spec,
    batch: true as const,
    request: request.id,
  };
  const target = { path, run: owner.run, task: owner.task, attempt: owner.attempt };
  if (!outcome.ok) {
    await appendCall(target, {
      ...common,
      usage: { inputTokens: 0, outputTokens: 0 },
      latencyMs: 0,
      outcome: 'failed',
      reason: `batch-${outcome.reason}`,
      message: redactText(outcome.message) + (batch ? ` (batch ${batch})` : ''),
    });
    return;
  }
  const { completion } = outcome;
  const costUsd = request.price ? priceOf(completion.usage, request.price) : undefined;
  await appendCall(target, {
    ...common,
    servedModel: redactText(completion.model),
    usage: completion.usage,
    ...(costUsd === undefined ? {} : { costUsd }),
    latencyMs: Math.max(0, Date.now() - Date.parse(request.queuedAt)),
    ...(completion.finishReason === undefined ? {} : { finishReason: redactText(completion.finishReason) }),
    outcome: 'answered',
  });
}
