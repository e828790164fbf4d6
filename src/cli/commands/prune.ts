import { createInterface } from 'node:readline/promises';
import { removePruneLeftovers, findPrunable, removeRun, type PrunableRun } from '../../manager/runs/prune-runs.js';
import type { WorkspacePaths } from '../../workspace.js';
import { EXIT } from '../exit-codes.js';

export interface PruneOptions {
  failed: boolean;
  complete: boolean;
  olderThanMs: number;
  yes: boolean;
}

const describe = (run: PrunableRun) => `${run.id}  ${run.state}  ${run.updatedAt}`;

async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

/**
 * `prune`: remove failed runs (and complete ones only with --complete) whose state last changed
 * longer ago than --older-than. Asks first on a terminal; elsewhere it needs --yes.
 */
export async function pruneCommand(paths: WorkspacePaths, options: PruneOptions): Promise<number> {
  if (!options.failed && !options.complete) {
    process.stderr.write('pop: say which runs to remove: --failed (failed runs in pipeline-current/), --complete (runs in pipeline-complete/), or both\n');
    return EXIT.usage;
  }
  await removePruneLeftovers(paths);
  const runs = await findPrunable(paths, { failed: options.failed, complete: options.complete, before: Date.now() - options.olderThanMs });
  if (runs.length === 0) {
    process.stdout.write('nothing to remove\n');
    return EXIT.ok;
  }
  if (!options.yes) {
    process.stdout.write(`${runs.length} run(s) to remove:\n${runs.map((run) => `  ${describe(run)}\n`).join('')}`);
    if (!(process.stdin.isTTY && process.stdout.isTTY)) {
      process.stderr.write('pop: not removed: add --yes to remove them without asking\n');
      return EXIT.usage;
    }
    if (!(await confirm(`Remove these ${runs.length} run(s)? [y/N] `))) {
      process.stdout.write('nothing removed\n');
      return EXIT.ok;
    }
  }
  let failures = 0;
  for (const run of runs) {
    const removed = await removeRun(paths, run);
    if (removed.ok) process.stdout.write(`removed ${run.dir}\n`);
    else {
      failures++;
      process.stderr.write(`pop: kept ${run.dir}: ${removed.error}\n`);
    }
  }
  return failures ? EXIT.busy : EXIT.ok;
}
