import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { RunRecordSchema, type RunRecord } from '../formats/run-record.js';

/**
 * Stream runs.jsonl line by line, keeping only the newest `limit` records that pass `keep`:
 * memory stays flat however long the file grows. Newest first. Unparseable lines are skipped.
 */
export async function newestRuns(path: string, keep: (record: RunRecord) => boolean, limit: number): Promise<RunRecord[]> {
  const kept: RunRecord[] = [];
  let lines;
  try {
    lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      let record: RunRecord;
      try {
        const parsed = RunRecordSchema.safeParse(JSON.parse(line));
        if (!parsed.success) continue;
        record = parsed.data;
      } catch {
        continue;
      }
      if (!keep(record)) continue;
      kept.push(record);
      if (limit > 0 && kept.length > limit) kept.shift();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return kept.reverse();
}

/** The last few records, reading only the end of the file. */
export async function lastRuns(path: string, count: number): Promise<RunRecord[]> {
  const TAIL_BYTES = 256 * 1024;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split('\n').filter(Boolean);
    if (start > 0) lines.shift(); // the first line may be cut
    const records: RunRecord[] = [];
    for (const line of lines.slice(-count).reverse()) {
      try {
        const parsed = RunRecordSchema.safeParse(JSON.parse(line));
        if (parsed.success) records.push(parsed.data);
      } catch {
        // a torn line is skipped
      }
    }
    return records;
  } finally {
    await handle.close();
  }
}
