import { z } from 'zod';

/**
 * A lock file: who holds a workspace (`.manager.lock`) or a run (`<run>/.lock`). `host`, `bootId`
 * and `heartbeatAt` let a process on another machine sharing the folder judge whether the holder
 * still lives: its heartbeat is renewed every few seconds.
 */
export const LockSchema = z.object({
  pid: z.number().int(),
  command: z.string(),
  acquiredAt: z.string(),
  host: z.string().optional(),
  bootId: z.string().optional(),
  heartbeatAt: z.string().optional(),
});
export type Lock = z.output<typeof LockSchema>;
