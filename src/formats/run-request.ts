import { z } from 'zod';

/**
 * pipeline-current/.requests/<run>.json: asks the running manager to (re)start a run, written by
 * `resume` and `rerun` so that the manager stays the only process working on runs.
 */
export const RunRequestSchema = z.object({
  run: z.string(),
  action: z.enum(['resume']),
  /** `current`: replace the run's pipeline snapshot with the workspace's pipeline.json first. */
  pipeline: z.enum(['snapshot', 'current']),
  requestedAt: z.string(),
  pid: z.number().int(),
});
export type RunRequest = z.output<typeof RunRequestSchema>;
