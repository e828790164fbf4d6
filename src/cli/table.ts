import { formatCost as formatCostOr, formatDuration as formatDurationOr } from '../util/format-numbers.js';

/** Plain text columns, padded to the widest cell; no dependency needed for this. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export const formatDuration = (ms: number | undefined) => formatDurationOr(ms, '-');

export function formatAge(iso: string, now = Date.now()): string {
  const ms = now - Date.parse(iso);
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h`;
  return `${Math.round(ms / 86_400_000)}d`;
}

export const formatCost = (usd: number | undefined) => formatCostOr(usd, '-');

/** Calls as a person counts them: every answer, with how many came from the call cache. */
export function formatCalls(usage: { calls: number; cachedCalls?: number | undefined; batchCalls?: number | undefined }): string {
  const cached = usage.cachedCalls ?? 0;
  const notes = [...(cached ? [`${cached} cached`] : []), ...(usage.batchCalls ? [`${usage.batchCalls} batch`] : [])];
  return notes.length ? `${usage.calls + cached} (${notes.join(', ')})` : String(usage.calls);
}
