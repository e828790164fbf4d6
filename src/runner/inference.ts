import type { MockBehaviour } from '../formats/pipeline.js';
import { requestCallWithId } from './gateway-client.js';
import type { InferenceResult, Message } from './task-api.js';
import type { TaskLogger as Logger } from './task-log.js';

export interface InferenceSetup {
  models: string[];
  schema: Record<string, unknown> | undefined;
  schemaName: string;
  mock: MockBehaviour | undefined;
  signal: AbortSignal;
  log: Logger;
  /** A fan-out item's index, from 0. */
  item?: number | undefined;
  /** The escalation rung the call is made on. */
  rung?: number | undefined;
  /** The refinement the call is made for. */
  refinement?: number | undefined;
}

/** The gateway's id of the call behind each reply: what a verdict on it names. */
export const callIdOf = new WeakMap<InferenceResult, number>();

/** Why one model of a call did not answer. */
export interface ModelFailure {
  reason: string;
  provider: string;
  model: string;
  message: string;
  status?: number | undefined;
}

/**
 * The call waits for the Batch API (a task with `batch: true`): it unwinds the task's stages, and
 * the attempt ends parked, to run again once the manager has the answer.
 */
export class CallParkedError extends Error {
  constructor(readonly provider: string) {
    super(`the call waits for ${provider}'s Batch API`);
    this.name = 'CallParkedError';
  }
}

/** Every model of the list failed; carries each one's failure. */
export class AllModelsFailedError extends Error {
  constructor(readonly failures: ModelFailure[]) {
    super(failures.map((f) => `${f.provider}:${f.model}: ${f.message}`).join('; '));
    this.name = 'AllModelsFailedError';
  }
}

/**
 * One model call with fallbacks, made by the manager's gateway: the task process holds no SDK and
 * no key. The result names the spec that answered (the name `prices` and fallback lists use; the
 * model name the server reported is in task.log) and says why the ones before it were skipped. A
 * stopped task (its signal aborted) tries no model.
 */
export async function callModels(setup: InferenceSetup, messages: Message[], call: number): Promise<InferenceResult> {
  if (setup.signal.aborted) {
    const [first = 'unknown'] = setup.models;
    const colon = first.indexOf(':');
    throw new AllModelsFailedError([
      {
        reason: 'aborted',
        provider: first.slice(0, Math.max(colon, 0)) || first,
        model: first.slice(colon + 1),
        message: 'the task was stopped before this model was tried',
      },
    ]);
  }
  const { id, answer } = await requestCallWithId(
    {
      models: setup.models,
      messages,
      ...(setup.schema ? { schema: setup.schema } : {}),
      schemaName: setup.schemaName,
      ...(setup.mock ? { mock: setup.mock } : {}),
      call,
      ...(setup.item === undefined ? {} : { item: setup.item }),
      ...(setup.rung ? { rung: setup.rung } : {}),
      ...(setup.refinement ? { refinement: setup.refinement } : {}),
    },
    setup.signal,
    setup.log,
  );
  if (answer.type === 'call-error') throw new AllModelsFailedError(answer.failures);
  if (answer.type === 'call-parked') throw new CallParkedError(answer.provider);
  const reply: InferenceResult = {
    text: answer.text,
    model: answer.model,
    usage: answer.usage,
    latencyMs: answer.latencyMs,
    skipped: answer.skipped,
    ...(answer.cached ? { cached: true } : {}),
    ...(answer.costUsd === undefined ? {} : { costUsd: answer.costUsd }),
    ...(answer.finishReason === undefined ? {} : { finishReason: answer.finishReason }),
  };
  callIdOf.set(reply, id);
  return reply;
}
