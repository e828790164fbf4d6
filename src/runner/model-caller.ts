import type { z } from 'zod';
import type { MockBehaviour, Price, ProviderConfig } from '../formats/pipeline.js';
import { expandAliases } from '../formats/resolve-pipeline.js';
import type { Usage } from '../formats/usage.js';
import { costOf } from '../ledger/price.js';
import { addCost, addUsage, emptyUsage, usageOfReply } from '../util/usage.js';
import type { ArtifactWriter } from './artifacts.js';
import { sendVerdict } from './gateway-client.js';
import { AllModelsFailedError, callIdOf, callModels } from './inference.js';
import type { CallModelOptions, InferenceResult, Message } from './task-api.js';
import type { TaskLogger } from './task-log.js';

/** What every call of a task attempt shares: the task's models, schema and providers. */
export interface CallDefaults {
  task: string;
  models: string[];
  /** pipeline.json `models`, to expand an alias given per call. */
  aliases: Record<string, string | string[]> | undefined;
  schema: Record<string, unknown> | undefined;
  providers: Record<string, ProviderConfig> | undefined;
  prices: Record<string, Price> | undefined;
  mock: MockBehaviour | undefined;
  maxRetries: number | undefined;
  signal: AbortSignal;
  /** A fan-out item's index, from 0: its calls say so in the ledger. */
  item?: number | undefined;
}

/** Tokens, calls and cost, added up; an item's meter adds into its task's. */
export class UsageMeter {
  usage: Usage = emptyUsage();
  costUsd: number | undefined;

  constructor(private readonly parent?: UsageMeter) {}

  add(usage: Usage, costUsd: number | undefined): void {
    this.usage = addUsage(this.usage, usage);
    this.costUsd = addCost(this.costUsd, costUsd);
    this.parent?.add(usage, costUsd);
  }
}

/**
 * The one way a task's code reaches a model (`ctx.callModel`, and the default inference): every call
 * gets the next call number of its folder, is metered, and leaves its `04-response*.json`.
 */
export class ModelCaller {
  private readonly numbers = new WeakMap<object, number>();
  /** Calls made so far through this caller. */
  made = 0;
  /** The number of the last call started. */
  lastCall = 0;
  /** Answers the gateway holds for the call cache until the task says what it made of them. */
  private readonly unjudged = new Set<number>();
  /** The refinement calls are made for now (a batched task may make refinements in real time). */
  refinement = 0;
  /** The escalation rung calls are made on, and its models (the task's own on rung 0). */
  private rung = { index: 0, models: undefined as string[] | undefined };

  constructor(
    private readonly defaults: CallDefaults,
    private readonly artifacts: ArtifactWriter,
    readonly meter: UsageMeter,
    private readonly log: TaskLogger,
  ) {}

  /** `byTask`: called by the task's own code, so the artifact also keeps what was sent. */
  async call(messages: Message[], options: CallModelOptions = {}, byTask = false): Promise<InferenceResult> {
    const call = this.artifacts.nextCall();
    this.lastCall = call;
    this.made++;
    const models = options.model === undefined ? (this.rung.models ?? this.defaults.models) : expandAliases(this.defaults.aliases, options.model);
    const schema = options.schema === undefined ? this.defaults.schema : options.schema === null ? undefined : await jsonSchemaOf(options.schema);
    const sent = byTask ? { messages, schema: schema ?? null } : {};
    const d = this.defaults;
    let reply: InferenceResult;
    try {
      reply = await callModels(
        {
          models,
          schema,
          schemaName: d.task.replace(/-/g, '_'),
          mock: d.mock,
          signal: d.signal,
          log: this.log,
          item: d.item,
          rung: this.rung.index,
          refinement: this.refinement,
        },
        messages,
        call,
      );
    } catch (error) {
      if (error instanceof AllModelsFailedError) {
        await this.artifacts.write(this.artifacts.callName('04-response', call), {
          call,
          model: null,
          error: error.message,
          failures: error.failures,
          ...sent,
        });
      }
      throw error;
    }
    const id = callIdOf.get(reply);
    if (id !== undefined && !reply.cached) this.unjudged.add(id);
    // A reply from the call cache counts as a cached call: no tokens spent, no cost. The figures
    // here are the task's own view (output.json); the run's are summed from the gateway's ledger.
    this.meter.add(usageOfReply(reply), reply.cached ? undefined : reply.costUsd);
    await this.writeResponse(call, reply, sent);
    this.numbers.set(reply, call);
    return reply;
  }

  /** Calls without a model of their own go to this escalation rung from now on. */
  useRung(index: number, models: string[]): void {
    this.rung = { index, models: index === 0 ? undefined : models };
  }

  /** Say whether a reply passed validation: only one that did may be kept in the call cache. */
  judge(reply: InferenceResult, ok: boolean): void {
    const id = callIdOf.get(reply);
    if (id === undefined || !this.unjudged.delete(id)) return;
    sendVerdict([id], ok);
  }

  /** The output these calls led to was written: every answer not rejected may be kept. */
  keepTheRest(): void {
    sendVerdict([...this.unjudged], true);
    this.unjudged.clear();
  }

  /** The call number of a reply this caller returned. */
  callOf(reply: InferenceResult): number | undefined {
    return typeof reply === 'object' && reply !== null ? this.numbers.get(reply) : undefined;
  }

  /** A reply a custom `infer` made without ctx.callModel: counted and written as a call of its own. */
  async recordOwnReply(reply: InferenceResult): Promise<number> {
    const call = this.artifacts.nextCall();
    this.lastCall = call;
    this.meter.add({ ...reply.usage, calls: 1 }, costOf(reply.usage, reply.model, this.defaults.prices));
    await this.writeResponse(call, reply, {});
    return call;
  }

  private async writeResponse(call: number, reply: InferenceResult, sent: object): Promise<void> {
    await this.artifacts.write(this.artifacts.callName('04-response', call), {
      call,
      model: reply.model,
      text: reply.text,
      usage: reply.usage,
      latencyMs: reply.latencyMs ?? null,
      skipped: reply.skipped ?? [],
      ...(reply.cached ? { cached: true } : {}),
      ...sent,
    });
  }
}

/** zod's JSON Schema export, loaded only by calls that bring their own schema. */
async function jsonSchemaOf(schema: z.ZodType): Promise<Record<string, unknown>> {
  return (await import('../formats/all-schemas.js')).jsonSchemaOf(schema);
}
