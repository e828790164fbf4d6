/**
 * `pop ui` over HTTP, as a real process against a workspace of real runs (complete, failed, a
 * rerun) and a fan-out-shaped run written as files: every page and API route, and the guards:
 * Host check, traversal, symlinks, the token on actions, secrets.
 */
import { appendFile, cp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSharedWorkspace, pop } from './support/cli.js';
import { makeRealRuns, rawRequest, runFolder, startUi, writeFanoutRun, type UiProcess, type UiRuns } from './support/ui.js';
import { runDirs, startDaemon, waitFor, type Workspace } from './support/workspace.js';

const SECRET = 'sk-test-0123456789abcdefSECRET';
/** Not a provider key, but its variable's name says it is a credential. */
const OTHER_SECRET = 'ghp_otherCredential0123456789';

const BRIEF_MD =
  '# Owls at night\n\nThey **hunt** by ear. [More](https://example.org/owls) · [click](javascript:alert(1))\n\n<script>alert(2)</script><img src=x onerror=alert(3)>\n\n- one\n- two\n';

let ws: Workspace & { remove: () => Promise<void> };
let runs: UiRuns;
let ui: UiProcess;

beforeAll(async () => {
  ws = await makeSharedWorkspace({});
  const real = await makeRealRuns(ws);
  runs = { ...real, fanout: await writeFanoutRun(ws, real.complete) };
  // A secret that a task printed, and a link planted in a run folder that leads out of it.
  await appendFile(join(runFolder(ws, 'complete', runs.complete), 'tasks', 'summary', 'console.log'), `key was ${SECRET}\ntoken was ${OTHER_SECRET}\n`);
  await symlink('/etc/passwd', join(runFolder(ws, 'complete', runs.complete), 'tasks', 'facts', 'leak.txt'));
  await symlink('/etc', join(runFolder(ws, 'complete', runs.complete), 'tasks', 'etc'));
  // A Markdown artifact, as a task's finalize leaves one, with what a hostile reply could put in it.
  await writeFile(join(runFolder(ws, 'complete', runs.complete), 'tasks', 'summary', 'brief.md'), BRIEF_MD);
  ui = await startUi(ws, { OPENAI_API_KEY: SECRET, DEPLOY_TOKEN: OTHER_SECRET });
}, 180_000);

afterAll(async () => {
  await ui?.stop();
  await ws?.remove();
});

const get = (path: string, headers: Record<string, string> = {}) => rawRequest(ui.origin, path, { headers: { cookie: ui.cookie, ...headers } });
const post = (path: string, body: object, headers: Record<string, string>) =>
  rawRequest(ui.origin, path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
const runsTableIds = (body: string) => [...body.matchAll(/<tr data-run="([^"]+)"/g)].map((match) => match[1]);

describe('pop ui: address and token', () => {
  it('prints a 127.0.0.1 address with a token; the token moves into a cookie; nothing is served without it', async () => {
    expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    const signIn = await rawRequest(ui.origin, `/?token=${ui.token}`);
    expect(signIn.status).toBe(303);
    expect(signIn.headers.location).toBe('/');
    expect(String(signIn.headers['set-cookie'])).toContain('HttpOnly; SameSite=Strict');
    for (const path of ['/', `/runs/${runs.complete}`, '/api/runs', `/runs/${runs.complete}/files/seed.json`, '/events']) {
      const anonymous = await rawRequest(ui.origin, path);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.body).not.toContain(runs.complete);
    }
    expect((await rawRequest(ui.origin, '/?token=wrong')).status).toBe(403);
    expect((await rawRequest(ui.origin, '/', { headers: { cookie: 'pop_ui_token=wrong' } })).status).toBe(401);
  });

  it('sends a strict Content-Security-Policy and no inline script', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('<script src="/assets/app.js" defer></script>');
    expect(page.body).not.toMatch(/<script>|<script [^>]*>[^<]|onclick=|style="/);
    const script = await rawRequest(ui.origin, '/assets/app.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toContain('text/javascript');
    expect((await rawRequest(ui.origin, '/assets/style.css')).headers['content-type']).toContain('text/css');
  });
});

describe('pop ui: pages', () => {
  it('runs list: current, failed and completed runs with their figures, filters and totals', async () => {
    const page = await get('/');
    expect(runsTableIds(page.body).sort()).toEqual([runs.complete, runs.failed, runs.rerun, runs.fanout].sort());
    expect(page.body).toContain('Total of the 4 shown');
    expect(page.body).toMatch(new RegExp(`<tr data-run="${runs.rerun}">[\\s\\S]*?rerun of ${runs.complete}`));
    const failed = await get('/?state=failed');
    expect(runsTableIds(failed.body)).toEqual([runs.failed]);
    const complete = await get('/?state=complete');
    expect(runsTableIds(complete.body).sort()).toEqual([runs.complete, runs.rerun].sort());
    expect(runsTableIds((await get('/?pipeline=fan-out-shaped')).body)).toEqual([runs.fanout]);
    expect(runsTableIds((await get('/?since=2999-01-01')).body)).toEqual([]);
    expect(runsTableIds((await get('/?until=2026-11-26&since=2026-11-26&pipeline=fan-out-shaped')).body)).toEqual([runs.fanout]);
    const limited = await get('/?limit=1&state=complete');
    expect(runsTableIds(limited.body)).toHaveLength(1);
    expect(limited.body).toContain('Total of all 2 matching');

    const api = JSON.parse((await get('/api/runs')).body) as {
      rows: { id: string; calls: number; state: string; copiedTasks: number }[];
      totals: { runs: number; calls: number };
    };
    expect(api.totals.runs).toBe(4);
    expect(api.totals.calls).toBe(api.rows.reduce((sum, row) => sum + row.calls, 0));
    expect(api.rows.find((row) => row.id === runs.failed)?.state).toBe('failed');
    expect(api.rows.find((row) => row.id === runs.fanout)?.copiedTasks).toBe(1);
  });

  it('run page of a complete run: graph, timeline with attempts and stages, per-task figures and model', async () => {
    const page = await get(`/runs/${runs.complete}`);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<svg class="graph"/);
    expect(page.body).toMatch(/class="node-box state-complete"[^>]*>[\s\S]*?class="node-box state-complete"/);
    expect(page.body).toMatch(/<svg class="gantt"/);
    expect(page.body).toContain('attempt 1');
    expect(page.body).toMatch(/class="bar stage-inference"/);
    expect(page.body).toMatch(/<tr data-task="facts">[\s\S]*?mock:default/);
    // The run's calls by model, from the ledgers: facts made 2 (one refinement), summary 1.
    expect(page.body).toMatch(/<table class="models" id="models">[\s\S]*?<td>mock:default<\/td><td class="num">3<\/td>/);
    const api = JSON.parse((await get(`/api/runs/${runs.complete}`)).body) as { where: string; graph: { name: string; needs: string[] }[] };
    expect(api.where).toBe('complete');
    expect(api.graph).toEqual([expect.objectContaining({ name: 'facts', needs: [] }), expect.objectContaining({ name: 'summary', needs: ['facts'] })]);
  });

  it('run page of a failed run: the error and the artifact to open, which opens', async () => {
    const page = await get(`/runs/${runs.failed}`);
    expect(page.body).toContain('summary cannot handle a failing seed yet');
    expect(page.body).toContain('class="node-box state-failed"');
    expect(page.body).toContain('data-action="resume"');
    expect(page.body).not.toContain('id="running-tasks"'); // the task it stopped at is not running
    const artifact = /Open first: <a class="artifact-link" href="([^"]+)"/.exec(page.body)?.[1];
    expect(artifact).toBeDefined();
    const file = await get(artifact!);
    expect(file.status).toBe(200);
    expect(file.headers['content-security-policy']).toContain('sandbox');
  });

  it('run page of a fan-out-shaped run: branches from needs, two tasks running, items, a copied task', async () => {
    const page = await get(`/runs/${runs.fanout}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<dd id="running-tasks">facts, tone</dd>');
    // merge needs facts and tone: two arrows into it; facts and tone sit in the same column.
    expect(page.body.match(/class="edge"/g)).toHaveLength(4);
    expect(page.body).toMatch(/<tr data-task="facts">[\s\S]*?2\/4 <span class="bad">1 failed<\/span>/);
    expect(page.body).toMatch(/<tr data-task="split">[\s\S]*?badge copied/);
    // Items in the timeline, with their stages.
    expect(page.body).toContain('>item 0001</text>');
    expect(page.body).toContain('>item 0003</text>');
    expect(page.body).toMatch(/<rect class="bar stage-critique"[^>]*><title>critique/);
  });

  it('task page: prompt as messages with the schema folded, every response, validation, critique, the refinement diff, logs', async () => {
    const page = await get(`/runs/${runs.complete}/tasks/facts`);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<div class="message role-system"><div class="role">system<\/div>/);
    expect(page.body).toMatch(/<details class="schema"><summary>output schema/);
    expect(page.body).toContain('id="call-1"');
    expect(page.body).toContain('id="call-2"');
    expect(page.body).toContain('not valid JSON');
    expect(page.body).toContain('Critique (07-critique.json)');
    expect(page.body).toContain('Refinement: this reply against the next');
    expect(page.body).toMatch(/class="diff-del"/);
    expect(page.body).toMatch(/class="diff-add"/);
    expect(page.body).toMatch(/<h2>task.log<\/h2><table class="log">/);
    expect(page.body).toContain('<h2>console.log</h2>');
    // Its calls from the ledger: the broken reply and the refinement, each with its tokens and how it ended.
    const ledger = /<table class="ledger" id="ledger">([\s\S]*?)<\/table>/.exec(page.body)?.[1] ?? '';
    expect(ledger.match(/<tr class="outcome-answered">/g)).toHaveLength(2);
    expect(ledger).toMatch(/<td class="num">1<\/td><td class="num">2<\/td><td class="num">0<\/td><td>mock:default<\/td><td>answered<\/td>/);
    const summary = await get(`/runs/${runs.complete}/tasks/summary`);
    expect(summary.body).toContain('summarizing owls');
    // A text task: its prompt went without a schema, and the page says so rather than show `null`.
    expect(summary.body).toContain('<p class="meta">A text reply: no output schema.</p>');
    expect(summary.body).not.toContain('output schema (JSON Schema');
    expect(summary.body).not.toMatch(/<pre class="json">null<\/pre>/);
  });

  it('a Markdown artifact is rendered, with raw HTML and script links left inert, and its source one click away', async () => {
    const page = await get(`/runs/${runs.complete}/tasks/summary`);
    const rendered =
      /<div class="markdown">([\s\S]*?)<\/div>\n<details class="markdown-source"><summary>Markdown source<\/summary><pre class="text">([\s\S]*?)<\/pre><\/details>/.exec(
        page.body,
      );
    expect(rendered, 'the rendered brief.md and its source').not.toBeNull();
    const [, html, source] = rendered!;
    expect(html).toContain('<h1>Owls at night</h1>');
    expect(html).toContain('They <strong>hunt</strong> by ear.');
    expect(html).toContain('<a href="https://example.org/owls">More</a>');
    expect(html).toContain('<li>one</li>');
    // Raw HTML stays text; a javascript: link is not made a link.
    expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;&lt;img src=x onerror=alert(3)&gt;');
    expect(html).not.toMatch(/<script|<img|href="javascript/i);
    expect(source).toBe(BRIEF_MD.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'));
  });

  it('task and item pages of a fan-out: the items table, an item with its refinement and a cached reply', async () => {
    const task = await get(`/runs/${runs.fanout}/tasks/facts`);
    expect(task.status).toBe(200);
    expect(
      [...task.body.matchAll(/<tr data-item="(\d+)"><td><a href="[^"]+">\d+<\/a><\/td><td><span class="badge state-(\w+)">/g)].map((match) => [
        match[1],
        match[2],
      ]),
    ).toEqual([
      ['0001', 'complete'],
      ['0002', 'complete'],
      ['0003', 'running'],
      ['0004', 'failed'],
    ]);
    expect(task.body).toContain('02-items.json');
    const refined = await get(`/runs/${runs.fanout}/tasks/facts/items/0002`);
    expect(refined.status).toBe(200);
    expect(refined.body).toContain('Refinement: this reply against the next');
    expect(refined.body).toContain('Reply again with the complete JSON.');
    const cached = await get(`/runs/${runs.fanout}/tasks/facts/items/0001`);
    expect(cached.body).toContain('badge cached');
    expect((await get(`/runs/${runs.fanout}/tasks/facts/items/0009`)).status).toBe(404);
  });

  it('compare page and API: a run and its rerun, the copied task marked, the changed task with its diffs', async () => {
    const page = await get(`/compare?a=${runs.complete}&b=${runs.rerun}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('One run is a rerun of the other.');
    expect(page.body).toMatch(/<tr data-task="facts"[^>]*>\s*<td><a href="#task-facts">facts<\/a> <span class="badge copied">copied<\/span>/);
    expect(page.body).toMatch(/<tr data-task="summary" class="changed">/);
    expect(page.body).toContain('id="task-summary"');
    expect(page.body).toContain('naturalist');
    const api = JSON.parse((await get(`/api/compare?a=${runs.complete}&b=${runs.rerun}`)).body) as {
      tasks: { name: string; copied: boolean; output: string; prompt: string }[];
    };
    expect(api.tasks.map((task) => [task.name, task.copied, task.output, task.prompt])).toEqual([
      ['facts', true, 'same', 'same'],
      ['summary', false, 'changed', 'changed'],
    ]);
    expect((await get('/compare')).body).toContain('Pick two runs to compare.');
    expect((await get(`/api/compare?a=${runs.complete}&b=nope`)).status).toBe(404);
  });

  /** An open server-sent events stream and what it has said so far. */
  async function openStream(path: string): Promise<{ text: () => string; close: () => void }> {
    const chunks: string[] = [];
    const { hostname, port } = new URL(ui.origin);
    const req = httpRequest({ host: hostname, port, path, headers: { host: `${hostname}:${port}`, cookie: ui.cookie } });
    req.on('error', () => {}); // closing the stream resets it
    const opened = new Promise<void>((resolve) =>
      req.on('response', (res) => {
        expect(res.headers['content-type']).toContain('text/event-stream');
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => chunks.push(chunk));
        resolve();
      }),
    );
    req.end();
    await opened;
    await waitFor(() => chunks.join('').includes(': watching'));
    return { text: () => chunks.join(''), close: () => req.destroy() };
  }

  it('live: the events stream of a run says when any of its files changes; the list stream, when a run state does', async () => {
    const runStream = await openStream(`/events?run=${runs.fanout}`);
    const listStream = await openStream('/events');
    const said = `event: change\ndata: {"run":"${runs.fanout}"}`;
    // A watcher reports files written after it is ready: write until the change is reported.
    await waitFor(
      async () => {
        await appendFile(
          join(runFolder(ws, 'current', runs.fanout), 'tasks', 'facts', 'task.log'),
          `${JSON.stringify({ time: new Date().toISOString(), event: 'item-complete', item: '0003' })}\n`,
        );
        return runStream.text().includes(said);
      },
      { intervalMs: 300 },
    );
    const statusFile = join(runFolder(ws, 'current', runs.fanout), 'tasks-status.json');
    const status = await readFile(statusFile, 'utf8');
    await waitFor(
      async () => {
        await writeFile(statusFile, status);
        return listStream.text().includes(said);
      },
      { intervalMs: 300 },
    );
    runStream.close();
    listStream.close();
  });
});

describe('pop ui: refused', () => {
  const traversals = () => [
    `/runs/${runs.complete}/files/../../../../../../etc/passwd`,
    `/runs/${runs.complete}/files/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
    `/runs/${runs.complete}/files/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd`,
    `/runs/${runs.complete}/files/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
    `/runs/${runs.complete}/files/tasks/..%5c..%5c..%5cetc%5cpasswd`,
    `/runs/..%2f..%2f..%2fetc/files/passwd`,
    `/runs/%2e%2e/files/pipeline.json`,
    `/runs/${runs.complete}/files/tasks/facts/leak.txt`,
    `/runs/${runs.complete}/files/tasks/etc/passwd`,
    `/runs/${runs.complete}/files/%00`,
    `/runs/${runs.complete}/files/`,
    `/runs/${runs.complete}/files/tasks`,
  ];

  it('paths that leave a run folder, encoded or through a symlink: refused, nothing leaked', async () => {
    for (const path of traversals()) {
      const response = await get(path);
      expect([400, 404], `${path} → ${response.status}`).toContain(response.status);
      expect(response.body, path).not.toMatch(/root:.*:0:0:/);
    }
    // The same request for a file that is inside the run works.
    expect((await get(`/runs/${runs.complete}/files/tasks/facts/output.json`)).status).toBe(200);
  });

  it('a foreign Host header (DNS rebinding) is refused on every route, token or not', async () => {
    for (const path of ['/', `/runs/${runs.complete}`, '/api/runs', '/assets/app.js', `/?token=${ui.token}`]) {
      const response = await rawRequest(ui.origin, path, { headers: { host: `evil.example:${new URL(ui.origin).port}`, cookie: ui.cookie } });
      expect(response.status, path).toBe(403);
      expect(response.body).not.toContain(runs.complete);
    }
    const noPort = await rawRequest(ui.origin, '/', { headers: { host: 'evil.example', cookie: ui.cookie } });
    expect(noPort.status).toBe(403);
  });

  it('the events stream of something that is not a run id: refused', async () => {
    expect((await get('/events?run=..%2F..%2Fetc')).status).toBe(400);
    expect((await get('/events?run=%2Fetc')).status).toBe(400);
  });

  it('--host 0.0.0.0 warns; the addresses of this machine are served, any other name refused', async () => {
    const wide = await startUi(ws, {}, ['--host', '0.0.0.0']);
    try {
      await waitFor(() => wide.stderr().includes('warning: serving on 0.0.0.0'), { description: () => `the warning; stderr: ${wide.stderr()}` });
      const port = new URL(wide.origin).port;
      const address = Object.values(networkInterfaces())
        .flat()
        .find((entry) => entry && entry.family === 'IPv4')!.address;
      const own = await rawRequest(wide.origin, '/', { headers: { host: `${address}:${port}`, cookie: wide.cookie } });
      expect(own.status).toBe(200);
      const foreign = await rawRequest(wide.origin, '/', { headers: { host: `rebound.example:${port}`, cookie: wide.cookie } });
      expect(foreign.status).toBe(403);
    } finally {
      await wide.stop();
    }
  });

  it('actions without the token in the header, with a wrong one, or from another origin change nothing', async () => {
    const before = {
      current: await runDirs(ws.current),
      complete: await runDirs(ws.complete),
      requests: await readdir(join(ws.current, '.requests')).catch(() => []),
    };
    const attempts: [string, object, Record<string, string>][] = [
      [`/api/runs/${runs.failed}/resume`, {}, {}],
      [`/api/runs/${runs.failed}/resume`, {}, { cookie: ui.cookie }],
      [`/api/runs/${runs.failed}/resume`, {}, { 'x-pop-token': 'wrong' }],
      [`/api/runs/${runs.complete}/rerun`, { from: 'summary' }, { cookie: ui.cookie }],
      [`/api/runs/${runs.complete}/rerun`, { from: 'summary' }, { 'x-pop-token': `${ui.token}x` }],
      [`/api/runs/${runs.complete}/rerun`, { from: 'summary' }, { 'x-pop-token': ui.token, origin: 'http://evil.example' }],
    ];
    for (const [path, body, headers] of attempts) {
      const response = await post(path, body, headers);
      expect(response.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
    }
    const foreignHost = await rawRequest(ui.origin, `/api/runs/${runs.failed}/resume`, {
      method: 'POST',
      body: '{}',
      headers: { host: 'evil.example', 'x-pop-token': ui.token },
    });
    expect(foreignHost.status).toBe(403);
    expect((await get(`/api/runs/${runs.failed}/resume`)).status).toBe(404); // GET never acts
    const after = {
      current: await runDirs(ws.current),
      complete: await runDirs(ws.complete),
      requests: await readdir(join(ws.current, '.requests')).catch(() => []),
    };
    expect(after).toEqual(before);
  });

  it('no environment secret on any page, API answer or file', async () => {
    const paths = [
      '/',
      `/runs/${runs.complete}`,
      `/runs/${runs.complete}/tasks/summary`,
      `/runs/${runs.complete}/files/tasks/summary/console.log`,
      '/api/runs',
      `/api/compare?a=${runs.complete}&b=${runs.rerun}`,
      '/assets/app.js',
    ];
    for (const path of paths) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(response.body, path).not.toContain(SECRET);
      expect(response.body, path).not.toContain(OTHER_SECRET);
      expect(response.body, path).not.toContain(SECRET.slice(4, 20)); // nor a piece of it
    }
    expect((await get(`/runs/${runs.complete}/files/tasks/summary/console.log`)).body).toContain(
      'key was [redacted:OPENAI_API_KEY]\ntoken was [redacted:DEPLOY_TOKEN]',
    );
  });
});

describe('pop ui: actions with the token', () => {
  it('rerun --from: a new run, as the CLI makes it', async () => {
    const response = await post(`/api/runs/${runs.complete}/rerun`, { from: 'summary' }, { 'x-pop-token': ui.token });
    expect(response.status, response.body).toBe(200);
    const result = JSON.parse(response.body) as { ok: boolean; run: string };
    expect(result.ok).toBe(true);
    expect(result.run).not.toBe(runs.complete);
    await waitFor(async () => (await runDirs(ws.complete)).includes(result.run), { timeoutMs: 60_000 });
    const bad = await post(`/api/runs/${runs.complete}/rerun`, { from: 'no-such-task' }, { 'x-pop-token': ui.token });
    expect(bad.status).toBe(400);
  });

  it('resume: the failed run, fixed, completes', async () => {
    await writeFile(ws.path('fixed'), '');
    const response = await post(`/api/runs/${runs.failed}/resume`, {}, { 'x-pop-token': ui.token });
    expect(response.status, response.body).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ ok: true, run: runs.failed });
    await waitFor(async () => (await runDirs(ws.complete)).includes(runs.failed), { timeoutMs: 60_000 });
    const page = await get(`/runs/${runs.failed}`);
    expect(page.body).toContain('<span class="badge state-complete">complete</span></h1>');
  });
});

describe('pop ui: actions with a manager running', () => {
  it('rerun hands the new run to the manager through its request file, as the CLI does', async () => {
    const daemon = await startDaemon(ws);
    const response = await post(`/api/runs/${runs.complete}/rerun`, { from: 'summary' }, { 'x-pop-token': ui.token });
    expect(response.status, response.body).toBe(200);
    const result = JSON.parse(response.body) as { ok: boolean; run: string };
    expect(result.ok).toBe(true);
    const requested = await daemon.waitForEvent('run-requested', (line) => line.run === result.run);
    expect(requested).toBeDefined();
    await daemon.waitForEvent('run-complete', (line) => line.run === result.run, { timeoutMs: 60_000 });
    await daemon.stop();
  });
});

describe('pop compare', () => {
  it('--json on a run and its rerun: the copied task marked, the changed task found; exit 0', async () => {
    const result = await pop(ws, ['compare', runs.complete, runs.rerun, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const comparison = JSON.parse(result.stdout) as {
      relation: string;
      tasks: { name: string; copied: boolean; output: string; valueChanges: { path: string }[]; b: { copied: boolean } }[];
    };
    expect(comparison.relation).toBe('rerun');
    const [facts, summary] = comparison.tasks;
    expect(facts).toMatchObject({ name: 'facts', copied: true, output: 'same', valueChanges: [], b: { copied: true } });
    expect(summary).toMatchObject({ name: 'summary', copied: false, output: 'changed', valueChanges: [{ path: '$' }] });
  });

  it('--json on two separate runs: a structural diff of the values, path by path', async () => {
    // A copy of the complete run whose facts differ in one element and have one more.
    const other = `${runs.complete.slice(0, -6)}zzzzzz`;
    const dir = runFolder(ws, 'complete', other);
    await cp(runFolder(ws, 'complete', runs.complete), dir, { recursive: true, verbatimSymlinks: true });
    const statusFile = join(dir, 'tasks-status.json');
    await writeFile(statusFile, JSON.stringify({ ...JSON.parse(await readFile(statusFile, 'utf8')), id: other }));
    const outputFile = join(dir, 'tasks', 'facts', 'output.json');
    const output = JSON.parse(await readFile(outputFile, 'utf8')) as { value: { facts: string[] } };
    const facts = output.value.facts;
    output.value.facts = ['a fact of its own', ...facts.slice(1), 'one more'];
    await writeFile(outputFile, JSON.stringify(output));

    const result = await pop(ws, ['compare', runs.complete, other, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const comparison = JSON.parse(result.stdout) as { relation: string; tasks: { name: string; copied: boolean; output: string; valueChanges: unknown[] }[] };
    expect(comparison.relation).toBe('separate');
    expect(comparison.tasks[0]).toMatchObject({ name: 'facts', copied: false, output: 'changed' });
    expect(comparison.tasks[0]!.valueChanges).toEqual([
      { path: '$.facts[0]', kind: 'changed', before: facts[0], after: 'a fact of its own' },
      { path: `$.facts[${facts.length}]`, kind: 'added', after: 'one more' },
    ]);
    expect(comparison.tasks[1]).toMatchObject({ name: 'summary', output: 'same', prompt: 'same' });
  });

  it('as a table, and exit 3 for a run that does not exist', async () => {
    const table = await pop(ws, ['compare', runs.complete, runs.rerun]);
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/facts \(copied\)\s+same/);
    expect(table.stdout).toMatch(/summary\s+changed\s+changed/);
    const missing = await pop(ws, ['compare', runs.complete, 'no-such-run']);
    expect(missing.exitCode).toBe(3);
  });
});
