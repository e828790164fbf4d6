import { redactText } from './known-secrets.js';

/**
 * Redact what this process prints: the CLI's output (status, errors) and a task's console.log.
 * Each write is redacted whole; console.log and the CLI write a line or a block at a time.
 */
export function redactStandardStreams(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => write(redactChunk(chunk, rest[0]), ...rest)) as typeof stream.write;
  }
}

function redactChunk(chunk: unknown, encoding: unknown): unknown {
  if (typeof chunk === 'string') return typeof encoding === 'string' && !/^utf-?8$/i.test(encoding) ? chunk : redactText(chunk);
  if (!(chunk instanceof Uint8Array)) return chunk;
  const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
  const clean = redactText(text);
  // Unchanged bytes go through as they came (a chunk may end inside a multi-byte character).
  return clean === text ? chunk : Buffer.from(clean);
}
