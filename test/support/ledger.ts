/** A task's calls.jsonl as the tests read it: every line must be a whole, valid record. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CallRecordSchema, type CallRecord } from '../../src/formats/ledger.js';

export async function ledgerOf(runDir: string, task: string): Promise<CallRecord[]> {
  const text = await readFile(join(runDir, 'tasks', task, 'calls.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => CallRecordSchema.parse(JSON.parse(line)));
}
