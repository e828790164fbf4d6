import type { ProviderConfig } from '../formats/pipeline.js';

/** The variables the built-in providers read their keys from. */
const BUILT_IN_KEY_VARIABLES = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'];
/** Named like an API key: kept from task processes even when no pipeline names it (yet). */
const LOOKS_LIKE_A_KEY = /_API_KEY$/;

const declared = new Set<string>(BUILT_IN_KEY_VARIABLES);

/** Remember the variables a pipeline's providers read keys from (`apiKeyEnv`). */
export function noteKeyVariables(providers: Record<string, ProviderConfig> | undefined): void {
  for (const config of Object.values(providers ?? {})) if (config.apiKeyEnv) declared.add(config.apiKeyEnv);
}

/**
 * The environment of a task process: the manager's, without any provider key. Keys stay in the
 * manager, whose gateway makes the calls; task code (and whatever it starts) never sees them.
 */
export function taskEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || declared.has(name) || LOOKS_LIKE_A_KEY.test(name)) continue;
    clean[name] = value;
  }
  return clean;
}
