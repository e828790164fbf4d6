import type { Pipeline } from '../formats/pipeline.js';
import { resolveTasks, splitModelSpec } from '../formats/resolve-pipeline.js';
import { apiKeyEnvFor, providerConfigFor } from '../gateway/index.js';

/**
 * API keys the pipeline's models need. A task none of whose models has its key cannot run: an
 * error. A fallback list with some models usable is a warning.
 */
export function keyProblems(pipeline: Pipeline, env: NodeJS.ProcessEnv, file: string): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const task of resolveTasks(pipeline)) {
    const missing: string[] = [];
    for (const spec of task.models) {
      const parts = splitModelSpec(spec);
      const config = parts && providerConfigFor(parts.provider, pipeline.providers);
      const keyEnv = config ? apiKeyEnvFor(config) : undefined;
      if (keyEnv && !env[keyEnv]) missing.push(`${spec} needs ${keyEnv}`);
    }
    if (missing.length === 0) continue;
    const text = `${file}: task "${task.name}": ${missing.join(', ')} (set it in the environment or in the workspace's .env file)`;
    if (missing.length === task.models.length) errors.push(text);
    else warnings.push(`${text}; its other models will be used`);
  }
  return { errors, warnings };
}
