import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../fs/atomic-write.js';
import type { MockBehaviour } from '../formats/pipeline.js';
import type { Message } from '../formats/message.js';
import type { TypedProviderConfig } from './types.js';
import type { CallUsage } from '../formats/ledger.js';

/** Bumped when what a stored reply holds, or how its key is made, changes: old entries then miss. */
const CACHE_FORMAT = 2;

/** Everything that can change a provider's answer to a call. */
export interface CallIdentity {
  config: TypedProviderConfig;
  /** The address the SDK really sends to: pipeline.json's, else the environment's (and .env's), else the provider's own. */
  baseURL: string | null;
  model: string;
  messages: Message[];
  schema?: Record<string, unknown> | undefined;
  schemaName: string;
  mock?: MockBehaviour | undefined;
  call: number;
}

/** A successful reply as it is stored. */
export interface CachedReply {
  /** The spec that answered, `provider:model`. */
  model: string;
  servedModel: string;
  text: string;
  usage: CallUsage;
  finishReason?: string | undefined;
  latencyMs: number;
  createdAt: string;
}

/**
 * The key of a call: sha256 over the provider's type and address, the model, the messages, the
 * output schema and every other request parameter. The key itself is not part of it: two
 * workspaces calling one server with different keys share answers, as the server would give them.
 */
export function cacheKey(identity: CallIdentity): string {
  const { config } = identity;
  const request = {
    format: CACHE_FORMAT,
    type: config.type,
    baseURL: identity.baseURL,
    model: identity.model,
    messages: identity.messages.map((message) => ({ role: message.role, content: message.content })),
    schema: identity.schema ?? null,
    schemaName: identity.schema ? identity.schemaName : null,
    // The mock's answer also depends on its failure settings and on which call of the task it is.
    ...(config.type === 'mock' ? { mock: identity.mock ?? null, call: identity.call } : {}),
  };
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}

/**
 * Validated replies on disk under `.pop/cache/` of the workspace, one file per key in a folder
 * of its first two hex digits, each written whole (temp file, rename): two managers storing one
 * key leave one whole file.
 */
export class CallCache {
  constructor(private readonly dir: string) {}

  private pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<CachedReply | undefined> {
    try {
      const stored = JSON.parse(await readFile(this.pathOf(key), 'utf8')) as { key?: string; reply?: CachedReply };
      return stored.key === key && stored.reply && typeof stored.reply.text === 'string' ? stored.reply : undefined;
    } catch {
      // Missing, or unreadable: a miss, and the next success writes it anew.
      return undefined;
    }
  }

  async put(key: string, reply: CachedReply): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
    await writeJsonAtomic(path, { key, reply });
  }
}

/** What `pop cache stats` tells. */
export interface CacheStats {
  entries: number;
  bytes: number;
  oldest: string | undefined;
  newest: string | undefined;
}

async function* entries(dir: string): AsyncGenerator<{ path: string; size: number; mtimeMs: number }> {
  const shards = await readdir(dir).catch(() => [] as string[]);
  for (const shard of shards) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of await readdir(join(dir, shard)).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
      const path = join(dir, shard, name);
      const info = await stat(path).catch(() => undefined);
      if (info) yield { path, size: info.size, mtimeMs: info.mtimeMs };
    }
  }
}

export async function cacheStats(dir: string): Promise<CacheStats> {
  let count = 0;
  let bytes = 0;
  let oldest = Infinity;
  let newest = -Infinity;
  for await (const entry of entries(dir)) {
    count++;
    bytes += entry.size;
    oldest = Math.min(oldest, entry.mtimeMs);
    newest = Math.max(newest, entry.mtimeMs);
  }
  const when = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : undefined);
  return { entries: count, bytes, oldest: when(oldest), newest: when(newest) };
}

/** Remove stored replies, all of them or those older than `olderThanMs`; says how many went. */
export async function clearCache(dir: string, olderThanMs?: number): Promise<number> {
  const before = olderThanMs === undefined ? Infinity : Date.now() - olderThanMs;
  let removed = 0;
  for await (const entry of entries(dir)) {
    if (entry.mtimeMs >= before) continue;
    await rm(entry.path, { force: true });
    removed++;
  }
  return removed;
}
