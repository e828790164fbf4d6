import Anthropic from '@anthropic-ai/sdk';
import type { ProviderConfig } from '../formats/pipeline.js';
import { apiKeyEnvFor } from './index.js';
import { missingKeyError, toProviderError } from './provider-errors.js';
import { DEFAULT_MAX_RETRIES, DEFAULT_REQUEST_TIMEOUT_MS } from './openai.js';
import type { Completion, CompletionRequest, Provider } from './types.js';

/** Anthropic's Messages API requires a reply budget; generous enough for structured task outputs. */
const MAX_OUTPUT_TOKENS = 8192;

/** Anthropic through its official SDK; structured output with `output_config.format`. */
export class AnthropicProvider implements Provider {
  private readonly client: Anthropic;
  private readonly keyEnv: string | undefined;
  private readonly apiKey: string | undefined;

  constructor(private readonly setup: { name: string; config: ProviderConfig; env: NodeJS.ProcessEnv }) {
    this.keyEnv = apiKeyEnvFor(setup.config);
    this.apiKey = this.keyEnv ? setup.env[this.keyEnv] : undefined;
    if (this.keyEnv && !this.apiKey) throw missingKeyError(setup.name, '*', this.keyEnv);
    this.client = new Anthropic({
      apiKey: this.apiKey ?? null,
      ...(setup.config.baseURL ? { baseURL: setup.config.baseURL } : {}),
      maxRetries: setup.config.maxRetries ?? DEFAULT_MAX_RETRIES,
      timeout: setup.config.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    const system = request.messages.filter((message) => message.role === 'system').map((message) => message.content).join('\n\n');
    const turns = request.messages
      .filter((message) => message.role !== 'system')
      .map((message) => ({ role: message.role as 'user' | 'assistant', content: message.content }));
    try {
      const response = await this.client.messages.create(
        {
          model: request.model,
          max_tokens: MAX_OUTPUT_TOKENS,
          messages: turns,
          ...(system ? { system } : {}),
          ...(request.schema ? { output_config: { format: { type: 'json_schema' as const, schema: request.schema } } } : {}),
        },
        { signal: request.signal },
      );
      const text = (response.content ?? [])
        .map((block) => (block.type === 'text' ? block.text : ''))
        .join('');
      return {
        text,
        model: response.model || request.model,
        usage: { inputTokens: response.usage?.input_tokens ?? 0, outputTokens: response.usage?.output_tokens ?? 0 },
        latencyMs: 0,
        finishReason: response.stop_reason ?? undefined,
      };
    } catch (error) {
      throw toProviderError(error, { provider: this.setup.name, model: request.model, keyEnv: this.keyEnv, apiKey: this.apiKey });
    }
  }
}
