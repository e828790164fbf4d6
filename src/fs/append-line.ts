import { open } from 'node:fs/promises';

/**
 * Append one line with a single write on an O_APPEND descriptor, so a line is never interleaved
 * with another writer's and a crash leaves whole lines only.
 */
export async function appendLine(path: string, line: string): Promise<void> {
  if (line.includes('\n')) throw new Error(`appendLine: a line must not contain a newline (${path})`);
  const handle = await open(path, 'a');
  try {
    const buffer = Buffer.from(`${line}\n`);
    const { bytesWritten } = await handle.write(buffer, 0, buffer.length);
    if (bytesWritten !== buffer.length) throw new Error(`short write appending to ${path}`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
