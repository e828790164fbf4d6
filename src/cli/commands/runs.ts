import type { RunRecord } from '../../formats/run-record.js';
import type { WorkspacePaths } from '../../workspace.js';
import { EXIT } from '../exit-codes.js';
import { newestRuns } from '../runs-file.js';
import { formatCalls, formatCost, formatDuration, table } from '../table.js';

export interface RunsOptions {
  pipeline?: string;
  since?: string;
  until?: string;
  limit: number;
  json: boolean;
}

/** `2026-11-24` or any date Date.parse reads; undefined when absent, NaN when unreadable. */
const parseDate = (text: string | undefined) => (text === undefined ? undefined : Date.parse(text));

export async function runsCommand(paths: WorkspacePaths, options: RunsOptions): Promise<number> {
  const since = parseDate(options.since);
  const until = parseDate(options.until);
  for (const [flag, value] of [
    ['--since', since],
    ['--until', until],
  ] as const) {
    if (Number.isNaN(value)) {
      process.stderr.write(`pop: ${flag} takes a date such as 2026-11-24 or 2026-11-24T10:00:00Z\n`);
      return EXIT.usage;
    }
  }
  // A bare date for --until means the whole of that day.
  const untilEnd = until !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(options.until ?? '') ? until + 86_400_000 : until;
  const keep = (record: RunRecord) => {
    if (options.pipeline && record.pipeline !== options.pipeline) return false;
    const at = Date.parse(record.completedAt);
    if (since !== undefined && at < since) return false;
    if (untilEnd !== undefined && at >= untilEnd) return false;
    return true;
  };
  const records = await newestRuns(paths.runsJsonl, keep, options.limit);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
    return EXIT.ok;
  }
  if (records.length === 0) {
    process.stdout.write('No completed runs match.\n');
    return EXIT.ok;
  }
  // An ESCALATED column only when some run climbed an escalation ladder.
  const escalated = records.some((run) => run.totals.escalations);
  const esc = (cell: string) => (escalated ? [cell] : []);
  const rows = [['RUN', 'PIPELINE', 'SEED', 'COMPLETED', 'DURATION', 'CALLS', ...esc('ESCALATED'), 'TOKENS IN/OUT', 'COST']];
  const total = { calls: 0, cachedCalls: 0, batchCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: undefined as number | undefined };
  for (const run of records) {
    rows.push([
      run.id,
      run.pipeline,
      run.seed,
      run.completedAt.replace('T', ' ').slice(0, 19),
      formatDuration(run.durationMs),
      formatCalls(run.totals),
      ...esc(String(run.totals.escalations ?? 0)),
      `${run.totals.inputTokens}/${run.totals.outputTokens}`,
      formatCost(run.totals.costUsd),
    ]);
    total.calls += run.totals.calls;
    total.cachedCalls += run.totals.cachedCalls ?? 0;
    total.batchCalls += run.totals.batchCalls ?? 0;
    total.inputTokens += run.totals.inputTokens;
    total.outputTokens += run.totals.outputTokens;
    if (run.totals.costUsd !== undefined) total.costUsd = (total.costUsd ?? 0) + run.totals.costUsd;
  }
  rows.push([
    `TOTAL (${records.length} run${records.length === 1 ? '' : 's'})`,
    '',
    '',
    '',
    '',
    formatCalls(total),
    ...esc(String(records.reduce((sum, run) => sum + (run.totals.escalations ?? 0), 0))),
    `${total.inputTokens}/${total.outputTokens}`,
    formatCost(total.costUsd),
  ]);
  process.stdout.write(`${table(rows)}\n`);
  return EXIT.ok;
}
