import type { ProviderConfig } from '../formats/pipeline.js';
import { isSecretVariable, learnKeyVariables } from '../secrets/secret-variables.js';

/** Remember the variables a pipeline's providers read keys from (`apiKeyEnv`). */
export function noteKeyVariables(providers: Record<string, ProviderConfig> | undefined): void {
  learnKeyVariables(providers);
}

/**
 * The environment of a task process: the manager's, without any secret variable. Keys stay in the
 * manager, whose gateway makes the calls; task code (and whatever it starts) never sees them.
 */
export function taskEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || isSecretVariable(name, value)) continue;
    clean[name] = value;
  }
  return clean;
}
