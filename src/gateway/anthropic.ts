import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { jsonSchemaOutputFormat } from '@anthropic-ai/sdk/helpers/json-schema';
import { connectionDetail, errorDetail, toProviderError, type SdkFailure } from './provider-errors.js';
import { preview, readKey, sharedClientOptions, withoutDialect, type KeyInfo } from './sdk-common.js';
import type { CallUsage } from '../formats/ledger.js';
import type { Completion, CompletionRequest, Provider, ProviderSetup } from './types.js';

/** Anthropic's Messages API requires a reply budget; generous enough for structured task outputs. */
const MAX_OUTPUT_TOKENS = 8192;

/**
 * Anthropic through its official SDK: the Messages API, structured output with
 * `output_config.format`. Retries, backoff and `retry-after` are the SDK's own.
 */
export class AnthropicProvider implements Provider {
  private readonly client: Anthropic;
  private readonly key: KeyInfo;

  constructor(private readonly setup: ProviderSetup) {
    this.key = readKey(setup);
    this.client = anthropicClient(setup, this.key);
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    let response: unknown;
    try {
      response = await this.client.messages.create(messagesBody(request, this.setup), { signal: request.signal });
    } catch (error) {
      throw toProviderError(classify(error, request.signal), { ...this.setup, model: request.model }, this.key);
    }
    const message = asMessage(response);
    if (!message) {
      throw toProviderError(
        { kind: 'bad-response', detail: `expected a message, got ${preview(response)}` },
        { ...this.setup, model: request.model },
        this.key,
      );
    }
    return completionOf(message, request.model);
  }
}

/** The SDK's client for a provider's settings and key. */
export function anthropicClient(setup: ProviderSetup, key: KeyInfo): Anthropic {
  return new Anthropic({ apiKey: key.apiKey ?? null, ...sharedClientOptions(setup, key) });
}

/** The Messages body for a request: what a real-time call sends, and a batch request's `params`. */
export function messagesBody(
  request: Pick<CompletionRequest, 'model' | 'messages' | 'schema'>,
  setup: Pick<ProviderSetup, 'name' | 'log'>,
): Anthropic.Messages.MessageCreateParamsNonStreaming {
  const system = request.messages
    .filter((message) => message.role === 'system')
    .map((message) => message.content)
    .join('\n\n');
  const turns = request.messages
    .filter((message) => message.role !== 'system')
    .map((message) => ({ role: message.role as 'user' | 'assistant', content: message.content }));
  return {
    model: request.model,
    max_tokens: MAX_OUTPUT_TOKENS,
    messages: turns,
    ...(system ? { system } : {}),
    ...(request.schema ? { output_config: { format: { type: 'json_schema' as const, schema: outputSchema(request.schema, setup) } } } : {}),
  };
}

/** A message as POP's Completion (`model` is the one asked for, when the server names none). */
export function completionOf(message: Message, model: string): Completion {
  return {
    text: message.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
    model: message.model || model,
    usage: usageOf(message.usage),
    latencyMs: 0,
    finishReason: message.stop_reason ?? undefined,
  };
}

/**
 * Anthropic's structured output takes a subset of JSON Schema: the SDK's helper moves what it does
 * not support (string lengths, array bounds above 1, ...) into descriptions. A schema the helper
 * cannot take (not an object at the top) is sent as it is; we validate the reply either way.
 */
function outputSchema(schema: Record<string, unknown>, setup: Pick<ProviderSetup, 'name' | 'log'>): Record<string, unknown> {
  try {
    return jsonSchemaOutputFormat(schema as Parameters<typeof jsonSchemaOutputFormat>[0]).schema as Record<string, unknown>;
  } catch (error) {
    setup.log.warn(
      { event: 'schema-not-adapted', provider: setup.name, message: error instanceof Error ? error.message : String(error) },
      'the output schema is sent to Anthropic as it is',
    );
    return withoutDialect(schema);
  }
}

/**
 * Anthropic counts cache reads and cache writes apart from `input_tokens`; POP's `inputTokens` is
 * every input token, as OpenAI counts them, with the cached and written shares named inside it.
 */
function usageOf(usage: Anthropic.Messages.Usage | undefined): CallUsage {
  const read = usage?.cache_read_input_tokens ?? 0;
  const written = usage?.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: (usage?.input_tokens ?? 0) + read + written,
    outputTokens: usage?.output_tokens ?? 0,
    ...(read ? { cachedInputTokens: read } : {}),
    ...(written ? { cacheWriteTokens: written } : {}),
  };
}

function classify(error: unknown, signal: AbortSignal): SdkFailure {
  if (signal.aborted || error instanceof APIUserAbortError) return { kind: 'aborted' };
  if (error instanceof APIConnectionTimeoutError) return { kind: 'timeout' };
  if (error instanceof APIConnectionError) return { kind: 'connection', detail: connectionDetail(error.cause ?? error) };
  if (error instanceof APIError && typeof error.status === 'number') {
    // Anthropic's error body is { type: 'error', error: { type, message } }: its message is the words.
    return { kind: 'http', status: error.status, detail: error.apiMessage ?? errorDetail(error) };
  }
  // A 200 whose body is not JSON: the SDK's JSON parse threw.
  return { kind: 'bad-response', detail: errorDetail(error) };
}

type Message = Anthropic.Messages.Message;

/** A body that is not JSON, or JSON of another shape, comes back from the SDK as is. */
export function asMessage(value: unknown): Message | undefined {
  if (!value || typeof value !== 'object' || !Array.isArray((value as Message).content)) return undefined;
  return value as Message;
}
