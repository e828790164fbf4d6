import { z } from 'zod';

export const UsageSchema = z.strictObject({
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  calls: z.number().int().min(0),
  cachedCalls: z.number().int().min(0).optional().describe('calls answered from the call cache: no tokens spent, no cost'),
});
export type Usage = z.output<typeof UsageSchema>;
