import { PipelineSchema } from '../formats/pipeline.js';
import { readJsonFile } from '../fs/read-json.js';
import type { Gateway } from './gateway.js';

/**
 * Give the gateway the provider limits of the workspace's pipeline.json as it is now. A file that
 * cannot be read leaves the limits the gateway had (a run is not failed for it here).
 */
export async function applyWorkspaceLimits(gateway: Gateway, pipelineFile: string): Promise<void> {
  const pipeline = await readJsonFile(pipelineFile, PipelineSchema, { comments: true });
  if (pipeline.ok) gateway.setWorkspaceLimits(pipeline.value.providers);
}
