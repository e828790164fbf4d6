import { z } from 'zod';

/** A lock file: who holds a workspace (`.manager.lock`) or a run (`<run>/.lock`). */
export const LockSchema = z.object({
  pid: z.number().int(),
  command: z.string(),
  acquiredAt: z.string(),
});
export type Lock = z.output<typeof LockSchema>;
