/**
 * `pop init` and workspaces outside POP's clone: no node_modules, so `import ... from 'pop'` in the
 * task modules is provided by the POP that runs them.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, makeTempDir, parseEvents, readRunRecords, workspaceAt } from './support/workspace.js';

/** The CLI run from `cwd`, without --root: as a user in a terminal would. */
async function popIn(cwd: string, args: string[]) {
  const result = await execa(process.execPath, [CLI, ...args], { cwd, reject: false, stdin: 'ignore', timeout: 50_000 });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, events: parseEvents(result.stdout) };
}

/** Every file under a folder, relative to it, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1) + (entry.isDirectory() ? '/' : '')).sort();
}

describe('pop init', () => {
  it('creates a workspace outside the repository in which a seed runs, with no node_modules anywhere', async () => {
    const parent = await makeTempDir();
    const root = join(parent, 'my-pipeline');
    const init = await popIn(parent, ['init', 'my-pipeline', '--minimal']);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).toContain(`created a POP workspace (minimal) in ${root}`);
    expect(init.stdout).toContain('  cd my-pipeline\n  pop submit examples/seeds/*.json\n  pop start --once');
    expect(await filesUnder(root)).toEqual([
      '.gitignore',
      '.pop/',
      '.pop/pipeline.schema.json',
      '.pop/workspace-id',
      'examples/',
      'examples/seeds/',
      'examples/seeds/hello.json',
      'jsconfig.json',
      'pipeline-complete/',
      'pipeline-current/',
      'pipeline-pending/',
      'pipeline-tasks/',
      'pipeline-tasks/index.js',
      'pipeline-tasks/package.json',
      'pipeline-tasks/pop-types.d.ts',
      'pipeline-tasks/summarize.js',
      'pipeline.json',
    ]);
    // $schema names the copy in the workspace, which is the format's current JSON Schema.
    expect(await readFile(join(root, 'pipeline.json'), 'utf8')).toContain('"$schema": "./.pop/pipeline.schema.json"');
    expect(await readFile(join(root, '.pop', 'pipeline.schema.json'), 'utf8')).toBe(
      await readFile(join(REPO_ROOT, 'docs', 'schemas', 'pipeline.schema.json'), 'utf8'),
    );
    expect((await readFile(join(root, '.gitignore'), 'utf8')).split('\n')).toEqual(
      expect.arrayContaining(['pipeline-pending/', 'pipeline-current/', 'pipeline-complete/', '.env', '.pop/cache/', '*.tgz']),
    );

    const submit = await popIn(root, ['submit', 'examples/seeds/hello.json']);
    expect(submit).toMatchObject({ exitCode: 0, stdout: 'hello.json', stderr: '' });
    const start = await popIn(root, ['start', '--once', '--json']);
    expect(start.exitCode, start.stderr).toBe(0);
    expect(start.events.filter((line) => line.event === 'task-failed')).toEqual([]);
    const records = await readRunRecords(workspaceAt(root));
    expect(records.map((record) => [record.seed, record.tasks.map((task) => task.name)])).toEqual([['hello.json', ['summarize']]]);
    const output = JSON.parse(await readFile(join(root, 'pipeline-complete', records[0]!.id, 'tasks', 'summarize', 'output.json'), 'utf8')) as {
      value: { summary: string; keywords: string[] };
    };
    expect(output.value.keywords.length).toBeGreaterThanOrEqual(3);
    for (let dir = root; dir !== '/'; dir = join(dir, '..')) expect(existsSync(join(dir, 'node_modules')), `${dir}/node_modules`).toBe(false);
  });

  it('refuses to write over existing files, naming them, and writes nothing', async () => {
    const root = await makeTempDir();
    await writeFile(join(root, 'pipeline.json'), '{ "mine": true }\n');
    await mkdir(join(root, 'pipeline-tasks'));
    await writeFile(join(root, 'pipeline-tasks', 'index.js'), '// mine\n');
    // --root names the folder as for every other command.
    const init = await popIn(REPO_ROOT, ['init', '--root', root]);
    expect(init.exitCode).toBe(2);
    expect(init.stderr).toBe(
      `pop: ${root} already has pipeline-tasks/index.js, pipeline.json; init writes nothing over existing files (choose an empty folder)`,
    );
    expect(await filesUnder(root)).toEqual(['pipeline-tasks/', 'pipeline-tasks/index.js', 'pipeline.json']);
    expect(await readFile(join(root, 'pipeline.json'), 'utf8')).toBe('{ "mine": true }\n');
  });

  it("writes a jsconfig.json with which the editor type-checks task files against POP's types", async () => {
    const root = await makeTempDir();
    expect((await popIn(root, ['init', '--minimal'])).exitCode).toBe(0);
    const task = join(root, 'pipeline-tasks', 'summarize.js');
    await writeFile(task, (await readFile(task, 'utf8')).replace('summary.length > 600', 'summary.lenght > 600'));
    const tsc = await execa(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'jsconfig.json')], { cwd: root, reject: false });
    // The one error is the typo: `pop` resolved, and the output schema typed the value.
    expect(tsc.exitCode).not.toBe(0);
    expect(tsc.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/pipeline-tasks\/summarize\.js\(\d+,\d+\): error TS2551: Property 'lenght' does not exist on type .*'length'/),
    ]);
  });

  it('type-checks the natural code of tasks: the seed typed by the seedSchema, inputs by needing(), a fan-out as docs/writing-tasks.md writes it', async () => {
    const root = await makeTempDir();
    expect((await popIn(root, ['init'])).exitCode).toBe(0);
    const tasks = join(root, 'pipeline-tasks');
    // The fan-out of docs/writing-tasks.md, word for word, except that the seed's document needs no String(): it is a string.
    await writeFile(
      join(tasks, 'facts.js'),
      `import { defineTask, z, chunkByTokens } from 'pop';

export default defineTask({
  output: z.object({ facts: z.array(z.string()).min(1) }),
  each: ({ seed }) => chunkByTokens(seed.document, 3000),
  prompt: (chunk, ctx) => ({ system: \`List the facts in part \${ctx.item.index + 1} of \${ctx.item.count}.\`, user: chunk }),
  validate: ({ facts }) => (facts.some((fact) => fact.length > 300) ? 'a fact is longer than 300 characters' : []),
  finalize: (values, ctx) => [...new Set(values.flatMap((value) => value.facts))],
});
`,
    );
    // A fan-out over what the tasks it needs produced: a finalized list, and a schema's value.
    await writeFile(
      join(tasks, 'check-facts.js'),
      `import { needing, z } from 'pop';
import facts from './facts.js';
import outline from './outline.js';

export default needing({ facts, outline }).defineTask({
  output: z.object({ fact: z.string(), holds: z.boolean() }),
  each: ({ inputs }) => inputs.facts.filter((fact) => fact.length > 0),
  prompt: (fact, ctx) => \`Does "\${fact.trim()}" belong in "\${ctx.seed.title ?? 'the brief'}"?\`,
  finalize: (values) => values.filter((value) => value.holds).map((value) => value.fact),
});
`,
    );
    await writeFile(
      join(tasks, 'headline.js'),
      `import { needing } from 'pop';
import checkFacts from './check-facts.js';
import outline from './outline.js';

export default needing({ 'check-facts': checkFacts, outline }).defineTask({
  prompt: ({ seed, inputs }) => \`\${inputs.outline.title.toUpperCase()}: \${inputs['check-facts'].join('; ')} (\${seed.document.length} characters)\`,
  validate: (text) => (text.length > 80 ? 'too long' : []),
});
`,
    );
    const tsc = () => execa(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'jsconfig.json')], { cwd: root, reject: false });
    const clean = await tsc();
    expect(clean.stdout).toBe('');
    expect(clean.exitCode).toBe(0);

    // And the types are not all \`any\`: a field the seedSchema does not have, a value used as what it is not.
    await writeFile(
      join(tasks, 'wrong.js'),
      `import { needing } from 'pop';\nimport facts from './facts.js';\nexport default needing({ facts }).defineTask({\n  prompt: ({ seed, inputs }) => \`\${seed.documnet} \${inputs.facts.toFixed()}\`,\n});\n`,
    );
    const wrong = await tsc();
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^pipeline-tasks\/wrong\.js\(4,\d+\): error TS2551: Property 'documnet' does not exist on type .*'document'/),
      expect.stringMatching(/^pipeline-tasks\/wrong\.js\(4,\d+\): error TS2339: Property 'toFixed' does not exist on type 'string\[\]'/),
    ]);
  });

  it('loads task modules as ES modules under a package.json of "type": "commonjs", and says what to change without the one init writes', async () => {
    const parent = await makeTempDir();
    await writeFile(join(parent, 'package.json'), '{ "name": "lab", "type": "commonjs" }\n');
    const root = join(parent, 'pipelines');
    expect((await popIn(parent, ['init', 'pipelines', '--minimal'])).exitCode).toBe(0);
    const ok = await popIn(root, ['validate']);
    expect(ok.exitCode, ok.stdout).toBe(0);
    expect(ok.stdout).toContain('ok: pipeline "my-pipeline" with 1 task(s): summarize (mock:default)');

    await rm(join(root, 'pipeline-tasks', 'package.json'));
    const start = await popIn(root, ['start', '--once']);
    expect(start.exitCode).toBe(2);
    const registry = join(root, 'pipeline-tasks', 'index.js');
    // (Node adds a warning of its own above it.)
    expect(start.stderr.split('\n').filter((line) => line.startsWith('pop:'))).toEqual([
      `pop: ${registry}: failed to load: ${join(parent, 'package.json')} says "type": "commonjs", so Node loads the .js files in ${join(root, 'pipeline-tasks')} as CommonJS, ` +
        `but task modules are ES modules: add ${join(root, 'pipeline-tasks', 'package.json')} containing { "type": "module" } (pop init writes one), or name the task files .mjs`,
    ]);
  });
});
