import { z } from 'zod';

export const SeedRejectionReasonSchema = z.enum([
  'not-json',
  'empty',
  'not-an-object',
  'too-large',
  'not-a-file',
  'unreadable',
  'seed-schema',
  'too-deep',
  'hidden-name',
]);
export type SeedRejectionReason = z.output<typeof SeedRejectionReasonSchema>;

/** pipeline-pending/rejected/<name>.error.json: what was wrong with a dropped seed, where, and when. */
export const SeedRejectionSchema = z.object({
  file: z.string().describe('the seed as it was dropped, relative to the workspace'),
  movedTo: z.string().describe('where the seed is now, relative to the workspace'),
  reason: SeedRejectionReasonSchema,
  message: z.string(),
  where: z.string().optional().describe('line and column, or the field path, of the problem'),
  rejectedAt: z.string(),
});
export type SeedRejection = z.output<typeof SeedRejectionSchema>;
