import { cacheStats, clearCache } from '../../gateway/call-cache.js';
import type { WorkspacePaths } from '../../workspace.js';
import { EXIT } from '../exit-codes.js';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `7d`, `12h`, `30m`, `2w` in ms; undefined when it is none of those. */
export function parseAge(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([mhdw])$/.exec(text.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : undefined;
}

/** `cache stats`: how many replies the workspace's call cache holds, their size and age. */
export async function cacheStatsCommand(paths: WorkspacePaths, json: boolean): Promise<number> {
  const stats = await cacheStats(paths.callCache);
  if (json) process.stdout.write(`${JSON.stringify({ dir: paths.callCache, ...stats })}\n`);
  else {
    const size = stats.bytes < 1024 * 1024 ? `${(stats.bytes / 1024).toFixed(1)} KB` : `${(stats.bytes / 1024 / 1024).toFixed(1)} MB`;
    process.stdout.write(`${paths.callCache}: ${stats.entries} stored repl${stats.entries === 1 ? 'y' : 'ies'}, ${size}`);
    process.stdout.write(stats.oldest ? ` · oldest ${stats.oldest} · newest ${stats.newest}\n` : '\n');
  }
  return EXIT.ok;
}

/** `cache clear [--older-than 7d]`. */
export async function cacheClearCommand(paths: WorkspacePaths, olderThan: string | undefined): Promise<number> {
  const age = olderThan === undefined ? undefined : parseAge(olderThan);
  if (olderThan !== undefined && age === undefined) {
    process.stderr.write(`pop: --older-than "${olderThan}" is not an age: write a number and m, h, d or w (e.g. 7d)\n`);
    return EXIT.usage;
  }
  const removed = await clearCache(paths.callCache, age);
  process.stdout.write(`removed ${removed} stored repl${removed === 1 ? 'y' : 'ies'} from ${paths.callCache}\n`);
  return EXIT.ok;
}
