import type { ProviderConfig } from '../formats/pipeline.js';
import { routedLogger } from './call-log.js';
import { createProvider } from './index.js';
import type { Provider } from './types.js';

export interface PooledProvider {
  provider: Provider;
  /** The provider's name in the spec (`oai` in `oai:gpt-4o-mini`). */
  name: string;
  model: string;
}

/**
 * One provider (and so one SDK client, whose connections stay open between calls) per provider
 * name and settings, shared by every task. A provider that could not be built (a missing key) is
 * not kept: the next call tries again.
 */
export class ProviderPool {
  private readonly built = new Map<string, Promise<Provider>>();

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    /** The fetch for a provider's requests, by provider name (limits and health are per provider). */
    private readonly fetchFor: (provider: string) => typeof fetch,
  ) {}

  async get(spec: string, declared: Record<string, ProviderConfig> | undefined, maxRetries: number | undefined): Promise<PooledProvider> {
    const provider = spec.slice(0, spec.indexOf(':'));
    const key = JSON.stringify([provider, declared?.[provider] ?? null, maxRetries ?? null]);
    let building = this.built.get(key);
    if (!building) {
      building = createProvider(spec, declared, { env: this.env, log: routedLogger(), maxRetries, fetch: this.fetchFor(provider) }).then(
        (made) => made.provider,
      );
      this.built.set(key, building);
      building.catch(() => this.built.delete(key));
    }
    const made = await building;
    const colon = spec.indexOf(':');
    return { provider: made, name: spec.slice(0, colon), model: spec.slice(colon + 1) };
  }
}
