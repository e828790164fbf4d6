import OpenAI from 'openai';
import type { ProviderConfig } from '../formats/pipeline.js';
import { apiKeyEnvFor } from './index.js';
import { missingKeyError, toProviderError } from './provider-errors.js';
import type { Completion, CompletionRequest, Provider } from './types.js';

export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

/**
 * OpenAI, and any OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio) through `baseURL`.
 * Chat Completions, since that is the endpoint local servers implement. Retries, backoff and
 * `retry-after` are the SDK's own.
 */
export class OpenAIProvider implements Provider {
  private readonly client: OpenAI;
  private readonly keyEnv: string | undefined;
  private readonly apiKey: string | undefined;

  constructor(private readonly setup: { name: string; config: ProviderConfig; env: NodeJS.ProcessEnv }) {
    this.keyEnv = apiKeyEnvFor(setup.config);
    this.apiKey = this.keyEnv ? setup.env[this.keyEnv] : undefined;
    if (this.keyEnv && !this.apiKey) throw missingKeyError(setup.name, '*', this.keyEnv);
    this.client = new OpenAI({
      // Local servers take any key; the SDK insists on one.
      apiKey: this.apiKey ?? 'no-key',
      ...(setup.config.baseURL ? { baseURL: setup.config.baseURL } : {}),
      maxRetries: setup.config.maxRetries ?? DEFAULT_MAX_RETRIES,
      timeout: setup.config.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    try {
      const response = await this.client.chat.completions.create(
        {
          model: request.model,
          messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
          ...(request.schema
            ? { response_format: { type: 'json_schema' as const, json_schema: { name: request.schemaName ?? 'output', schema: request.schema, strict: false } } }
            : {}),
        },
        { signal: request.signal },
      );
      const choice = response.choices?.[0];
      return {
        text: choice?.message?.content ?? '',
        model: response.model || request.model,
        usage: { inputTokens: response.usage?.prompt_tokens ?? 0, outputTokens: response.usage?.completion_tokens ?? 0 },
        latencyMs: 0,
        finishReason: choice?.finish_reason ?? undefined,
      };
    } catch (error) {
      throw toProviderError(error, { provider: this.setup.name, model: request.model, keyEnv: this.keyEnv, apiKey: this.apiKey });
    }
  }
}
