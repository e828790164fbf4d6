import type { TypedProviderConfig } from '../gateway/types.js';
import type { TaskLogger } from '../util/logger.js';
import { AnthropicBatchApi } from './anthropic-batch.js';
import type { BatchApi } from './batch-api.js';
import { MockBatchApi } from './mock-batch.js';
import { OpenAIBatchApi } from './openai-batch.js';

export interface BatchApiOptions {
  /** The provider's name in pipeline.json. */
  name: string;
  config: TypedProviderConfig;
  env: NodeJS.ProcessEnv;
  /** Where the mock keeps its batches (one JSON file each). */
  mockDir: string;
  log: TaskLogger;
}

/** The Batch API of a provider, by its type. A missing key is a ProviderError, as for a real-time call. */
export function batchApiFor(options: BatchApiOptions): BatchApi {
  const { name, config, env, log } = options;
  switch (config.type) {
    case 'openai':
      return new OpenAIBatchApi({ name, config, env, log });
    case 'anthropic':
      return new AnthropicBatchApi({ name, config, env, log });
    case 'mock':
      return new MockBatchApi(name, options.mockDir, config.batchDelayMs);
  }
}
