import { editDistance } from '../util/edit-distance.js';

export const STAGE_FUNCTIONS = ['ingest', 'preprocess', 'each', 'prompt', 'infer', 'parse', 'validate', 'critique', 'finalize'] as const;

/**
 * Keys of a task object that look like a misspelt stage (`promt`, `validat`): a stage spelt wrong is
 * otherwise silently never called, or reported as a missing `prompt` far from the typo.
 */
export function misspeltStages(record: Record<string, unknown>): Array<{ key: string; stage: string }> {
  const known = new Set<string>([...STAGE_FUNCTIONS, 'output', 'description']);
  const found: Array<{ key: string; stage: string }> = [];
  for (const key of Object.keys(record)) {
    if (known.has(key) || typeof record[key] !== 'function') continue;
    const closest = STAGE_FUNCTIONS.map((stage) => ({ stage, distance: editDistance(key.toLowerCase(), stage) })).sort((a, b) => a.distance - b.distance)[0]!;
    if (closest.distance <= 2 && record[closest.stage] === undefined) found.push({ key, stage: closest.stage });
  }
  return found;
}
