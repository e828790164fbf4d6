import type { MockBehaviour, ProviderConfig } from '../formats/pipeline.js';
import { splitModelSpec } from '../formats/resolve-pipeline.js';
import type { Message } from '../runner/task-api.js';
import type { TaskLogger } from '../runner/task-log.js';
import { err, ok, type Result } from '../result.js';
import { withCallLog } from './call-log.js';
import { ProviderPool } from './provider-pool.js';
import { ProviderError, type ProviderFailure } from './types.js';

/** One model call as a task asks for it. */
export interface GatewayRequest {
  models: string[];
  messages: Message[];
  schema?: Record<string, unknown> | undefined;
  schemaName: string;
  mock?: MockBehaviour | undefined;
  call: number;
}

/** What the manager knows of the task making the call: its run's providers, its settings. */
export interface CallSettings {
  /** The providers of the run's own pipeline snapshot: what the specs resolve against. */
  providers: Record<string, ProviderConfig> | undefined;
  /** The task's own retry count, over its providers' settings. */
  maxRetries: number | undefined;
}

export interface Answer {
  text: string;
  /** The spec that answered, `provider:model`. */
  model: string;
  usage: { inputTokens: number; outputTokens: number };
  latencyMs: number;
  skipped: Array<{ model: string; reason: string; message: string }>;
}

/**
 * The manager's gateway: every model call of every task goes through it. It holds the providers
 * (one SDK client each, its keys read from the manager's environment) and tries a call's models in
 * order. Whatever goes wrong comes back as a value: a failure of the gateway itself fails that
 * call, never the manager.
 */
export class Gateway {
  private readonly pool: ProviderPool;

  constructor(env: NodeJS.ProcessEnv) {
    this.pool = new ProviderPool(env);
  }

  async call(request: GatewayRequest, settings: CallSettings, signal: AbortSignal, log: TaskLogger): Promise<Result<Answer, ProviderFailure[]>> {
    try {
      return await this.withFallbacks(request, settings, signal, log);
    } catch (error) {
      const message = `the gateway failed while making the call: ${error instanceof Error ? error.message : String(error)}`;
      log.error({ event: 'gateway-error', call: request.call, message }, 'gateway error');
      return err([{ reason: 'gateway-error', provider: 'gateway', model: request.models[0] ?? '', message }]);
    }
  }

  /**
   * Each spec in order, the next one tried when a provider fails after its own retries (auth,
   * refused request, server error, timeout, bad reply). A stopped task tries no further model.
   */
  private async withFallbacks(request: GatewayRequest, settings: CallSettings, signal: AbortSignal, log: TaskLogger): Promise<Result<Answer, ProviderFailure[]>> {
    const failures: ProviderFailure[] = [];
    const skipped = () => failures.map((f) => ({ model: `${f.provider}:${f.model}`, reason: f.reason, message: f.message }));
    for (const spec of request.models) {
      if (signal.aborted) {
        const parts = splitModelSpec(spec) ?? { provider: spec, model: spec };
        failures.push({ reason: 'aborted', ...parts, message: 'the task was stopped before this model was tried' });
        break;
      }
      const callLog = log.child({ model: spec, call: request.call });
      try {
        const { provider, name, model } = await this.pool.get(spec, settings.providers, settings.maxRetries);
        log.info({ event: 'model-call', model: spec, call: request.call }, 'calling model');
        const started = performance.now();
        const completion = await withCallLog(callLog, () =>
          provider.complete({ model, messages: request.messages, schema: request.schema, schemaName: request.schemaName, call: request.call, signal, mock: request.mock }),
        );
        const latencyMs = Math.round(performance.now() - started);
        const answered = `${name}:${model}`;
        log.info(
          { event: 'model-replied', model: answered, servedModel: completion.model, call: request.call, latencyMs, usage: completion.usage, finishReason: completion.finishReason },
          'model replied',
        );
        return ok({ text: completion.text, model: answered, usage: completion.usage, latencyMs, skipped: skipped() });
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        failures.push(error.failure);
        log.warn({ event: 'model-failed', model: spec, call: request.call, reason: error.failure.reason, status: error.failure.status, message: error.failure.message }, 'model failed');
        // A stopped task tries nothing more. Nor does a rate limit that outlasted the SDK's retries
        // (which honour retry-after): the contract falls back on auth, other 4xx, 5xx and timeouts.
        if (error.failure.reason === 'aborted' || error.failure.reason === 'rate-limited') break;
      }
    }
    return err(failures);
  }
}
