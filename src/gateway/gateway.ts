import type { MockBehaviour, Pipeline, ProviderConfig, ProviderLimits } from '../formats/pipeline.js';
import { resolveTasks, splitModelSpec } from '../formats/resolve-pipeline.js';
import type { Message } from '../runner/task-api.js';
import type { TaskLogger } from '../runner/task-log.js';
import { err, ok, type Result } from '../result.js';
import { estimateTokens } from '../runner/tokens.js';
import { redact } from '../secrets/known-secrets.js';
import { ProviderBudget, type OnWait, type Ticket } from './budget.js';
import { CallCache, cacheKey } from './call-cache.js';
import { reportingWaits, withCallLog } from './call-log.js';
import { ProviderHealth } from './health.js';
import { providerConfigFor } from './index.js';
import { providerFetch } from './provider-fetch.js';
import { ProviderPool } from './provider-pool.js';
import { ProviderError, type ProviderFailure } from './types.js';

/**
 * The reply budget a call is reckoned to use before it is made: Anthropic calls ask for at most
 * 8192 tokens; Chat Completions calls set no maximum, and replies of tasks are short.
 */
const OUTPUT_TOKENS_RECKONED = { anthropic: 8192, openai: 1024, mock: 1024 } as const;

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
  /** Where successful replies are kept and looked up, when the task has `cache: true`. */
  cacheDir?: string | undefined;
  /** Whose call it is (run and task): calls waiting for a provider's budget are served one caller after another. */
  caller?: string | undefined;
  /** Told when a call waits for its provider's budget or pause (the live line shows it). */
  onWaiting?: ((wait: { model: string; reason: string; waitMs?: number | undefined }) => void) | undefined;
}

/** Replies that are not answers to keep: a refusal, a filtered reply, the mock told to answer badly. */
const NOT_CACHED_FINISHES = new Set(['refusal', 'content_filter', 'mock-failure']);

export interface Answer {
  text: string;
  /** The spec that answered, `provider:model`. */
  model: string;
  usage: { inputTokens: number; outputTokens: number };
  latencyMs: number;
  skipped: Array<{ model: string; reason: string; message: string }>;
  /** Served from the call cache: no request was made; `usage` is the original call's. */
  cached?: boolean;
}

/**
 * The manager's gateway: every model call of every task goes through it. It holds the providers
 * (one SDK client each, its keys read from the manager's environment) and tries a call's models in
 * order. Whatever goes wrong comes back as a value: a failure of the gateway itself fails that
 * call, never the manager.
 */
export class Gateway {
  private readonly pool: ProviderPool;
  private readonly states = new Map<string, { budget: ProviderBudget; health: ProviderHealth }>();
  private readonly caches = new Map<string, CallCache>();
  /** How a provider's budget is made: in this process, or shared through Redis (`pop worker`). */
  makeBudget: (provider: string) => ProviderBudget = () => new ProviderBudget();
  /** `start --no-cache`: the cache is neither read nor written for this manager's life. */
  cacheOff = false;
  /** Provider limits by provider name, from the workspace's current pipeline.json: a run's snapshot never sets them. */
  private workspaceLimits: Map<string, ProviderLimits | undefined> | undefined;

  constructor(env: NodeJS.ProcessEnv) {
    this.pool = new ProviderPool(env, (provider) => {
      const state = this.stateOf(provider);
      return providerFetch(state.budget, state.health);
    });
  }

  private cacheFor(settings: CallSettings): CallCache | undefined {
    if (this.cacheOff || !settings.cacheDir) return undefined;
    let cache = this.caches.get(settings.cacheDir);
    if (!cache) {
      cache = new CallCache(settings.cacheDir);
      this.caches.set(settings.cacheDir, cache);
    }
    return cache;
  }

  /**
   * Load the SDKs of the providers a pipeline's models use, in the background: importing one costs
   * a few hundred ms of CPU, which the first call would otherwise wait for (and a short task's time
   * limit run out in).
   */
  preload(pipeline: Pipeline): void {
    const types = new Set<string>();
    for (const task of resolveTasks(pipeline)) {
      for (const spec of task.models) {
        const parts = splitModelSpec(spec);
        const type = parts && providerConfigFor(parts.provider, pipeline.providers)?.type;
        if (type) types.add(type);
      }
    }
    // Node's fetch stack is loaded on first use too.
    if (types.has('openai') || types.has('anthropic')) new Headers();
    if (types.has('openai')) void import('./openai.js').catch(() => {});
    if (types.has('anthropic')) void import('./anthropic.js').catch(() => {});
  }

  /**
   * The limits of the workspace's pipeline.json (at start, and again each time it is reloaded):
   * they are every provider's limits, whatever pipeline snapshot a run carries.
   */
  setWorkspaceLimits(providers: Record<string, ProviderConfig> | undefined): void {
    this.workspaceLimits = new Map(Object.entries(providers ?? {}).map(([name, config]) => [name, config.limits]));
    for (const [name, state] of this.states) state.budget.setLimits(this.workspaceLimits.get(name));
  }

  /** A provider's budget and health, by its name: shared by every task and run. */
  private stateOf(provider: string): { budget: ProviderBudget; health: ProviderHealth } {
    let state = this.states.get(provider);
    if (!state) {
      state = { budget: this.makeBudget(provider), health: new ProviderHealth() };
      this.states.set(provider, state);
    }
    return state;
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
      const parts = splitModelSpec(spec);
      const config = parts && providerConfigFor(parts.provider, settings.providers);
      const state = parts ? this.stateOf(parts.provider) : undefined;
      // Every wait of this call, the gateway's own or its SDK client's request spacing, is told to
      // the manager too (the live line), besides going to task.log.
      const callLog = reportingWaits(log.child({ model: spec, call: request.call }), (wait) => settings.onWaiting?.({ model: spec, ...wait }));
      const cache = this.cacheFor(settings);
      const key = cache && parts && config ? cacheKey({ config, model: parts.model, ...request }) : undefined;
      const hit = key ? await cache?.get(key) : undefined;
      if (hit) {
        log.info({ event: 'model-cached', model: hit.model, servedModel: hit.servedModel, call: request.call, usage: hit.usage }, 'answered from the call cache');
        return ok({ text: hit.text, model: hit.model, usage: hit.usage, latencyMs: 0, skipped: skipped(), cached: true });
      }
      const admission = state?.health.admit() ?? { kind: 'go' };
      if (parts && admission.kind === 'skip') {
        const message = `provider "${parts.provider}" is marked down after failing to connect; it is tried again in ${Math.ceil(admission.retryInMs / 1000)} s`;
        failures.push({ reason: 'provider-down', ...parts, message });
        log.warn({ event: 'model-skipped', model: spec, call: request.call, reason: 'provider-down', message }, 'model skipped');
        continue;
      }
      let ticket: Ticket | undefined;
      try {
        // Without workspace limits (a process that never read pipeline.json), the snapshot's apply.
        state?.budget.setLimits(this.workspaceLimits ? this.workspaceLimits.get(parts?.provider ?? '') : config?.limits);
        const onWait: OnWait = (reason, waitMs) => callLog.info({ event: 'model-waiting', reason, ...(waitMs === undefined ? {} : { waitMs }) }, `waiting for the provider (${reason})`);
        const estimate = estimateTokens(JSON.stringify(request.messages)) + OUTPUT_TOKENS_RECKONED[config?.type ?? 'mock'];
        ticket = await admitted(state?.budget.admit(estimate, signal, onWait, settings.caller), spec, signal);
        const { provider, name, model } = await this.pool.get(spec, settings.providers, settings.maxRetries);
        // The mock sends no request of its own: its spacing and pauses are applied here.
        if (config?.type === 'mock') await admitted(state?.budget.beforeRequest(signal, onWait), spec, signal);
        log.info({ event: 'model-call', model: spec, call: request.call }, 'calling model');
        const started = performance.now();
        const completion = await withCallLog(callLog, () =>
          provider.complete({ model, messages: request.messages, schema: request.schema, schemaName: request.schemaName, call: request.call, signal, mock: request.mock }),
        );
        ticket?.settle(completion.usage.inputTokens + completion.usage.outputTokens);
        const latencyMs = Math.round(performance.now() - started);
        const answered = `${name}:${model}`;
        log.info(
          { event: 'model-replied', model: answered, servedModel: completion.model, call: request.call, latencyMs, usage: completion.usage, finishReason: completion.finishReason },
          'model replied',
        );
        // A server that echoes the request's headers must not hand the task (or its artifacts) a key.
        const reply = redact(completion.text);
        if (reply.names.length) log.warn({ event: 'secrets-redacted', model: answered, call: request.call, variables: reply.names }, 'API keys taken out of a model reply');
        if (key && !NOT_CACHED_FINISHES.has(completion.finishReason ?? '')) {
          const stored = { model: answered, servedModel: completion.model, text: reply.text, usage: completion.usage, finishReason: completion.finishReason, latencyMs, createdAt: new Date().toISOString() };
          // A reply that cannot be stored is still the answer.
          await cache?.put(key, stored).catch((error: unknown) => log.warn({ event: 'cache-write-failed', message: error instanceof Error ? error.message : String(error) }, 'could not store the reply'));
        }
        return ok({ text: reply.text, model: answered, usage: completion.usage, latencyMs, skipped: skipped() });
      } catch (error) {
        ticket?.settle(0);
        if (admission.kind === 'probe' && state?.health.isProbing) state.health.probeAbandoned();
        if (!(error instanceof ProviderError)) throw error;
        failures.push(error.failure);
        if (error.failure.reason === 'server-error') state?.health.serverError();
        log.warn({ event: 'model-failed', model: spec, call: request.call, reason: error.failure.reason, status: error.failure.status, message: error.failure.message }, 'model failed');
        // A stopped task tries nothing more. Nor does a rate limit that outlasted the SDK's retries
        // (which honour retry-after): the contract falls back on auth, other 4xx, 5xx and timeouts.
        if (error.failure.reason === 'aborted' || error.failure.reason === 'rate-limited') break;
      }
    }
    return err(failures);
  }
}

/** A wait for the budget that the task gave up on is an aborted call, as a provider reports one. */
async function admitted<T>(waiting: Promise<T> | undefined, spec: string, signal: AbortSignal): Promise<T | undefined> {
  try {
    return await waiting;
  } catch (error) {
    if (!signal.aborted) throw error;
    const parts = splitModelSpec(spec) ?? { provider: spec, model: spec };
    throw new ProviderError({ reason: 'aborted', ...parts, message: `the call to ${spec} was aborted because the task was stopped while it waited for the provider's budget` });
  }
}
