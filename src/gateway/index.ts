import { silentLogger, type TaskLogger as Logger } from '../util/logger.js';
import type { ProviderConfig } from '../formats/pipeline.js';
import { BUILT_IN_PROVIDERS, splitModelSpec } from '../formats/resolve-pipeline.js';
import { providerConfigFor } from './provider-config.js';
import { ProviderError, type Provider } from './types.js';

export { apiKeyEnvFor, providerConfigFor, resolvedBaseURL } from './provider-config.js';

/**
 * Build the provider for a `provider:model` spec. SDKs are imported only when a task uses them,
 * so a mock task's process never loads them. `log` (the task's logger) receives the SDK's retries.
 */
export async function createProvider(
  spec: string,
  declared: Record<string, ProviderConfig> | undefined,
  options: { env?: NodeJS.ProcessEnv; log?: Logger; maxRetries?: number | undefined; fetch?: typeof fetch | undefined } = {},
): Promise<{ provider: Provider; name: string; model: string }> {
  const parts = splitModelSpec(spec);
  if (!parts) {
    throw new ProviderError({ reason: 'unknown-provider', provider: spec, model: spec, message: `model "${spec}" is not of the form provider:model` });
  }
  const declaredConfig = providerConfigFor(parts.provider, declared);
  // A task's own maxRetries wins over its provider's.
  const config = declaredConfig && options.maxRetries !== undefined ? { ...declaredConfig, maxRetries: options.maxRetries } : declaredConfig;
  if (!config) {
    throw new ProviderError({
      reason: 'unknown-provider',
      provider: parts.provider,
      model: parts.model,
      message: `provider "${parts.provider}" of model "${spec}" is not declared in pipeline.json "providers" (built in: ${BUILT_IN_PROVIDERS.join(', ')})`,
    });
  }
  const named = { name: parts.provider, model: parts.model, config, env: options.env ?? process.env, log: options.log ?? silentLogger, fetch: options.fetch };
  switch (config.type) {
    case 'mock': {
      const { MockProvider } = await import('./mock.js');
      return { provider: new MockProvider(), model: parts.model, name: parts.provider };
    }
    case 'openai': {
      const { OpenAIProvider } = await import('./openai.js');
      return { provider: new OpenAIProvider(named), model: parts.model, name: parts.provider };
    }
    case 'anthropic': {
      const { AnthropicProvider } = await import('./anthropic.js');
      return { provider: new AnthropicProvider(named), model: parts.model, name: parts.provider };
    }
  }
}
