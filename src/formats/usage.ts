import { z } from 'zod';

export const UsageSchema = z.strictObject({
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  calls: z.number().int().min(0),
});
export type Usage = z.output<typeof UsageSchema>;
