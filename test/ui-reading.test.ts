/**
 * What `pop ui` reads and how it shows it: run files parsed as the CLI parses them (JSONC), read no
 * further than the view's cap, keys taken out before a value is escaped, and a sign-in cookie of its
 * own port. A real run made by the real CLI, `pop ui` as a real process.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pop } from './support/cli.js';
import { rawRequest, startUi, type UiProcess } from './support/ui.js';
import { ASK_TASK, makeWorkspace, readRunRecords, registryModule, type Workspace } from './support/workspace.js';

const started: UiProcess[] = [];
afterEach(async () => {
  for (const ui of started.splice(0)) await ui.stop();
});

async function completeRun(): Promise<{ ws: Workspace; id: string; dir: string }> {
  const ws = await makeWorkspace({
    'pipeline.json': { name: 'view', tasks: ['ask'] },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': ASK_TASK,
    'pipeline-pending/q.json': { q: 'Why?' },
  });
  const run = await pop(ws, ['start', '--once']);
  expect(run.exitCode, run.stderr).toBe(0);
  const [record] = await readRunRecords(ws);
  return { ws, id: record!.id, dir: join(ws.complete, record!.id) };
}

async function ui(ws: Workspace, env: Record<string, string> = {}): Promise<UiProcess> {
  const view = await startUi(ws, { PATH: process.env.PATH ?? '', ...env });
  started.push(view);
  return view;
}

const get = (view: UiProcess, path: string) => rawRequest(view.origin, path, { headers: { cookie: view.cookie } });

/** The most memory the process has held so far, in bytes (Linux). */
async function peakMemory(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}

describe('pop ui reads run files as the CLI does', () => {
  it('a pipeline snapshot with comments before } and ]: parsed, its key variable learnt and its value taken out', async () => {
    const { ws, id, dir } = await completeRun();
    const license = 'acme-license-0123456789abcdef';
    // The run's snapshot names a key variable the workspace's pipeline.json does not.
    await writeFile(
      join(dir, 'pipeline.json'),
      `{
  "name": "view",
  "tasks": [
    "ask", // the only task
  ],
  "providers": {
    "acme": { "type": "openai", "apiKeyEnv": "ACME_LICENSE", /* the vendor's */ },
    // more to come
  }
}
`,
    );
    await appendFile(join(dir, 'tasks', 'ask', 'console.log'), `licence: ${license}\n`);
    const view = await ui(ws, { ACME_LICENSE: license });
    const page = await get(view, `/runs/${id}/tasks/ask`);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain(license);
    expect(page.body).toContain('[redacted:ACME_LICENSE]');
  }, 60_000);

  it('a 50 MB task.log: the task page is served, and no more than the cap of it is read', async () => {
    const { ws, id, dir } = await completeRun();
    const line = `${JSON.stringify({ level: 30, time: 1, event: 'noise', msg: 'x'.repeat(1000) })}\n`;
    await writeFile(join(dir, 'tasks', 'ask', 'task.log'), line.repeat(Math.ceil((50 * 1024 * 1024) / line.length)));
    const view = await ui(ws);
    expect((await get(view, '/')).status).toBe(200);
    const before = await peakMemory(view.subprocess.pid!);
    const page = await get(view, `/runs/${id}/tasks/ask`);
    expect(page.status).toBe(200);
    const file = await get(view, `/runs/${id}/files/tasks/ask/task.log`);
    expect(file.status).toBe(200);
    expect(file.body.length).toBeLessThanOrEqual(4 * 1024 * 1024);
    // Read whole, 50 MB would be held at least once as bytes and once as text.
    expect(await peakMemory(view.subprocess.pid!)).toBeLessThan(before + 40 * 1024 * 1024);
  }, 60_000);

  it('a key holding &<>"\': neither it nor its escaped form is on a page', async () => {
    const { ws, id, dir } = await completeRun();
    // No 8 characters in a row without one to escape: escaped, no piece of it reads as the key.
    const key = `s&e<c>r"e't&k<e>y"0'1&2<3>4"5'6`;
    await appendFile(join(dir, 'tasks', 'ask', 'console.log'), `the key is ${key}\n`);
    const view = await ui(ws, { ACME_TOKEN: key });
    const escaped = key.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
    for (const path of [`/runs/${id}/tasks/ask`, `/runs/${id}/files/tasks/ask/console.log`]) {
      const response = await get(view, path);
      expect(response.status, path).toBe(200);
      expect(response.body, path).not.toContain(key);
      expect(response.body, path).not.toContain(escaped);
    }
  }, 60_000);

  it('signs in with a cookie named for its port: a view on another port keeps its own', async () => {
    const { ws } = await completeRun();
    const view = await ui(ws);
    const port = new URL(view.origin).port;
    const signIn = await rawRequest(view.origin, `/?token=${view.token}`);
    expect(String(signIn.headers['set-cookie'])).toMatch(new RegExp(`^pop_ui_token_${port}=`));
    expect((await rawRequest(view.origin, '/', { headers: { cookie: `pop_ui_token=${view.token}` } })).status).toBe(401);
    expect((await rawRequest(view.origin, '/', { headers: { cookie: `pop_ui_token_1=x; pop_ui_token_${port}=${view.token}` } })).status).toBe(200);
  }, 60_000);
});
