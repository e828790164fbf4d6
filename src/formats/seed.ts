import { z } from 'zod';

/** A seed is any JSON object; the registry may narrow it with its own `seedSchema`. */
export const SeedSchema = z.record(z.string(), z.unknown());
export type Seed = z.output<typeof SeedSchema>;

export const MAX_SEED_BYTES = 10 * 1024 * 1024;
