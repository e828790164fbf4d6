/**
 * The run's tasks as a graph: each task's `needs` (absent: the task listed before it; the first
 * task: none), and a layering for drawing it (a task sits one column right of its latest need).
 */
export interface GraphNode {
  name: string;
  needs: string[];
  column: number;
  row: number;
}

type PipelineTaskEntry = string | { name?: unknown; needs?: unknown };

/** Task names and needs from a pipeline snapshot, in the pipeline's order; extra names appended. */
export function taskGraph(pipelineTasks: readonly unknown[], statusNames: readonly string[]): GraphNode[] {
  const entries: { name: string; needs: string[] }[] = [];
  let previous: string | undefined;
  for (const raw of pipelineTasks as PipelineTaskEntry[]) {
    const name = typeof raw === 'string' ? raw : typeof raw?.name === 'string' ? raw.name : undefined;
    if (!name) continue;
    const declared = typeof raw === 'object' && Array.isArray(raw.needs) ? raw.needs.filter((need): need is string => typeof need === 'string') : undefined;
    entries.push({ name, needs: declared ?? (previous ? [previous] : []) });
    previous = name;
  }
  for (const name of statusNames) {
    if (!entries.some((entry) => entry.name === name)) {
      entries.push({ name, needs: previous ? [previous] : [] });
      previous = name;
    }
  }
  const known = new Set(entries.map((entry) => entry.name));
  const column = new Map<string, number>();
  // Longest path from a root; a cycle (refused by `validate`, but a snapshot may hold one) stops at the entry count.
  const columnOf = (name: string, depth: number): number => {
    const cached = column.get(name);
    if (cached !== undefined) return cached;
    const entry = entries.find((candidate) => candidate.name === name);
    if (!entry || depth > entries.length) return 0;
    const value = entry.needs.filter((need) => known.has(need)).reduce((max, need) => Math.max(max, columnOf(need, depth + 1) + 1), 0);
    column.set(name, value);
    return value;
  };
  const rowsUsed = new Map<number, number>();
  return entries.map((entry) => {
    const col = columnOf(entry.name, 0);
    const row = rowsUsed.get(col) ?? 0;
    rowsUsed.set(col, row + 1);
    return { name: entry.name, needs: entry.needs.filter((need) => known.has(need)), column: col, row };
  });
}
