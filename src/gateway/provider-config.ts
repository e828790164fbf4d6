import type { ProviderConfig } from '../formats/pipeline.js';
import { BUILT_IN_PROVIDERS } from '../formats/resolve-pipeline.js';
import type { TypedProviderConfig } from './types.js';

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
