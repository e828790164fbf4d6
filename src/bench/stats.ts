/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (values: number[]) => percentile(values, 50);
export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** How a figure is recorded: its value, its baseline measured in the same run, and its target. */
export type RecordFigure = (
  figure: string,
  value: number,
  baseline: number | undefined,
  unit: string,
  target: { kind: 'ratio' | 'absolute' | 'info'; max: number },
) => void;
