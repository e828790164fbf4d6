import { readFile } from 'node:fs/promises';
import type { Pipeline } from '../formats/pipeline.js';

/**
 * The run's pipeline snapshot, which the manager has checked. It is the user's file byte for byte,
 * so it may have comments: the JSONC parser is loaded only then, keeping it off the usual start-up.
 */
export async function readPipelineSnapshot(path: string): Promise<{ ok: true; value: Pipeline } | { ok: false; error: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, error: `${path}: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    return { ok: true, value: JSON.parse(text) as Pipeline };
  } catch {
    const parsed = (await import('../formats/parse-jsonc.js')).parseJsonc(text);
    return parsed.ok ? { ok: true, value: parsed.value as Pipeline } : { ok: false, error: `${path}: ${parsed.error}` };
  }
}
