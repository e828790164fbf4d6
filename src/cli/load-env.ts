import { existsSync, readFileSync } from 'node:fs';
import type { WorkspacePaths } from '../workspace.js';
import { learnEnvFile, learnKeyVariables } from '../secrets/known-secrets.js';

/**
 * Keys may live in the workspace's .env; variables already set in the environment win. Both, and
 * the variables pipeline.json names in `apiKeyEnv`, are what this process redacts from its output.
 */
export function loadWorkspaceEnv(paths: WorkspacePaths): void {
  if (existsSync(paths.envFile)) process.loadEnvFile(paths.envFile);
  learnEnvFile(paths.envFile);
  learnKeyVariables(declaredProviders(paths.pipelineFile));
}

/** pipeline.json's providers, read leniently: a broken file is reported by whoever loads it. */
function declaredProviders(file: string): Record<string, { apiKeyEnv?: string }> | undefined {
  try {
    const providers = (JSON.parse(readFileSync(file, 'utf8')) as { providers?: unknown }).providers;
    return providers && typeof providers === 'object' ? (providers as Record<string, { apiKeyEnv?: string }>) : undefined;
  } catch {
    return undefined;
  }
}
