import type { ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { WorkspacePaths } from '../workspace.js';

/** Changes are gathered this long and sent as one event per run: a task writes many files at once. */
const COALESCE_MS = 100;
/** A comment line this often keeps proxies and the browser from dropping an idle stream. */
const HEARTBEAT_MS = 15_000;
/** <task>/items/<nnnn>/<file> is four levels below a run's tasks/ folder's parent. */
const RUN_DEPTH = 4;

interface Subscriber {
  response: ServerResponse;
  /** A run id, or undefined for every run (the runs list). */
  run: string | undefined;
}

/**
 * Server-sent events from the workspace's files (chokidar). One watcher sees runs appear, change
 * state (their tasks-status.json) and move to pipeline-complete/; a run someone is looking at gets
 * a watcher of its whole folder while they look, so a workspace with many failed runs kept in
 * pipeline-current/ does not cost a watch per folder of every run. Pages are told "this run
 * changed"; they fetch themselves again.
 */
export class LiveEvents {
  private overview: FSWatcher | undefined;
  private readonly runWatchers = new Map<string, { watcher: FSWatcher; subscribers: number }>();
  private readonly subscribers = new Set<Subscriber>();
  private pending = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly paths: WorkspacePaths) {}

  subscribe(response: ServerResponse, run: string | undefined): void {
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    response.write(`retry: 1000\n: watching ${run ?? 'all runs'}\n\n`);
    const subscriber = { response, run };
    this.subscribers.add(subscriber);
    this.startOverview();
    if (run) this.watchRun(run);
    response.on('close', () => {
      this.subscribers.delete(subscriber);
      if (run) this.unwatchRun(run);
    });
  }

  private startOverview(): void {
    if (this.overview) return;
    const { current, complete } = this.paths;
    this.overview = watch([current, complete], {
      ignoreInitial: true,
      depth: 1,
      ignored: (path: string, stats?: { isFile: () => boolean }) => {
        const inComplete = path.startsWith(complete + sep);
        const parts = relative(inComplete ? complete : current, path).split(sep);
        // Lock, request and temp files of atomic writes are not a run's content.
        if (parts.some((part) => part.startsWith('.'))) return true;
        if (inComplete) return parts.length > 1;
        return parts.length > 1 && (parts[1] !== 'tasks-status.json' || stats?.isFile() === false);
      },
    });
    this.overview.on('all', (_event, path) => this.changed(path));
    this.overview.on('error', () => {}); // a folder vanishing under the watcher is not the server's concern
    this.heartbeat = setInterval(() => this.send(': heartbeat\n\n', () => true), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private watchRun(run: string): void {
    const existing = this.runWatchers.get(run);
    if (existing) return void existing.subscribers++;
    const dir = join(this.paths.current, run);
    // A run in pipeline-complete/ no longer changes; the overview sees it arrive there.
    if (!existsSync(dir)) return;
    const watcher = watch(dir, {
      ignoreInitial: true,
      depth: RUN_DEPTH,
      ignored: (path: string) =>
        relative(dir, path)
          .split(sep)
          .some((part) => part.startsWith('.')),
    });
    watcher.on('all', (_event, path) => this.changed(path));
    watcher.on('error', () => {});
    this.runWatchers.set(run, { watcher, subscribers: 1 });
  }

  private unwatchRun(run: string): void {
    const entry = this.runWatchers.get(run);
    if (!entry || --entry.subscribers > 0) return;
    this.runWatchers.delete(run);
    void entry.watcher.close();
  }

  private changed(path: string): void {
    for (const folder of [this.paths.current, this.paths.complete]) {
      if (!path.startsWith(folder + sep)) continue;
      const first = relative(folder, path).split(sep)[0]!;
      this.pending.add(first === 'runs.jsonl' ? '' : first);
    }
    this.flushTimer ??= setTimeout(() => this.flush(), COALESCE_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const runs = this.pending;
    this.pending = new Set();
    for (const run of runs) {
      const data = `event: change\ndata: ${JSON.stringify({ run: run || null })}\n\n`;
      this.send(data, (subscriber) => subscriber.run === undefined || (run !== '' && subscriber.run === run));
    }
  }

  private send(data: string, to: (subscriber: Subscriber) => boolean): void {
    for (const subscriber of this.subscribers) if (to(subscriber)) subscriber.response.write(data);
  }

  async close(): Promise<void> {
    clearTimeout(this.flushTimer);
    clearInterval(this.heartbeat);
    for (const subscriber of this.subscribers) subscriber.response.end();
    this.subscribers.clear();
    await Promise.all([this.overview?.close(), ...[...this.runWatchers.values()].map((entry) => entry.watcher.close())]);
    this.runWatchers.clear();
    this.overview = undefined;
  }
}
