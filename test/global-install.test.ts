/**
 * POP as users install it: `npm pack`, then `npm install -g` of the tarball into a temp prefix,
 * then `pop init` and a run of the example with the installed `pop` bin. The tarball is packed
 * from the dist/ the tests run, without rebuilding it under the other test files. (The one test of
 * the global install: .ci/run leaves it to this file.)
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, makeTempDir, parseEvents, readRunRecords, workspaceAt } from './support/workspace.js';

const npm = (args: string[], cwd: string) => execa('npm', args, { cwd, reject: false, timeout: 240_000, env: { npm_config_update_notifier: 'false' } });

describe('the packed package installed globally', () => {
  it('has only what it needs, and its pop bin creates a workspace and runs the example seeds', { timeout: 300_000 }, async () => {
    const tmp = await makeTempDir('pop-install-');
    const pack = await npm(['pack', '--ignore-scripts', '--pack-destination', tmp, '--json'], REPO_ROOT);
    expect(pack.exitCode, pack.stderr).toBe(0);
    const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed!.files.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'orchestrator/manager.js',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/cli/main.js',
        'dist/runner/child.js',
        'docs/schemas/pipeline.schema.json',
        'templates/example/pipeline.json',
        'templates/minimal/pipeline-tasks/index.js',
      ]),
    );
    const tops = [...new Set(files.map((file) => file.split('/')[0]))].sort();
    expect(tops).toEqual(['README.md', 'dist', 'docs', 'orchestrator', 'package.json', 'templates']);
    expect(files.filter((file) => file.startsWith('dist/bench/') || file.endsWith('.map'))).toEqual([]);

    const prefix = join(tmp, 'prefix');
    // As the README says: POP needs no install scripts, and npm has none to warn about.
    const install = await npm(
      ['install', '--global', '--ignore-scripts', '--prefix', prefix, join(tmp, packed!.filename), '--prefer-offline', '--no-audit', '--no-fund'],
      tmp,
    );
    expect(install.exitCode, install.stderr).toBe(0);
    expect(install.stderr).not.toMatch(/install-scripts|allowScripts/);
    const bin = join(prefix, 'bin', 'pop');
    const popAt = (cwd: string, args: string[]) => execa(bin, args, { cwd, reject: false, timeout: 120_000, stdin: 'ignore' });

    const root = join(tmp, 'x');
    const init = await popAt(tmp, ['init', root]);
    expect(init.exitCode, init.stderr).toBe(0);
    const seeds = (await readdir(join(root, 'examples', 'seeds'))).sort();
    expect(seeds).toEqual(['community-solar.json', 'four-day-week.json', 'harrow-valley-review.json']);
    const submit = await popAt(root, ['submit', ...seeds.map((seed) => join('examples', 'seeds', seed))]);
    expect(submit.stdout.split('\n')).toEqual(seeds);

    const start = await popAt(root, ['start', '--once', '--json']);
    expect(start.exitCode, start.stderr).toBe(0);
    expect(parseEvents(start.stdout).filter((line) => line.event === 'task-failed')).toEqual([]);
    const records = await readRunRecords(workspaceAt(root));
    expect(records.map((record) => record.seed).sort()).toEqual(seeds);
    for (const record of records) expect(existsSync(join(root, 'pipeline-complete', record.id, 'tasks', 'write-brief', 'brief.md'))).toBe(true);
    expect(existsSync(join(root, 'node_modules'))).toBe(false);
  });

  it("declares in allowScripts every dependency's install script, so npm install in the clone warns of none", async () => {
    const pending = await npm(['approve-scripts', '--allow-scripts-pending', '--json'], REPO_ROOT);
    expect(pending.exitCode, pending.stderr).toBe(0);
    expect(JSON.parse(pending.stdout)).toEqual({ allowScripts: [] });
  });
});
