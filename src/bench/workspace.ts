// Temp workspaces for the benchmark and the chaos check: trivial mock pipelines, seeds, fake completed runs.
import { mkdir, mkdtemp, rename, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/bench/. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

// Trivial tasks: no schema, no imports; a plain object is a valid task.
const TRIVIAL_TASK = `/** @type {import('pop').TaskDefinition} */
export default { prompt: ({ seed }) => 'Say something about ' + String(seed.n) + '. It is a number. Numbers are fine.' };
`;

/** A task entry of pipeline.json (only what these workspaces use). */
export type BenchTaskEntry = string | { name: string; needs?: string[]; concurrency?: number; batch?: boolean };

/** The default: three tasks in a row. */
export const LINEAR_TASKS: BenchTaskEntry[] = ['one', 'two', 'three'];

/**
 * A workspace whose pipeline has these tasks (every one the trivial task unless `modules` has its
 * own source) and, optionally, more of pipeline.json (providers, models).
 */
export async function makeWorkspace(
  options: { tasks?: BenchTaskEntry[]; modules?: Record<string, string>; pipeline?: Record<string, unknown> } = {},
): Promise<string> {
  const tasks = options.tasks ?? LINEAR_TASKS;
  const names = tasks.map((entry) => (typeof entry === 'string' ? entry : entry.name));
  const root = await mkdtemp(join(tmpdir(), 'pop-bench-'));
  await mkdir(join(root, 'pipeline-tasks'), { recursive: true });
  await mkdir(join(root, 'node_modules'), { recursive: true });
  await symlink(REPO, join(root, 'node_modules', 'pop'));
  for (const dir of ['pipeline-pending', 'pipeline-current', 'pipeline-complete']) await mkdir(join(root, dir));
  await writeFile(join(root, 'pipeline.json'), JSON.stringify({ name: 'bench', ...options.pipeline, tasks }));
  for (const name of names) await writeFile(join(root, 'pipeline-tasks', `${name}.js`), options.modules?.[name] ?? TRIVIAL_TASK);
  const ident = (name: string) => `task_${name.replace(/[^a-zA-Z0-9]/g, '_')}`;
  await writeFile(
    join(root, 'pipeline-tasks', 'index.js'),
    `${names.map((name) => `import ${ident(name)} from './${name}.js';`).join('\n')}\nexport default { ${names.map((name) => `${JSON.stringify(name)}: ${ident(name)}`).join(', ')} };\n`,
  );
  return root;
}

/** Drop a seed the way `submit` does: whole file under a hidden name, then rename. */
export async function dropSeed(root: string, name: string, n: number): Promise<void> {
  const temp = join(root, 'pipeline-pending', `.${name}.tmp`);
  await writeFile(temp, JSON.stringify({ n }));
  await rename(temp, join(root, 'pipeline-pending', name));
}

/** Completed runs as a long-lived workspace has them: a folder each and a runs.jsonl line each. */
export async function fakeCompletedRuns(root: string, count: number): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `20260101-000000-old-${String(i).padStart(6, '0')}`;
    const dir = join(root, 'pipeline-complete', id);
    await mkdir(join(dir, 'tasks'), { recursive: true });
    await writeFile(join(dir, 'tasks-status.json'), JSON.stringify({ id, state: 'complete' }));
    lines.push(
      JSON.stringify({
        id,
        pipeline: 'bench',
        seed: `old-${i}.json`,
        startedAt: '2026-01-01T00:00:00.000Z',
        completedAt: '2026-01-01T00:00:01.000Z',
        durationMs: 1000,
        tasks: [],
        totals: { calls: 0, inputTokens: 0, outputTokens: 0 },
        sha256: { seed: 'x', pipeline: 'y' },
      }),
    );
  }
  await writeFile(join(root, 'pipeline-complete', 'runs.jsonl'), `${lines.join('\n')}\n`);
}
