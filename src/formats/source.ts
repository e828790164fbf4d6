import { z } from 'zod';

/**
 * source.json in a run folder: the pending file the run was claimed from, written once at claim and
 * never changed. At start, a pending seed is taken for the crash-left copy of a run's seed only when
 * all four match; one that merely has the same content is a new drop, and runs.
 */
export const SourceSchema = z.object({
  file: z.string().describe('its name in pipeline-pending/'),
  size: z.number().int().min(0),
  mtimeMs: z.number(),
  sha256: z.string(),
  claimedAt: z.string(),
});
export type Source = z.output<typeof SourceSchema>;
