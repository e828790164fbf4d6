import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallRecord } from '../formats/ledger.js';

/** Where a task's ledger lives, and who writes to it. */
export interface LedgerTarget {
  /** tasks/<task>/calls.jsonl of the run. */
  path: string;
  run: string;
  task: string;
  attempt: number;
}

export const ledgerPathOf = (taskDir: string) => join(taskDir, 'calls.jsonl');

/** A message kept in a ledger line is cut to this: lines stay small, so each is one whole write. */
const MESSAGE_CHARS = 500;

/**
 * Append one call to its task's ledger: one `write` on an O_APPEND descriptor, so lines from many
 * writers (the manager's gateway, workers on other machines) never interleave.
 */
export async function appendCall(target: LedgerTarget, record: Omit<CallRecord, 'run' | 'task' | 'attempt' | 'at'>): Promise<void> {
  const line: CallRecord = {
    run: target.run,
    task: target.task,
    attempt: target.attempt,
    ...record,
    ...(record.message === undefined ? {} : { message: record.message.slice(0, MESSAGE_CHARS) }),
    at: new Date().toISOString(),
  };
  const handle = await open(target.path, 'a');
  try {
    await handle.write(`${JSON.stringify(line)}\n`);
  } finally {
    await handle.close();
  }
}
