import { isAllowed } from '../formats/allowed-models.js';
import type { Price } from '../formats/pipeline.js';
import { splitModelSpec } from '../formats/model-spec.js';
import { providerConfigFor, resolvedBaseURL } from '../gateway/provider-config.js';
import { cacheKey } from '../gateway/call-cache.js';
import type { TypedProviderConfig } from '../gateway/types.js';
import type { CallRequest } from '../formats/ipc.js';
import type { CallUsage } from '../formats/ledger.js';
import type { ProviderConfig } from '../formats/pipeline.js';
import type { AllowedModels } from '../formats/allowed-models.js';
import type { LedgerTarget } from '../ledger/ledger-file.js';
import type { TaskLogger } from '../util/logger.js';
import { batchPriceOf } from './batch-price.js';
import { readAnswer, writePending, type BatchPaths } from './batch-store.js';
import { batchRequestId } from './request-id.js';

/** What the gateway needs to batch a task's calls (`batch: true` or `"required"`). */
export interface BatchCallSettings {
  mode: true | 'required';
  /** `realtime`: refinements are made at once instead of waiting for the next round. */
  refine: 'batch' | 'realtime';
  paths: BatchPaths;
  /** The run's folder: answers are stored beside the task's artifacts. */
  runDir: string;
  batchPrices?: Record<string, Price> | undefined;
  /** How often each request was made so far in this run of the task: a repeat is another request. */
  occurrences: Map<string, number>;
}

/** A call as a task asks for it (the gateway's request is the same). */
export type BatchableCall = Omit<CallRequest, 'type' | 'id'>;

export interface BatchContext {
  batch: BatchCallSettings;
  providers: Record<string, ProviderConfig> | undefined;
  prices: Record<string, Price> | undefined;
  allowed: AllowedModels | undefined;
  ledger: LedgerTarget;
  env: NodeJS.ProcessEnv;
  log: TaskLogger;
}

/** What becomes of a call of a batched task. */
export type BatchDecision =
  /** Its batch answer is stored: the parked task ran again and gets it. */
  | {
      kind: 'answered';
      spec: string;
      text: string;
      servedModel: string;
      usage: CallUsage;
      costUsd?: number | undefined;
      finishReason?: string | undefined;
    }
  /** Parked: it waits for the next batch. */
  | { kind: 'parked'; id: string; provider: string }
  /** The batch could not answer it and real-time calls are refused (`required`), or the provider failed the batch. */
  | { kind: 'failed'; provider: string; model: string; message: string }
  /** Made in real time: a refinement with `refine: "realtime"`, or the batch's fallback. */
  | { kind: 'realtime' };

/**
 * A batched task's call: answered from the run's stored batch answers when its answer is there;
 * else parked for the manager's next batch. Refinements with `refine: "realtime"`, and calls whose
 * batch line expired or errored (unless `required`), are made in real time.
 */
export async function batchedCall(call: BatchableCall, context: BatchContext): Promise<BatchDecision> {
  const { batch, log } = context;
  if (call.refinement && batch.refine === 'realtime') return { kind: 'realtime' };
  // A batch goes to one model: the first the task may use. The real-time path refuses the others.
  const spec = call.models.find((model) => !context.allowed || isAllowed(context.allowed, model));
  const parts = spec ? splitModelSpec(spec) : undefined;
  const config = parts ? providerConfigFor(parts.provider, context.providers) : undefined;
  if (!spec || !parts || !config) return { kind: 'realtime' };
  const owner = { run: context.ledger.run, task: context.ledger.task, item: call.item };
  const key = requestKey(config, context.env, parts.model, call);
  const seen = `${call.item ?? ''}:${key}`;
  const occurrence = batch.occurrences.get(seen) ?? 0;
  batch.occurrences.set(seen, occurrence + 1);
  const id = batchRequestId(owner, key, occurrence);
  const answer = await readAnswer(batch.runDir, context.ledger.task, id);
  if (answer?.ok) {
    log.info({ event: 'batch-answered', model: spec, call: call.call, batch: answer.batch, usage: answer.usage }, 'answered from the batch');
    return {
      kind: 'answered',
      spec,
      text: answer.text,
      servedModel: answer.servedModel,
      usage: answer.usage,
      costUsd: answer.costUsd,
      finishReason: answer.finishReason,
    };
  }
  if (answer) {
    const message = `the Batch API gave no answer (${answer.reason}): ${answer.message}`;
    if (answer.reason === 'rejected' || batch.mode === 'required') return { kind: 'failed', provider: parts.provider, model: parts.model, message };
    log.warn({ event: 'batch-fallback', model: spec, call: call.call, reason: answer.reason, message }, 'made in real time instead');
    return { kind: 'realtime' };
  }
  await writePending(batch.paths, {
    id,
    provider: parts.provider,
    config,
    model: parts.model,
    spec,
    messages: call.messages,
    ...(call.schema ? { schema: call.schema } : {}),
    schemaName: call.schemaName,
    ...(call.mock ? { mock: call.mock } : {}),
    owner: {
      run: owner.run,
      task: owner.task,
      attempt: context.ledger.attempt,
      ...(call.item === undefined ? {} : { item: call.item }),
      call: call.call,
      ...(call.rung ? { rung: call.rung } : {}),
      modelAsked: call.models[0] ?? spec,
    },
    ...withPrice(batchPriceOf(spec, context.prices, batch.batchPrices)),
    queuedAt: new Date().toISOString(),
  });
  log.info({ event: 'call-parked', model: spec, call: call.call, request: id }, 'parked for the Batch API');
  return { kind: 'parked', id, provider: parts.provider };
}

const withPrice = (price: Price | undefined) => (price ? { price } : {});

/**
 * Everything that can change the answer (the call cache's key), but the call's number: a parked task
 * that runs again numbers its calls on from what its folder holds.
 */
function requestKey(config: TypedProviderConfig, env: NodeJS.ProcessEnv, model: string, call: BatchableCall): string {
  return cacheKey({ config, baseURL: resolvedBaseURL(config, env), model, ...call, call: 0 });
}
