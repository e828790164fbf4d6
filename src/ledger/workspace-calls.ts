import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallRecord } from '../formats/ledger.js';
import { readJsonFile } from '../fs/read-json.js';
import { RunStatusSchema } from '../formats/tasks-status.js';
import { runPaths, type WorkspacePaths } from '../workspace.js';
import { ledgerPathOf } from './ledger-file.js';
import { readLedger } from './read-ledger.js';

/** A ledger line with the pipeline of the run that made it. */
export type WorkspaceCall = CallRecord & { pipeline: string };

export interface WorkspaceCalls {
  calls: WorkspaceCall[];
  /** Torn or invalid lines skipped, and ledgers that could not be read. */
  skipped: number;
  problems: string[];
}

/**
 * Every call the runs of a workspace made, from their ledgers, in pipeline-current/ and
 * pipeline-complete/. A rerun's copied tasks carry the lines of the run they came from: only a
 * run's own lines count as its calls.
 */
export async function workspaceCalls(paths: WorkspacePaths): Promise<WorkspaceCalls> {
  const result: WorkspaceCalls = { calls: [], skipped: 0, problems: [] };
  for (const base of [paths.current, paths.complete]) {
    const runs = (await readdir(base, { withFileTypes: true }).catch(() => [])).filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'));
    for (const run of runs) {
      const runDir = join(base, run.name);
      const status = await readJsonFile(runPaths(runDir).status, RunStatusSchema);
      const pipeline = status.ok ? status.value.pipeline : 'unknown';
      const tasks = await readdir(join(runDir, 'tasks')).catch(() => [] as string[]);
      for (const task of tasks) {
        const read = await readLedger(ledgerPathOf(join(runDir, 'tasks', task)));
        result.skipped += read.skipped;
        if (read.problem) result.problems.push(read.problem);
        for (const record of read.records) if (record.run === run.name) result.calls.push({ ...record, pipeline });
      }
    }
  }
  return result;
}
