/**
 * What a command loads: only the queue commands load BullMQ and ioredis. Every package a command
 * resolves is recorded by a resolve hook registered with `node --import`, in the CLI's own process.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ASK_TASK, CLI, makeTempDir, makeWorkspace, registryModule } from './support/workspace.js';

const HOOK = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.POP_TEST_RESOLVED, resolved.url + '\\n');
  return resolved;
}
`;
const REGISTER = `import { register } from 'node:module';
register('./hook.mjs', import.meta.url);
`;

/** What a CLI command resolved while it ran: every module, and the packages (folders under node_modules/). */
async function packagesLoadedBy(args: string[]): Promise<Set<string>> {
  const ws = await makeWorkspace({
    'pipeline.json': { name: 'p', tasks: ['ask'] },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': ASK_TASK,
  });
  const hookDir = await makeTempDir('pop-test-hook-');
  await writeFile(join(hookDir, 'hook.mjs'), HOOK);
  await writeFile(join(hookDir, 'register.mjs'), REGISTER);
  const log = join(hookDir, 'resolved.log');
  await writeFile(log, '');
  await execa(process.execPath, ['--import', pathToFileURL(join(hookDir, 'register.mjs')).href, CLI, ...args, '--root', ws.root], {
    reject: false,
    stdin: 'ignore',
    env: { POP_TEST_RESOLVED: log },
  });
  const urls = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  const packages = urls.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]).filter((name) => name !== undefined);
  // POP's own modules, as one name: they show that the hook was recording.
  return new Set([...packages, ...(urls.some((url) => url.includes('/dist/')) ? ['(pop)'] : [])]);
}

describe('the modules a command loads', () => {
  it('status, validate and start --once load neither BullMQ nor ioredis', async () => {
    for (const args of [['status'], ['validate'], ['start', '--once']]) {
      const loaded = await packagesLoadedBy(args);
      // The hook saw the command's own modules: it is recording.
      expect(loaded.has('(pop)'), args.join(' ')).toBe(true);
      expect(loaded.has('bullmq'), args.join(' ')).toBe(false);
      expect(loaded.has('ioredis'), args.join(' ')).toBe(false);
    }
  });

  it('worker loads them (Redis unreachable: it still gets as far as trying)', async () => {
    const loaded = await packagesLoadedBy(['worker', '--queue', 'redis://127.0.0.1:1']);
    expect(loaded.has('bullmq')).toBe(true);
    expect(loaded.has('ioredis')).toBe(true);
  });
});
