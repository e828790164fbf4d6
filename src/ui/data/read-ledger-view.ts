import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallRecord } from '../../formats/ledger.js';
import { readLedger } from '../../ledger/read-ledger.js';

/** A task's ledger as its page lists it. */
export interface LedgerView {
  lines: CallRecord[];
  /** How many lines there are in all (the page lists the first LISTED). */
  total: number;
  skipped: number;
  /** Why it is not listed (too large, unreadable). */
  problem?: string;
}

/** Lines a page lists at most; `pop cost` and the file itself have the rest. */
export const LISTED_CALLS = 500;
/** A ledger larger than this is not read by the view. */
const MAX_LEDGER_BYTES = 16 * 1024 * 1024;

/** The run's own lines of a task's calls.jsonl; only an item's, on an item's page. */
export async function readLedgerView(runDir: string, run: string, task: string, item: number | undefined): Promise<LedgerView | undefined> {
  const path = join(runDir, 'tasks', task, 'calls.jsonl');
  const size = (await stat(path).catch(() => undefined))?.size;
  if (size === undefined) return undefined;
  if (size > MAX_LEDGER_BYTES)
    return { lines: [], total: 0, skipped: 0, problem: `calls.jsonl is ${Math.round(size / 1048576)} MB: too large to list here (pop cost sums it)` };
  const read = await readLedger(path);
  const own = read.records.filter((line) => line.run === run && (item === undefined || line.item === item));
  return { lines: own.slice(0, LISTED_CALLS), total: own.length, skipped: read.skipped, ...(read.problem ? { problem: read.problem } : {}) };
}
