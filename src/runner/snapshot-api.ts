/**
 * `pop` inside the runner started from its startup snapshot (the `pop-runner` export condition):
 * the task API the snapshot already holds, so a task module's `import ... from 'pop'` loads no
 * second copy of POP and zod. The same names as POP's entry point (src/index.ts).
 */
import type * as Api from '../index.js';

const POP_API = Symbol.for('pop.task-api');
const api = ((globalThis as Record<symbol, unknown>)[POP_API] as typeof Api | undefined) ?? (await import('../index.js'));

export const z = api.z;
export const defineTask = api.defineTask;
export const needing = api.needing;
export const estimateTokens = api.estimateTokens;
export const truncateToTokens = api.truncateToTokens;
export const chunkByTokens = api.chunkByTokens;
export const extractJson = api.extractJson;
