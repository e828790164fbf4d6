import { describe, expect, it } from 'vitest';
import { formatCost as cliCost, formatDuration as cliDuration } from '../src/cli/table.js';
import { formatCost as pageCost, formatDuration as pageDuration } from '../src/ui/render/format.js';

describe('durations and costs, in the terminal and on the pages', () => {
  it('rounds a duration at the unit it shows: no "60 s" or "60 m"', () => {
    expect(cliDuration(119_999)).toBe('2 m 0 s');
    expect(pageDuration(119_999)).toBe('2 m 0 s');
    expect(cliDuration(59_999)).toBe('1 m 0 s');
    expect(cliDuration(999.7)).toBe('1.0 s');
    expect(cliDuration(7_199_999)).toBe('2 h 0 m');
    expect(cliDuration(61_400)).toBe('1 m 1 s');
    expect(cliDuration(1_234)).toBe('1.2 s');
    expect(cliDuration(42)).toBe('42 ms');
    expect(cliDuration(3_660_000)).toBe('1 h 1 m');
  });

  it('prints the same numbers in both places; only the mark for a missing value differs', () => {
    for (const ms of [0, 12.4, 999, 1_000, 59_949, 59_950, 3_599_499, 3_599_500, 86_400_000]) expect(cliDuration(ms)).toBe(pageDuration(ms));
    for (const usd of [0, 0.0042, 0.01, 1.5]) expect(cliCost(usd)).toBe(pageCost(usd));
    expect([cliDuration(undefined), cliCost(undefined)]).toEqual(['-', '-']);
    expect([pageDuration(undefined), pageCost(undefined)]).toEqual(['–', '–']);
    expect([cliCost(0), cliCost(0.0042), cliCost(1.5)]).toEqual(['$0.00', '$0.0042', '$1.50']);
  });
});
