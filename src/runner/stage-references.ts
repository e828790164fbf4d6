/**
 * What 01-ingestion.json and 02-preprocessed.json hold when the default stage ran: the seed and
 * the earlier tasks' values are already in the run folder, so they are written as JSON references
 * (`{ "$ref": "../../seed.json" }`, relative to the task folder) instead of copies. A seed of
 * 350 KB otherwise lands in the run twice per task. A custom stage's result is written in full.
 */
export function defaultStageArtifact(inputs: Record<string, string>): { seed: { $ref: string }; inputs: Record<string, { $ref: string }> } {
  return {
    seed: { $ref: '../../seed.json' },
    inputs: Object.fromEntries(Object.entries(inputs).map(([name, path]) => [name, { $ref: `../../${path}#/value` }])),
  };
}
