/**
 * `pop ui` in a real browser: Debian's Chromium driven by playwright-core. Loads the runs list,
 * opens a failed run and sees its error, compares a run with its rerun, and watches a live run
 * finish without reloading. A screenshot of each page goes to a temp folder (printed).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from './support/prerequisites.js';
import { makeSharedWorkspace, pop, readStatus } from './support/cli.js';
import { makeRealRuns, startUi, type UiProcess } from './support/ui.js';
import { runDirs, startDaemon, waitFor, type Workspace } from './support/workspace.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

let ws: Workspace & { remove: () => Promise<void> };
let runs: Awaited<ReturnType<typeof makeRealRuns>>;
let ui: UiProcess;
let context: BrowserContext;
let page: Page;
let profile: string;
let shots: string;

describeWith({ present: hasChromium, what: CHROMIUM, install: 'apt-get install -y chromium' }, 'pop ui in Chromium', () => {
  beforeAll(async () => {
    ws = await makeSharedWorkspace({});
    runs = await makeRealRuns(ws);
    ui = await startUi(ws);
    profile = await mkdtemp(join(tmpdir(), 'pop-ui-chromium-'));
    shots = await mkdtemp(join(tmpdir(), 'pop-ui-screenshots-'));
    process.stderr.write(`pop ui screenshots: ${shots}\n`);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    watchConsole();
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await ui?.stop();
    await ws?.remove();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  /** Script errors and CSP violations would show in the console: none is allowed. */
  const problems: string[] = [];
  const watchConsole = () => {
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
  };

  it('loads the runs list from the printed address', async () => {
    await page.goto(ui.url);
    expect(new URL(page.url()).search).toBe(''); // the token left the address bar
    await expect.poll(() => page.locator('#runs tbody tr').count()).toBe(3);
    expect(await page.locator('#runs tfoot').innerText()).toContain('Total of the 3 shown');
    await page.screenshot({ path: join(shots, 'runs.png'), fullPage: true });
  });

  it('fits the runs table in a 1280-pixel window, a run with a long name too: no sideways scroll', async () => {
    const seed = 'harrow-valley-community-solar-cooperative-annual-review.json';
    await writeFile(ws.path('pipeline-pending', seed), JSON.stringify({ topic: 'a long name' }));
    expect((await pop(ws, ['start', '--once'])).exitCode).toBe(0);
    await page.setViewportSize({ width: 1280, height: 900 });
    try {
      await page.goto(ui.url);
      await expect.poll(() => page.locator('#runs tbody tr').count()).toBe(4);
      const widths = await page.evaluate(() => {
        type Box = { scrollWidth: number; clientWidth: number; getBoundingClientRect: () => { right: number } };
        const { document } = globalThis as unknown as { document: { documentElement: Box; getElementById: (id: string) => Box } };
        return {
          page: document.documentElement.scrollWidth,
          window: document.documentElement.clientWidth,
          table: Math.ceil(document.getElementById('runs').getBoundingClientRect().right),
        };
      });
      await page.screenshot({ path: join(shots, 'runs-1280.png'), fullPage: true });
      expect(widths.page, 'the page scrolls sideways').toBeLessThanOrEqual(widths.window);
      expect(widths.table).toBeLessThanOrEqual(widths.window);
    } finally {
      await page.setViewportSize({ width: 1400, height: 1000 });
    }
  });

  it('opens the failed run and sees its error', async () => {
    await page.goto(ui.url);
    await page.click(`a:text("${runs.failed}")`);
    await page.waitForURL(`**/runs/${runs.failed}`);
    await expect.poll(() => page.locator('.error-box').innerText()).toContain('summary cannot handle a failing seed yet');
    expect(await page.locator('svg.graph .node-box.state-failed').count()).toBe(1);
    await page.screenshot({ path: join(shots, 'failed-run.png'), fullPage: true });
  });

  it('compares a run with its rerun: the copied task marked, the changed one flagged', async () => {
    await page.goto(ui.url);
    await page.check(`tr[data-run="${runs.complete}"] input[name="a"]`);
    await page.check(`tr[data-run="${runs.rerun}"] input[name="b"]`);
    await page.click('button:text("Compare the runs picked")');
    await page.waitForURL('**/compare?**');
    expect(await page.locator('tr[data-task="facts"] .badge.copied').count()).toBe(1);
    expect(await page.locator('tr[data-task="summary"].changed').count()).toBe(1);
    expect(await page.locator('#task-summary .diff').count()).toBe(1);
    await page.screenshot({ path: join(shots, 'compare.png'), fullPage: true });
  });

  it('watches a live run finish without reloading', async () => {
    const daemon = await startDaemon(ws);
    await writeFile(ws.path('pipeline-pending', 'moles.json'), JSON.stringify({ topic: 'moles', gate: true }));
    const id = await waitFor(async () => (await runDirs(ws.current)).find((name) => name.includes('moles')));
    await waitFor(async () => (await readStatus(join(ws.current, id))).tasks.summary?.state === 'running');
    await page.goto(ui.url);
    await page.goto(`${ui.origin}/runs/${id}`);
    await page.waitForSelector('#live-state:not([hidden])');
    await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));
    expect(await page.locator('h1 .badge').innerText()).toBe('running');
    await page.screenshot({ path: join(shots, 'live-running.png'), fullPage: true });

    await writeFile(ws.path('gate'), '');
    await page.waitForSelector('h1 .badge.state-complete', { timeout: 30_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(Number(await page.getAttribute('body', 'data-refreshed'))).toBeGreaterThan(0);
    expect(await page.locator('svg.graph .node-box.state-complete').count()).toBe(2);
    await page.screenshot({ path: join(shots, 'live-complete.png'), fullPage: true });
    await daemon.stop();
    expect(problems).toEqual([]);
  });

  it('Rerun says what it did, on the page of the new run it opens', async () => {
    await page.goto(ui.url);
    await page.goto(`${ui.origin}/runs/${runs.complete}`);
    await page.selectOption('#rerun-from', 'summary');
    await page.click('button[data-action="rerun"]');
    await page.waitForURL((url) => url.pathname.startsWith('/runs/') && !url.pathname.endsWith(runs.complete));
    const id = decodeURIComponent(new URL(page.url()).pathname.slice('/runs/'.length));
    await page.waitForSelector('#notice:not([hidden])');
    expect(await page.locator('#notice').innerText()).toBe(`rerun of ${runs.complete} from summary: new run ${id}`);
    await page.screenshot({ path: join(shots, 'rerun-notice.png'), fullPage: true });
  });

  it('Resume says what it did, and the notice stays while the page follows the run', async () => {
    await writeFile(ws.path('fixed'), '');
    await page.goto(ui.url);
    await page.goto(`${ui.origin}/runs/${runs.failed}`);
    await page.click('button[data-action="resume"]');
    await page.waitForSelector('#notice:not([hidden])');
    const said = await page.locator('#notice').innerText();
    expect(said).toMatch(new RegExp(`^resume of run ${runs.failed} started: it runs in a process of its own$|run ${runs.failed} complete`));
    await page.waitForSelector('h1 .badge.state-complete', { timeout: 30_000 });
    expect(await page.locator('#notice').innerText()).toBe(said);
    await page.screenshot({ path: join(shots, 'resume-notice.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
