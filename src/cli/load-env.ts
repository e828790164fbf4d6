import { existsSync } from 'node:fs';
import type { WorkspacePaths } from '../workspace.js';

/** Keys may live in the workspace's .env; variables already set in the environment win. */
export function loadWorkspaceEnv(paths: WorkspacePaths): void {
  if (existsSync(paths.envFile)) process.loadEnvFile(paths.envFile);
}
