import { dirname } from 'node:path';
import { isAllowed, type AllowedModels } from '../formats/allowed-models.js';
import type { CallUsage } from '../formats/ledger.js';
import type { Pipeline, Price, ProviderConfig, ProviderLimits } from '../formats/pipeline.js';
import { appendCall, type LedgerTarget } from '../ledger/ledger-file.js';
import { costOf } from '../ledger/price.js';
import { SpendMeter } from '../ledger/spend.js';
import { modelSpecParts } from '../formats/model-spec.js';
import { resolveTasks, splitModelSpec } from '../formats/resolve-pipeline.js';
import type { CallRequest } from '../formats/ipc.js';
import type { TaskLogger } from '../util/logger.js';
import { err, ok, type Result } from '../result.js';
import { estimateTokens } from '../util/estimate-tokens.js';
import { redact, redactText } from '../secrets/known-secrets.js';
import { ProviderBudget, type OnWait, type Ticket } from './budget.js';
import { CallCache, cacheKey, type CachedReply } from './call-cache.js';
import { reportingWaits, withCallLog } from './call-log.js';
import { ProviderHealth } from './health.js';
import { providerConfigFor, resolvedBaseURL } from './index.js';
import { providerFetch } from './provider-fetch.js';
import { ProviderPool } from './provider-pool.js';
import { ProviderError, type ProviderFailure } from './types.js';
import { batchedCall, type BatchCallSettings } from '../batch/batched-call.js';

/**
 * The reply budget a call is reckoned to use before it is made: Anthropic calls ask for at most
 * 8192 tokens; Chat Completions calls set no maximum, and replies of tasks are short.
 */
const OUTPUT_TOKENS_RECKONED = { anthropic: 8192, openai: 1024, mock: 1024 } as const;

/** One model call as a task asks for it: the channel's `call` message, without its envelope. */
export type GatewayRequest = Omit<CallRequest, 'type' | 'id'>;

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
  /** The run's prices: each call's cost is reckoned where it is made. */
  prices?: Record<string, Price> | undefined;
  /** The models the run's pipeline makes available to the task; anything else is refused. */
  allowed?: AllowedModels | undefined;
  /** The task's calls.jsonl: every call is recorded there before its answer goes to the task. */
  ledger?: LedgerTarget | undefined;
  /** `maxCostUsd` of the run and of the task, checked against their ledgers before each call. */
  maxCostUsd?: { run?: number | undefined; task?: number | undefined } | undefined;
  /** Calls of one attempt in flight at once and in all. */
  bounds?: { inFlight: number; total: number } | undefined;
  /** The task's calls wait for the Batch API (`batch: true`). */
  batch?: BatchCallSettings | undefined;
  /** Told of each line written to the ledger (the live line counts calls as they happen). */
  onRecorded?:
    | ((line: {
        model: string;
        outcome: 'answered' | 'failed' | 'aborted';
        cached: boolean;
        usage: CallUsage;
        costUsd?: number | undefined;
        rung: number;
      }) => void)
    | undefined;
}

/**
 * Replies that are not answers to keep: cut off by the token limit, a refusal, a filtered reply,
 * the mock told to answer badly.
 */
const NOT_CACHED_FINISHES = new Set(['length', 'max_tokens', 'model_context_window_exceeded', 'pause_turn', 'refusal', 'content_filter', 'mock-failure']);

export interface Answer {
  text: string;
  /** The spec that answered, `provider:model`. */
  model: string;
  usage: CallUsage;
  /** What the call cost, by the run's prices (none for a cached answer). */
  costUsd?: number | undefined;
  finishReason?: string | undefined;
  latencyMs: number;
  skipped: Array<{ model: string; reason: string; message: string }>;
  /** Served from the call cache: no request was made; `usage` is the original call's. */
  cached?: boolean;
}

/** How a gateway is set up for the life of its process. */
export interface GatewayOptions {
  /** How a provider's budget is made: in this process (the default), or shared through Redis (`pop worker`). */
  makeBudget?: (provider: string) => ProviderBudget;
  /** `start --no-cache`: the cache is neither read nor written for this gateway's life. */
  cacheOff?: boolean;
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
  private readonly spend = new SpendMeter();
  private readonly makeBudget: (provider: string) => ProviderBudget;
  private readonly cacheOff: boolean;
  /** Provider limits by provider name, from the workspace's current pipeline.json: a run's snapshot never sets them. */
  private workspaceLimits: Map<string, ProviderLimits | undefined> | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    options: GatewayOptions = {},
  ) {
    this.makeBudget = options.makeBudget ?? (() => new ProviderBudget());
    this.cacheOff = options.cacheOff === true;
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

  /**
   * Make one call: its models in order, each recorded in the task's ledger. An answer that may be
   * kept comes with `store`, which puts it in the call cache: the task calls it once the reply has
   * passed validation, so a rejected answer is never served again.
   */
  async call(request: GatewayRequest, settings: CallSettings, signal: AbortSignal, log: TaskLogger): Promise<GatewayOutcome> {
    const record = recorder(request, settings, log);
    try {
      const refused = await this.overBudget(settings);
      if (refused) {
        const parts = splitModelSpec(request.models[0] ?? '') ?? { provider: 'gateway', model: request.models[0] ?? '' };
        await record(`${parts.provider}:${parts.model}`, { outcome: 'failed', reason: 'budget-exceeded', message: refused });
        log.warn({ event: 'model-refused', call: request.call, reason: 'budget-exceeded', message: refused }, 'call refused');
        return { result: err([{ reason: 'budget-exceeded', ...parts, message: refused }]) };
      }
      if (settings.batch && settings.ledger && !(await this.isCached(request, settings))) {
        const batched = await this.batched(request, settings, settings.batch, settings.ledger, log);
        if (batched) return batched;
      }
      return await this.withFallbacks(request, settings, signal, log, record);
    } catch (error) {
      const message = `the gateway failed while making the call: ${error instanceof Error ? error.message : String(error)}`;
      log.error({ event: 'gateway-error', call: request.call, message }, 'gateway error');
      await record(request.models[0] ?? 'gateway', { outcome: 'failed', reason: 'gateway-error', message }).catch(() => {});
      return { result: err([{ reason: 'gateway-error', provider: 'gateway', model: request.models[0] ?? '', message }]) };
    }
  }

  /**
   * A batched task's call: its stored batch answer, or parked for the next batch; undefined when it
   * is to be made in real time. Its ledger line was written when the batch's results came in.
   */
  private async batched(
    request: GatewayRequest,
    settings: CallSettings,
    batch: BatchCallSettings,
    ledger: LedgerTarget,
    log: TaskLogger,
  ): Promise<GatewayOutcome | undefined> {
    const context = { batch, providers: settings.providers, prices: settings.prices, allowed: settings.allowed, ledger, env: this.env, log };
    const decision = await batchedCall(request, context);
    if (decision.kind === 'parked') return { result: err([]), parked: { id: decision.id, provider: decision.provider } };
    if (decision.kind === 'failed') {
      log.warn(
        { event: 'model-failed', model: `${decision.provider}:${decision.model}`, call: request.call, reason: 'batch-failed', message: decision.message },
        'model failed',
      );
      return { result: err([{ reason: 'batch-failed', provider: decision.provider, model: decision.model, message: decision.message }]) };
    }
    if (decision.kind !== 'answered') return undefined;
    const { spec, text, usage, costUsd, finishReason } = decision;
    // A batch answer that passes validation may be kept in the call cache, as a real-time one is.
    const slot = this.cacheSlotOf(spec, request, settings);
    const stored: CachedReply = {
      model: spec,
      servedModel: decision.servedModel,
      text,
      usage,
      finishReason,
      latencyMs: 0,
      createdAt: new Date().toISOString(),
    };
    return {
      result: ok({
        text,
        model: spec,
        usage,
        latencyMs: 0,
        skipped: [],
        ...(costUsd === undefined ? {} : { costUsd }),
        ...(finishReason === undefined ? {} : { finishReason }),
      }),
      ...(slot && !NOT_CACHED_FINISHES.has(finishReason ?? '') ? { store: () => slot.cache.put(slot.key, stored).catch(() => {}) } : {}),
    };
  }

  /** Where the call cache keeps this call's answer from `spec`, when the task has `cache: true`. */
  private cacheSlotOf(spec: string, request: GatewayRequest, settings: CallSettings): { cache: CallCache; key: string } | undefined {
    const cache = this.cacheFor(settings);
    const parts = splitModelSpec(spec);
    const config = parts && providerConfigFor(parts.provider, settings.providers);
    if (!cache || !parts || !config) return undefined;
    return { cache, key: cacheKey({ config, baseURL: resolvedBaseURL(config, this.env), model: parts.model, ...request }) };
  }

  /** Whether the call cache holds an answer for the call's first model (a cached call is not batched). */
  private async isCached(request: GatewayRequest, settings: CallSettings): Promise<boolean> {
    const slot = this.cacheSlotOf(request.models[0] ?? '', request, settings);
    return slot !== undefined && (await slot.cache.get(slot.key)) !== undefined;
  }

  /** Why the run or the task may make no more calls, by their ledgers; undefined while they may. */
  private async overBudget(settings: CallSettings): Promise<string | undefined> {
    const limits = settings.maxCostUsd;
    const ledger = settings.ledger;
    if (!ledger || (limits?.run === undefined && limits?.task === undefined)) return undefined;
    const taskDir = dirname(ledger.path);
    if (limits.task !== undefined) {
      const spent = await this.spend.ofTask(taskDir, ledger.run);
      if (spent >= limits.task) return `task "${ledger.task}" has spent $${spent.toFixed(4)} of its maxCostUsd $${limits.task}`;
    }
    if (limits.run !== undefined) {
      const spent = await this.spend.ofRun(dirname(dirname(taskDir)), ledger.run);
      if (spent >= limits.run) return `run ${ledger.run} has spent $${spent.toFixed(4)} of its maxCostUsd $${limits.run}`;
    }
    return undefined;
  }

  /**
   * Each spec in order, the next one tried when a provider fails after its own retries (auth,
   * refused request, server error, timeout, bad reply). A stopped task tries no further model.
   */
  private async withFallbacks(
    request: GatewayRequest,
    settings: CallSettings,
    signal: AbortSignal,
    log: TaskLogger,
    record: Recorder,
  ): Promise<GatewayOutcome> {
    const failures: ProviderFailure[] = [];
    const skipped = () => failures.map((f) => ({ model: `${f.provider}:${f.model}`, reason: f.reason, message: f.message }));
    for (const spec of request.models) {
      if (signal.aborted) {
        const parts = modelSpecParts(spec);
        failures.push({ reason: 'aborted', ...parts, message: 'the task was stopped before this model was tried' });
        break;
      }
      const parts = splitModelSpec(spec);
      if (settings.allowed && !isAllowed(settings.allowed, spec)) {
        const named = parts ?? { provider: spec, model: spec };
        const message = `model "${spec}" is not available to this task: its pipeline names it nowhere (allowed: ${describeAllowed(settings.allowed)})`;
        failures.push({ reason: 'model-not-allowed', ...named, message });
        await record(spec, { outcome: 'failed', reason: 'model-not-allowed', message });
        log.warn({ event: 'model-refused', model: spec, call: request.call, reason: 'model-not-allowed', message }, 'model refused');
        continue;
      }
      const config = parts && providerConfigFor(parts.provider, settings.providers);
      const state = parts ? this.stateOf(parts.provider) : undefined;
      // Every wait of this call, the gateway's own or its SDK client's request spacing, is told to
      // the manager too (the live line), besides going to task.log.
      const callLog = reportingWaits(log.child({ model: spec, call: request.call }), (wait) => settings.onWaiting?.({ model: spec, ...wait }));
      const cache = this.cacheFor(settings);
      const key = cache && parts && config ? cacheKey({ config, baseURL: resolvedBaseURL(config, this.env), model: parts.model, ...request }) : undefined;
      const hit = key ? await cache?.get(key) : undefined;
      if (hit) {
        log.info(
          { event: 'model-cached', model: hit.model, servedModel: redactText(hit.servedModel), call: request.call, usage: hit.usage },
          'answered from the call cache',
        );
        await record(hit.model, {
          outcome: 'answered',
          cached: true,
          usage: hit.usage,
          servedModel: hit.servedModel,
          ...(hit.finishReason ? { finishReason: hit.finishReason } : {}),
        });
        return {
          result: ok({
            text: hit.text,
            model: hit.model,
            usage: hit.usage,
            latencyMs: 0,
            skipped: skipped(),
            cached: true,
            ...(hit.finishReason ? { finishReason: hit.finishReason } : {}),
          }),
        };
      }
      const admission = state?.health.admit() ?? { kind: 'go' };
      if (parts && admission.kind === 'skip') {
        const message = `provider "${parts.provider}" is marked down after failing to connect; it is tried again in ${Math.ceil(admission.retryInMs / 1000)} s`;
        failures.push({ reason: 'provider-down', ...parts, message });
        log.warn({ event: 'model-skipped', model: spec, call: request.call, reason: 'provider-down', message }, 'model skipped');
        continue;
      }
      let ticket: Ticket | undefined;
      let started: number | undefined;
      try {
        // Without workspace limits (a process that never read pipeline.json), the snapshot's apply.
        state?.budget.setLimits(this.workspaceLimits ? this.workspaceLimits.get(parts?.provider ?? '') : config?.limits);
        const onWait: OnWait = (reason, waitMs) =>
          callLog.info({ event: 'model-waiting', reason, ...(waitMs === undefined ? {} : { waitMs }) }, `waiting for the provider (${reason})`);
        const estimate = estimateTokens(JSON.stringify(request.messages)) + OUTPUT_TOKENS_RECKONED[config?.type ?? 'mock'];
        ticket = await admitted(state?.budget.admit(estimate, signal, onWait, settings.caller), spec, signal);
        const { provider, name, model } = await this.pool.get(spec, settings.providers, settings.maxRetries);
        // The mock sends no request of its own: its spacing and pauses are applied here.
        if (config?.type === 'mock') await admitted(state?.budget.beforeRequest(signal, onWait), spec, signal);
        log.info({ event: 'model-call', model: spec, call: request.call, ...(request.rung ? { rung: request.rung } : {}) }, 'calling model');
        started = performance.now();
        const completion = await withCallLog(callLog, () =>
          provider.complete({
            model,
            spec,
            messages: request.messages,
            schema: request.schema,
            schemaName: request.schemaName,
            call: request.call,
            signal,
            mock: request.mock,
          }),
        );
        ticket?.settle(completion.usage.inputTokens + completion.usage.outputTokens);
        const latencyMs = Math.round(performance.now() - started);
        const answered = `${name}:${model}`;
        const servedModel = redactText(completion.model);
        const finishReason = completion.finishReason === undefined ? undefined : redactText(completion.finishReason);
        log.info(
          { event: 'model-replied', model: answered, servedModel, call: request.call, latencyMs, usage: completion.usage, finishReason },
          'model replied',
        );
        // A server that echoes the request's headers must not hand the task (or its artifacts) a key.
        const reply = redact(completion.text);
        if (reply.names.length)
          log.warn({ event: 'secrets-redacted', model: answered, call: request.call, variables: reply.names }, 'API keys taken out of a model reply');
        const costUsd = costOf(completion.usage, answered, settings.prices);
        await record(answered, {
          outcome: 'answered',
          usage: completion.usage,
          servedModel,
          latencyMs,
          ...(costUsd === undefined ? {} : { costUsd }),
          ...(finishReason === undefined ? {} : { finishReason }),
        });
        const answer: Answer = {
          text: reply.text,
          model: answered,
          usage: completion.usage,
          latencyMs,
          skipped: skipped(),
          ...(costUsd === undefined ? {} : { costUsd }),
          ...(finishReason === undefined ? {} : { finishReason }),
        };
        const keep = key && cache && !NOT_CACHED_FINISHES.has(completion.finishReason ?? '') ? { cache, key } : undefined;
        const stored: CachedReply = {
          model: answered,
          servedModel,
          text: reply.text,
          usage: completion.usage,
          finishReason,
          latencyMs,
          createdAt: new Date().toISOString(),
        };
        return {
          result: ok(answer),
          // A reply that cannot be stored is still the answer.
          ...(keep
            ? {
                store: () =>
                  keep.cache
                    .put(keep.key, stored)
                    .catch((error: unknown) =>
                      log.warn({ event: 'cache-write-failed', message: error instanceof Error ? error.message : String(error) }, 'could not store the reply'),
                    ),
              }
            : {}),
        };
      } catch (error) {
        ticket?.settle(0);
        // A failed probe's server error counts as one (it doubles the while) before the probe is let go.
        if (error instanceof ProviderError && error.failure.reason === 'server-error') state?.health.serverError();
        if (admission.kind === 'probe' && state?.health.isProbing) state.health.probeAbandoned();
        if (!(error instanceof ProviderError)) throw error;
        const failure = { ...error.failure, message: redactText(error.failure.message) };
        failures.push(failure);
        log.warn(
          { event: 'model-failed', model: spec, call: request.call, reason: failure.reason, status: failure.status, message: failure.message },
          'model failed',
        );
        // A call given up before its request left made nothing the provider could bill: no line.
        if (started !== undefined || failure.reason !== 'aborted') {
          const latencyMs = started === undefined ? 0 : Math.round(performance.now() - started);
          await record(spec, { outcome: failure.reason === 'aborted' ? 'aborted' : 'failed', reason: failure.reason, message: failure.message, latencyMs });
        }
        // A stopped task tries nothing more. Nor does a rate limit that outlasted the SDK's retries
        // (which honour retry-after): the contract falls back on auth, other 4xx, 5xx and timeouts.
        if (failure.reason === 'aborted' || failure.reason === 'rate-limited') break;
      }
    }
    return { result: err(failures) };
  }
}

/** What a call came to: the answer or every model's failure, and how to keep a good answer. */
export interface GatewayOutcome {
  result: Result<Answer, ProviderFailure[]>;
  /** Puts the answer into the call cache; present only for an answer that may be kept. */
  store?: () => Promise<unknown>;
  /** The call waits for the Batch API: the task ends parked, and runs again once the answer is in. */
  parked?: { id: string; provider: string } | undefined;
}

type LineFields = {
  outcome: 'answered' | 'failed' | 'aborted';
  usage?: CallUsage;
  costUsd?: number;
  latencyMs?: number;
  servedModel?: string;
  finishReason?: string;
  cached?: true;
  reason?: string;
  message?: string;
};
type Recorder = (model: string, fields: LineFields) => Promise<void>;

/**
 * Writes this call's lines to the task's ledger. A line that cannot be written is said in task.log;
 * the answer, already paid for, still goes to the task.
 */
function recorder(request: GatewayRequest, settings: CallSettings, log: TaskLogger): Recorder {
  const ledger = settings.ledger;
  if (!ledger) return async () => {};
  const modelAsked = request.models[0] ?? '';
  return async (model, fields) => {
    const { usage = { inputTokens: 0, outputTokens: 0 }, latencyMs, ...rest } = fields;
    await appendCall(ledger, {
      ...(request.item === undefined ? {} : { item: request.item }),
      call: request.call,
      modelAsked,
      ...(request.rung ? { rung: request.rung } : {}),
      model,
      usage,
      latencyMs: latencyMs ?? 0,
      ...rest,
    }).then(
      () => settings.onRecorded?.({ model, outcome: fields.outcome, cached: fields.cached === true, usage, costUsd: fields.costUsd, rung: request.rung ?? 0 }),
      (error: unknown) =>
        log.error(
          { event: 'ledger-write-failed', call: request.call, message: error instanceof Error ? error.message : String(error) },
          'could not record the call in calls.jsonl',
        ),
    );
  };
}

function describeAllowed(allowed: AllowedModels): string {
  const providers = allowed.providers.map((provider) => `${provider}:*`);
  return [...allowed.specs, ...providers].join(', ') || 'none';
}

/** A wait for the budget that the task gave up on is an aborted call, as a provider reports one. */
async function admitted<T>(waiting: Promise<T> | undefined, spec: string, signal: AbortSignal): Promise<T | undefined> {
  try {
    return await waiting;
  } catch (error) {
    if (!signal.aborted) throw error;
    const parts = modelSpecParts(spec);
    throw new ProviderError({
      reason: 'aborted',
      ...parts,
      message: `the call to ${spec} was aborted because the task was stopped while it waited for the provider's budget`,
    });
  }
}
