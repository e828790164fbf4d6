/**
 * A suite whose system prerequisite is missing: skipped locally, saying what to install; under
 * CI=true it fails the run with the install command. Runs vitest itself on a fixture suite.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/workspace.js';

const runFixture = (ci: string | undefined) =>
  execa(join(REPO_ROOT, 'node_modules', '.bin', 'vitest'), ['run', '--config', 'test/fixtures/vitest.config.ts', '--reporter', 'verbose', '--color=false'], {
    cwd: REPO_ROOT,
    reject: false,
    timeout: 120_000,
    env: { CI: ci, FORCE_COLOR: '0', NO_COLOR: '1' },
    extendEnv: true,
  });

describe('a missing prerequisite', () => {
  it('is skipped locally, and the output says what to install', async () => {
    const result = await runFixture('');
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.stderr).toContain('skipped "a suite that needs nothing-here": /usr/bin/nothing-here is missing: apt-get install -y nothing-here');
    expect(result.stdout).toMatch(/1 skipped/);
  });

  it('fails the run under CI=true, naming the install command', async () => {
    const result = await runFixture('true');
    expect(result.exitCode, result.stdout).toBe(1);
    expect(result.stdout).toContain('/usr/bin/nothing-here is missing: apt-get install -y nothing-here (CI=true: a missing prerequisite fails the run)');
    expect(result.stdout).toMatch(/1 failed/);
  });
});
