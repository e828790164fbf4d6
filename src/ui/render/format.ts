/** Numbers as people read them on the pages. */
export { formatCost, formatDuration } from '../../util/format-numbers.js';

export const formatCount = (n: number) => n.toLocaleString('en-US');
export const formatTime = (iso: string | undefined) => (iso ? iso.replace('T', ' ').slice(0, 19) : '–');

/** "+12", "-3", "0" (and the same for money and times), for the compare deltas. */
export function formatDelta(before: number | undefined, after: number | undefined, show: (n: number) => string = formatCount): string {
  if (before === undefined || after === undefined) return '';
  const delta = after - before;
  if (delta === 0) return '±0';
  return `${delta > 0 ? '+' : '−'}${show(Math.abs(delta))}`;
}
