/** Numbers as people read them on the pages. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} m`;
}

export const formatCost = (usd: number | undefined) => (usd === undefined ? '–' : `$${usd.toFixed(usd < 0.01 && usd > 0 ? 4 : 2)}`);
export const formatCount = (n: number) => n.toLocaleString('en-US');
export const formatTime = (iso: string | undefined) => (iso ? iso.replace('T', ' ').slice(0, 19) : '–');

/** "+12", "-3", "0" (and the same for money and times), for the compare deltas. */
export function formatDelta(before: number | undefined, after: number | undefined, show: (n: number) => string = formatCount): string {
  if (before === undefined || after === undefined) return '';
  const delta = after - before;
  if (delta === 0) return '±0';
  return `${delta > 0 ? '+' : '−'}${show(Math.abs(delta))}`;
}
