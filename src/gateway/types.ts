import type { TaskLogger as Logger } from '../util/logger.js';
import type { Message } from '../formats/message.js';
import type { MockBehaviour, ProviderConfig } from '../formats/pipeline.js';
import type { CallUsage } from '../formats/ledger.js';

/** A provider's settings with its type known. */
export type TypedProviderConfig = ProviderConfig & { type: NonNullable<ProviderConfig['type']> };

/** What a provider is built from: the spec's parts, its pipeline.json settings, where keys and logs go. */
export interface ProviderSetup {
  /** The provider's name in the spec (`oai` in `oai:gpt-4o-mini`). */
  name: string;
  /** The model name without its provider prefix. */
  model: string;
  config: TypedProviderConfig;
  env: NodeJS.ProcessEnv;
  /** The fetch the SDK sends its requests with: the gateway's, which applies limits and watches health. */
  fetch?: typeof fetch | undefined;
  /** The task's logger: retries and request failures the SDK reports go there. */
  log: Logger;
}

export interface CompletionRequest {
  /** The model name without its provider prefix. */
  model: string;
  /** The whole spec, `provider:model`, as the pipeline names it. */
  spec?: string | undefined;
  messages: Message[];
  /** JSON Schema of the expected reply, when the task has an output schema. */
  schema?: Record<string, unknown> | undefined;
  schemaName?: string | undefined;
  /** 1 for the first call of a task attempt, 2 after the first refinement, ... */
  call: number;
  signal: AbortSignal;
  mock?: MockBehaviour | undefined;
}

export interface Completion {
  text: string;
  model: string;
  usage: CallUsage;
  latencyMs: number;
  finishReason?: string | undefined;
}

export type ProviderFailureReason =
  | 'auth'
  | 'rate-limited'
  | 'bad-request'
  | 'server-error'
  | 'timeout'
  | 'connection'
  | 'aborted'
  | 'bad-response'
  | 'missing-key'
  | 'unknown-provider'
  /** Marked down after failing to connect or repeated server errors: not tried until it is back. */
  | 'provider-down'
  /** The gateway itself failed while making the call. */
  | 'gateway-error'
  /** The run's pipeline does not make this model available to the task. */
  | 'model-not-allowed'
  /** The task attempt made as many calls as `maxCalls` allows. */
  | 'max-calls'
  /** The run or the task has spent its `maxCostUsd`. */
  | 'budget-exceeded'
  /** The Batch API gave no answer and the task's `batch` is `required` (or the provider refused the batch). */
  | 'batch-failed';

export interface ProviderFailure {
  reason: ProviderFailureReason;
  provider: string;
  model: string;
  message: string;
  status?: number | undefined;
}

export interface Provider {
  complete(request: CompletionRequest): Promise<Completion>;
}

/** Thrown by providers for expected failures; inference turns it into a value with a reason. */
export class ProviderError extends Error {
  constructor(readonly failure: ProviderFailure) {
    super(failure.message);
    this.name = 'ProviderError';
  }
}
