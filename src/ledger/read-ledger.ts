import { readFile } from 'node:fs/promises';
import { CallRecordSchema, type CallRecord } from '../formats/ledger.js';

export interface LedgerRead {
  records: CallRecord[];
  /** Lines that were not a whole, valid record (a crash mid-append): skipped, the rest still count. */
  skipped: number;
  /** Why the file could not be read at all (a missing file is an empty ledger, not a problem). */
  problem?: string;
}

/** Every whole line of a task's calls.jsonl. */
export async function readLedger(path: string): Promise<LedgerRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { records: [], skipped: 0 };
    return { records: [], skipped: 0, problem: `${path} could not be read: ${error instanceof Error ? error.message : String(error)}` };
  }
  const records: CallRecord[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const record = parseCallLine(line);
    if (record) records.push(record);
    else skipped++;
  }
  return { records, skipped };
}

/** One line of a ledger as a record; undefined for a torn or invalid line. */
export function parseCallLine(line: string): CallRecord | undefined {
  try {
    const record = CallRecordSchema.safeParse(JSON.parse(line));
    return record.success ? record.data : undefined;
  } catch {
    return undefined;
  }
}
