import { silentLogger, type TaskLogger as Logger } from '../runner/task-log.js';
import type { ProviderConfig } from '../formats/pipeline.js';
import { BUILT_IN_PROVIDERS, splitModelSpec } from '../formats/resolve-pipeline.js';
import { ProviderError, type Provider, type TypedProviderConfig } from './types.js';

/**
 * The provider type and settings behind a spec's prefix: declared in pipeline.json, or built in
 * (a built-in provider may be declared without a type, to set its limits).
 */
export function providerConfigFor(name: string, declared: Record<string, ProviderConfig> | undefined): TypedProviderConfig | undefined {
  const config = declared?.[name];
  const builtIn = BUILT_IN_PROVIDERS.find((provider) => provider === name);
  if (config?.type) return { ...config, type: config.type };
  if (builtIn) return { ...config, type: builtIn };
  return undefined;
}

/** The environment variable a provider's key is read from. */
export function apiKeyEnvFor(config: TypedProviderConfig): string | undefined {
  if (config.apiKeyEnv) return config.apiKeyEnv;
  if (config.type === 'openai') return config.baseURL ? undefined : 'OPENAI_API_KEY';
  if (config.type === 'anthropic') return 'ANTHROPIC_API_KEY';
  return undefined;
}

/** Where an SDK sends a provider's requests: its `baseURL`, else the SDK's variable, else the SDK's default. */
export function resolvedBaseURL(config: TypedProviderConfig, env: NodeJS.ProcessEnv): string | null {
  if (config.type === 'mock') return null;
  if (config.baseURL) return config.baseURL;
  if (config.type === 'openai') return env.OPENAI_BASE_URL?.trim() || 'https://api.openai.com/v1';
  return env.ANTHROPIC_BASE_URL?.trim() || 'https://api.anthropic.com';
}

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
