import type { ProviderConfig } from '../formats/pipeline.js';
import type { MockBehaviour } from '../formats/pipeline.js';
import { splitModelSpec } from '../formats/resolve-pipeline.js';
import { createProvider } from '../providers/index.js';
import { ProviderError, type ProviderFailure } from '../providers/types.js';
import type { InferenceResult, Message } from './task-api.js';
import type { TaskLogger as Logger } from './task-log.js';
import { redact } from '../secrets/known-secrets.js';

export interface InferenceSetup {
  models: string[];
  providers: Record<string, ProviderConfig> | undefined;
  schema: Record<string, unknown> | undefined;
  schemaName: string;
  mock: MockBehaviour | undefined;
  /** The task's own retry count, over its providers' settings. */
  maxRetries?: number | undefined;
  signal: AbortSignal;
  log: Logger;
}

/** Every model of the list failed; carries each one's failure. */
export class AllModelsFailedError extends Error {
  constructor(readonly failures: ProviderFailure[]) {
    super(failures.map((f) => `${f.provider}:${f.model}: ${f.message}`).join('; '));
    this.name = 'AllModelsFailedError';
  }
}

/**
 * One model call with fallbacks: each spec in order, the next one tried when a provider fails
 * after its own retries (auth, refused request, rate limit, server error, timeout, bad reply). The
 * result names the spec that answered (the name `prices` and fallback lists use; the model name the
 * server reported is in task.log) and says why the ones before it were skipped. A stopped task
 * (its signal aborted) tries no further model.
 */
export async function callModels(setup: InferenceSetup, messages: Message[], call: number): Promise<InferenceResult> {
  const failures: ProviderFailure[] = [];
  for (const spec of setup.models) {
    if (setup.signal.aborted) {
      const parts = splitModelSpec(spec) ?? { provider: spec, model: spec };
      failures.push({ reason: 'aborted', ...parts, message: 'the task was stopped before this model was tried' });
      break;
    }
    try {
      const { provider, model, name } = await createProvider(spec, setup.providers, { log: setup.log.child({ model: spec, call }), maxRetries: setup.maxRetries });
      setup.log.info({ event: 'model-call', model: spec, call }, 'calling model');
      const started = performance.now();
      const completion = await provider.complete({
        model,
        messages,
        schema: setup.schema,
        schemaName: setup.schemaName,
        call,
        signal: setup.signal,
        mock: setup.mock,
      });
      const latencyMs = Math.round(performance.now() - started);
      const answered = `${name}:${model}`;
      setup.log.info(
        { event: 'model-replied', model: answered, servedModel: completion.model, call, latencyMs, usage: completion.usage, finishReason: completion.finishReason },
        'model replied',
      );
      // A server that echoes the request's headers must not hand the task (or its artifacts) a key.
      const reply = redact(completion.text);
      if (reply.names.length) setup.log.warn({ event: 'secrets-redacted', model: answered, call, variables: reply.names }, 'API keys taken out of a model reply');
      return {
        text: reply.text,
        model: answered,
        usage: completion.usage,
        latencyMs,
        skipped: failures.map((f) => ({ model: `${f.provider}:${f.model}`, reason: f.reason, message: f.message })),
      };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      failures.push(error.failure);
      setup.log.warn({ event: 'model-failed', model: spec, call, reason: error.failure.reason, status: error.failure.status, message: error.failure.message }, 'model failed');
      // A stopped task tries nothing more. Nor does a rate limit that outlasted the SDK's retries
      // (which honour retry-after): the contract falls back on auth, other 4xx, 5xx and timeouts.
      if (error.failure.reason === 'aborted' || error.failure.reason === 'rate-limited') break;
    }
  }
  throw new AllModelsFailedError(failures);
}
