import type { WorkspaceCall } from '../../ledger/workspace-calls.js';
import { workspaceCalls } from '../../ledger/workspace-calls.js';
import { sumCalls, type CallTotals } from '../../ledger/sum-calls.js';
import { parseAge } from '../../manager/runs/prune-runs.js';
import type { WorkspacePaths } from '../../workspace.js';
import { EXIT } from '../exit-codes.js';
import { formatCost, table } from '../table.js';

import type { CostGroup } from './cost-groups.js';

export interface CostOptions {
  since?: string | undefined;
  by: CostGroup;
  json: boolean;
}

const groupOf: Record<CostGroup, (call: WorkspaceCall) => string> = {
  model: (call) => call.model,
  task: (call) => `${call.pipeline}/${call.task}`,
  pipeline: (call) => call.pipeline,
  day: (call) => call.at.slice(0, 10),
};

/** `7d`, `12h` back from now, or a date (`2026-11-24`); undefined when absent, NaN when unreadable. */
function sinceOf(text: string | undefined, now = Date.now()): number | undefined {
  if (text === undefined) return undefined;
  const age = parseAge(text);
  return age === undefined ? Date.parse(text) : now - age;
}

/**
 * `pop cost`: what the workspace's runs spent, from their ledgers (every call of every attempt,
 * finished runs and failed ones alike), grouped by model, task, pipeline or day.
 */
export async function costCommand(paths: WorkspacePaths, options: CostOptions): Promise<number> {
  const since = sinceOf(options.since);
  if (Number.isNaN(since)) {
    process.stderr.write('pop: --since takes an age such as 7d or 12h, or a date such as 2026-11-24\n');
    return EXIT.usage;
  }
  const read = await workspaceCalls(paths);
  const calls = read.calls.filter((call) => since === undefined || Date.parse(call.at) >= since);
  const groups = new Map<string, WorkspaceCall[]>();
  for (const call of calls) {
    const key = groupOf[options.by](call);
    groups.set(key, [...(groups.get(key) ?? []), call]);
  }
  const rows = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, group]) => ({ key, ...figures(sumCalls(group), group) }));
  const total = sumCalls(calls);
  const totalFigures = figures(total, calls);
  const report = {
    by: options.by,
    ...(since === undefined ? {} : { since: new Date(since).toISOString() }),
    rows: rows.map(({ key, ...rest }) => ({ [options.by]: key, ...rest })),
    total: totalFigures,
    missingPrices: total.unpriced,
  };

  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else if (calls.length === 0) {
    process.stdout.write(`No model calls recorded in this workspace${options.since ? ` since ${options.since}` : ''}.\n`);
  } else {
    // Batch columns only where the Batch API was used: most workspaces never do.
    const withBatch = totalFigures.batchCalls > 0;
    const batch = (...cells: string[]) => (withBatch ? cells : []);
    const header = [
      options.by.toUpperCase(),
      'CALLS',
      ...batch('BATCH'),
      'CACHED',
      'FAILED',
      'TOKENS IN/OUT',
      'CACHED IN',
      'COST',
      ...batch('BATCH COST', 'REAL-TIME COST'),
    ];
    const line = (name: string, f: ReturnType<typeof figures>) => [
      name,
      String(f.calls),
      ...batch(String(f.batchCalls)),
      String(f.cachedCalls),
      String(f.failedCalls + f.abortedCalls),
      `${f.inputTokens}/${f.outputTokens}`,
      String(f.cachedInputTokens),
      f.costUsd === undefined ? '-' : formatCost(f.costUsd) + (f.unpriced.length ? '+' : ''),
      ...batch(f.batchCostUsd === undefined ? '-' : formatCost(f.batchCostUsd), f.realtimeCostUsd === undefined ? '-' : formatCost(f.realtimeCostUsd)),
    ];
    const out = [header, ...rows.map((row) => line(row.key, row)), line('TOTAL', totalFigures)];
    process.stdout.write(`${table(out)}\n`);
    if (total.unpriced.length) {
      process.stdout.write(
        `\nNo price for ${total.unpriced.join(', ')}: their tokens are counted, their cost is not (add them to "prices" in pipeline.json).\n`,
      );
    }
  }
  if (read.skipped || read.problems.length) {
    process.stderr.write(`pop: ${read.skipped} torn ledger line(s) skipped${read.problems.length ? `; ${read.problems.join('; ')}` : ''}\n`);
  }
  return EXIT.ok;
}

/** The figures of a group of calls, its Batch API calls and their cost apart from the real-time ones. */
function figures(totals: CallTotals, calls: WorkspaceCall[]) {
  const { usage } = totals;
  const batched = calls.filter((call) => call.batch && call.outcome === 'answered');
  const costOfAll = (group: WorkspaceCall[]) =>
    group.reduce<number | undefined>((sum, call) => (call.costUsd === undefined ? sum : (sum ?? 0) + call.costUsd), undefined);
  return {
    batchCalls: batched.length,
    batchCostUsd: costOfAll(batched),
    realtimeCostUsd: costOfAll(calls.filter((call) => !call.batch)),
    calls: usage.calls,
    cachedCalls: usage.cachedCalls ?? 0,
    failedCalls: usage.failedCalls ?? 0,
    abortedCalls: usage.abortedCalls ?? 0,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cachedInputTokens: usage.cachedInputTokens ?? 0,
    costUsd: totals.costUsd,
    unpriced: totals.unpriced,
  };
}
