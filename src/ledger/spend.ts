import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ledgerPathOf } from './ledger-file.js';
import { parseCallLine } from './read-ledger.js';

interface FileSpend {
  /** Bytes read so far: a ledger only grows, so only what was appended since is read again. */
  offset: number;
  costUsd: number;
}

/**
 * What a run and its tasks have spent so far, by their ledgers, for `maxCostUsd`. Every writer's
 * lines count (the manager's, workers' on other machines): each check reads what was appended to
 * the run's calls.jsonl files since the last one, and no more.
 */
export class SpendMeter {
  private readonly files = new Map<string, FileSpend>();

  /** USD spent by one task of `run` (its lines in that task's ledger). */
  async ofTask(taskDir: string, run: string): Promise<number> {
    return this.ofFile(ledgerPathOf(taskDir), run);
  }

  /** USD spent by every task of the run in `runDir`. */
  async ofRun(runDir: string, run: string): Promise<number> {
    const tasks = await readdir(join(runDir, 'tasks')).catch(() => [] as string[]);
    let total = 0;
    for (const task of tasks) total += await this.ofFile(ledgerPathOf(join(runDir, 'tasks', task)), run);
    return total;
  }

  private async ofFile(path: string, run: string): Promise<number> {
    const key = `${run}\u0000${path}`;
    const known = this.files.get(key) ?? { offset: 0, costUsd: 0 };
    const size = await stat(path).then(
      (info) => info.size,
      () => 0,
    );
    if (size > known.offset) {
      const handle = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(size - known.offset);
        await handle.read(buffer, 0, buffer.length, known.offset);
        // Only whole lines: a line still being written is read next time.
        const end = buffer.lastIndexOf(0x0a) + 1;
        for (const line of buffer.subarray(0, end).toString('utf8').split('\n')) {
          const record = line.trim() ? parseCallLine(line) : undefined;
          if (record && record.run === run && !record.cached) known.costUsd += record.costUsd ?? 0;
        }
        known.offset += end;
      } finally {
        await handle.close();
      }
    }
    this.files.set(key, known);
    return known.costUsd;
  }
}
