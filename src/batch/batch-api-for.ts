import type { TypedProviderConfig } from '../gateway/types.js';
import type { TaskLogger } from '../util/logger.js';
import type { BatchApi } from './batch-api.js';

export interface BatchApiOptions {
  /** The provider's name in pipeline.json. */
  name: string;
  config: TypedProviderConfig;
  env: NodeJS.ProcessEnv;
  /** Where the mock keeps its batches (one JSON file each). */
  mockDir: string;
  log: TaskLogger;
}

/**
 * The Batch API of a provider, by its type. A missing key is a ProviderError, as for a real-time
 * call. Each provider's SDK is loaded when its first batch needs it: a manager that batches nothing
 * loads none.
 */
export async function batchApiFor(options: BatchApiOptions): Promise<BatchApi> {
  const { name, config, env, log } = options;
  switch (config.type) {
    case 'openai':
      return new (await import('./openai-batch.js')).OpenAIBatchApi({ name, config, env, log });
    case 'anthropic':
      return new (await import('./anthropic-batch.js')).AnthropicBatchApi({ name, config, env, log });
    case 'mock':
      return new (await import('./mock-batch.js')).MockBatchApi(name, options.mockDir, config.batchDelayMs);
  }
}
