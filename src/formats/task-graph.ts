/**
 * The task graph of a pipeline: which tasks each one needs. A task without `needs` needs the task
 * listed before it (the first: none), so an ordered list of tasks keeps its meaning.
 */

export interface GraphEntry {
  name: string;
  /** As written in pipeline.json; undefined when absent. */
  needs?: string[] | undefined;
}

export interface GraphProblem {
  /** Where in pipeline.json, as a path of keys: ['tasks', 2, 'needs', 0]. */
  path: Array<string | number>;
  message: string;
}

/** Each task's direct needs, defaults applied, in pipeline order. */
export function directNeeds(entries: readonly GraphEntry[]): Map<string, string[]> {
  const needs = new Map<string, string[]>();
  entries.forEach((entry, index) => {
    const previous = entries[index - 1];
    needs.set(entry.name, entry.needs ?? (previous ? [previous.name] : []));
  });
  return needs;
}

/** Unknown names, self-needs and cycles, each with its place in pipeline.json and, for a cycle, its path. */
export function graphProblems(entries: readonly GraphEntry[]): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const index = new Map(entries.map((entry, i) => [entry.name, i]));
  entries.forEach((entry, i) => {
    entry.needs?.forEach((need, j) => {
      const path = ['tasks', i, 'needs', j];
      if (need === entry.name) problems.push({ path, message: `task "${entry.name}" needs itself` });
      else if (!index.has(need))
        problems.push({
          path,
          message: `task "${entry.name}" needs "${need}", which is not a task of this pipeline (tasks: ${entries.map((e) => e.name).join(', ')})`,
        });
    });
  });
  if (problems.length > 0) return problems;
  const cycle = findCycle(directNeeds(entries));
  if (cycle) {
    const first = cycle[0]!;
    problems.push({ path: ['tasks', index.get(first)!, 'needs'], message: `the tasks' needs form a cycle: ${cycle.join(' → ')}` });
  }
  return problems;
}

/** One cycle as a closed path (`a → b → a` as ['a', 'b', 'a']), or undefined. */
function findCycle(needs: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const need of needs.get(name) ?? []) {
      const cycle = visit(need);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of needs.keys()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

/** A checked graph: the questions the scheduler and recovery ask of it. */
export class TaskGraph {
  private readonly needs: Map<string, string[]>;

  constructor(entries: readonly GraphEntry[]) {
    this.needs = directNeeds(entries);
  }

  get names(): string[] {
    return [...this.needs.keys()];
  }

  needsOf(name: string): string[] {
    return this.needs.get(name) ?? [];
  }

  /** Every task upstream of `name` (the transitive closure of its needs), in pipeline order. */
  upstreamOf(name: string): string[] {
    const seen = new Set<string>();
    const walk = (task: string) => {
      for (const need of this.needsOf(task)) {
        if (seen.has(need)) continue;
        seen.add(need);
        walk(need);
      }
    };
    walk(name);
    return this.names.filter((task) => seen.has(task));
  }

  /** `name` and every task downstream of it, in pipeline order. */
  downstreamOf(name: string): string[] {
    return this.names.filter((task) => task === name || this.upstreamOf(task).includes(name));
  }

  /** Pipeline order, with every task after all it needs (for a pipeline with forward needs). */
  topologicalOrder(): string[] {
    const placed = new Set<string>();
    const order: string[] = [];
    while (order.length < this.needs.size) {
      const next = this.names.find((task) => !placed.has(task) && this.needsOf(task).every((need) => placed.has(need)));
      if (next === undefined) throw new Error('the task graph has a cycle; graphProblems() should have refused it');
      placed.add(next);
      order.push(next);
    }
    return order;
  }
}
