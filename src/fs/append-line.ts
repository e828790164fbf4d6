import { appendFile, open } from 'node:fs/promises';

/**
 * Append one line with a single write on an O_APPEND descriptor, so a line is never interleaved
 * with another writer's. A write cut short (disk full) is undone, so the file keeps whole lines only.
 */
export async function appendLine(path: string, line: string): Promise<void> {
  if (line.includes('\n')) throw new Error(`appendLine: a line must not contain a newline (${path})`);
  const handle = await open(path, 'a');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.from(`${line}\n`);
    try {
      const { bytesWritten } = await handle.write(buffer, 0, buffer.length);
      if (bytesWritten !== buffer.length) throw new Error(`short write appending to ${path} (${bytesWritten} of ${buffer.length} bytes)`);
      await handle.sync();
    } catch (error) {
      await handle.truncate(size).catch(() => {});
      throw error;
    }
  } finally {
    await handle.close();
  }
}

/** How far back a torn line is looked for at most; a line of runs.jsonl is a few kB. */
const TAIL_CHUNK = 64 * 1024;

/**
 * Cut a torn last line (bytes after the last newline, left by a crash in the middle of a write)
 * off a file of lines, so the next line appended starts a line of its own. The bytes cut are
 * appended to `keepIn`, not lost. Returns how many bytes were cut (0 for a whole or missing file).
 */
export async function repairTornTail(path: string, keepIn: string): Promise<number> {
  let handle;
  try {
    handle = await open(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    let end = size;
    // Walk back from the end to the last newline.
    while (end > 0) {
      const start = Math.max(0, end - TAIL_CHUNK);
      const chunk = Buffer.alloc(end - start);
      await handle.read(chunk, 0, chunk.length, start);
      const newline = chunk.lastIndexOf(0x0a);
      if (newline >= 0) {
        end = start + newline + 1;
        break;
      }
      end = start;
    }
    if (end === size) return 0;
    const torn = Buffer.alloc(size - end);
    await handle.read(torn, 0, torn.length, end);
    await appendFile(keepIn, Buffer.concat([torn, Buffer.from('\n')]));
    await handle.truncate(end);
    await handle.sync();
    return torn.length;
  } finally {
    await handle.close();
  }
}
