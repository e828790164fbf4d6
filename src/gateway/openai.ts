import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { connectionDetail, errorDetail, toProviderError, type SdkFailure } from './provider-errors.js';
import { preview, readKey, sharedClientOptions, withoutDialect, type KeyInfo } from './sdk-common.js';
import type { CallUsage } from '../formats/ledger.js';
import type { Completion, CompletionRequest, Provider, ProviderSetup } from './types.js';

/**
 * OpenAI, and any OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio) through `baseURL`.
 * Chat Completions, since that is the endpoint local servers implement; structured output with
 * `response_format: json_schema`. Retries, backoff and `retry-after` are the SDK's own.
 */
export class OpenAIProvider implements Provider {
  private readonly client: OpenAI;
  private readonly key: KeyInfo;

  constructor(private readonly setup: ProviderSetup) {
    this.key = readKey(setup);
    this.client = openaiClient(setup, this.key);
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    let response: unknown;
    try {
      response = await this.client.chat.completions.create(chatCompletionBody(request), { signal: request.signal });
    } catch (error) {
      throw toProviderError(classify(error, request.signal), { ...this.setup, model: request.model }, this.key);
    }
    const completion = asChatCompletion(response);
    if (!completion) {
      throw toProviderError(
        { kind: 'bad-response', detail: `expected a chat completion, got ${preview(response)}` },
        { ...this.setup, model: request.model },
        this.key,
      );
    }
    return completionOf(completion, request.model);
  }
}

/** The SDK's client for a provider's settings and key. */
export function openaiClient(setup: ProviderSetup, key: KeyInfo): OpenAI {
  // Local servers take any key; the SDK insists on one.
  return new OpenAI({ apiKey: key.apiKey ?? 'no-key', ...sharedClientOptions(setup, key) });
}

/** The Chat Completions body for a request: what a real-time call sends, and a batch line's `body`. */
export function chatCompletionBody(request: Pick<CompletionRequest, 'model' | 'messages' | 'schema' | 'schemaName'>) {
  return {
    model: request.model,
    messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
    ...(request.schema
      ? {
          response_format: {
            type: 'json_schema' as const,
            // Not strict: strict mode only takes schemas with every property required and no
            // extra keywords, and we validate the reply ourselves anyway.
            json_schema: { name: schemaName(request.schemaName), schema: withoutDialect(request.schema), strict: false },
          },
        }
      : {}),
  };
}

/** A chat completion as POP's Completion (`model` is the one asked for, when the server names none). */
export function completionOf(completion: ChatCompletion, model: string): Completion {
  const choice = completion.choices[0];
  return {
    // A refusal comes instead of content; as the reply it fails parsing and gets feedback.
    text: choice?.message?.content ?? choice?.message?.refusal ?? '',
    model: completion.model || model,
    usage: usageOf(completion.usage),
    latencyMs: 0,
    finishReason: !choice?.message?.content && choice?.message?.refusal ? 'refusal' : (choice?.finish_reason ?? undefined),
  };
}

/** Chat Completions usage: `prompt_tokens` includes the cached ones, `completion_tokens` the reasoning ones. */
function usageOf(usage: OpenAI.Completions.CompletionUsage | undefined): CallUsage {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const reasoning = usage?.completion_tokens_details?.reasoning_tokens ?? 0;
  return {
    inputTokens: usage?.prompt_tokens ?? 0,
    outputTokens: usage?.completion_tokens ?? 0,
    ...(cached ? { cachedInputTokens: cached } : {}),
    ...(reasoning ? { reasoningTokens: reasoning } : {}),
  };
}

function classify(error: unknown, signal: AbortSignal): SdkFailure {
  if (signal.aborted || error instanceof APIUserAbortError) return { kind: 'aborted' };
  if (error instanceof APIConnectionTimeoutError) return { kind: 'timeout' };
  if (error instanceof APIConnectionError) return { kind: 'connection', detail: connectionDetail(error.cause ?? error) };
  if (error instanceof APIError && typeof error.status === 'number') return { kind: 'http', status: error.status, detail: errorDetail(error) };
  // A 200 whose body is not JSON: the SDK's JSON parse threw.
  return { kind: 'bad-response', detail: errorDetail(error) };
}

export type ChatCompletion = OpenAI.Chat.Completions.ChatCompletion;

/** A body that is not JSON, or JSON of another shape, comes back from the SDK as is. */
export function asChatCompletion(value: unknown): ChatCompletion | undefined {
  if (!value || typeof value !== 'object' || !Array.isArray((value as ChatCompletion).choices)) return undefined;
  return value as ChatCompletion;
}

/** OpenAI's schema names are `[a-zA-Z0-9_-]{1,64}`. */
function schemaName(name: string | undefined): string {
  return (name ?? 'output').replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64) || 'output';
}
