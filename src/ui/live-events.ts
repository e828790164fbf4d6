import type { ServerResponse } from 'node:http';
import { relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { WorkspacePaths } from '../workspace.js';

/** Changes are gathered this long and sent as one event per run: a task writes many files at once. */
const COALESCE_MS = 100;
/** A comment line this often keeps proxies and the browser from dropping an idle stream. */
const HEARTBEAT_MS = 15_000;
/** run/tasks/<task>/items/<nnnn>/<file> is five levels below pipeline-current/. */
const CURRENT_DEPTH = 5;

interface Subscriber {
  response: ServerResponse;
  /** A run id, or undefined for every run (the runs list). */
  run: string | undefined;
}

/**
 * Server-sent events from the workspace's files: one watcher (chokidar) on pipeline-current/ and
 * on pipeline-complete/'s top level (a promoted run, runs.jsonl), started with the first
 * subscriber. Pages are told "this run changed"; they fetch themselves again.
 */
export class LiveEvents {
  private watcher: FSWatcher | undefined;
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
    response.on('close', () => this.subscribers.delete(subscriber));
    this.start();
  }

  private start(): void {
    if (this.watcher) return;
    const { current, complete } = this.paths;
    this.watcher = watch([current, complete], {
      ignoreInitial: true,
      depth: CURRENT_DEPTH,
      // Lock files, request files and temp files of atomic writes are not a run's content.
      ignored: (path: string) => {
        const inComplete = path.startsWith(complete + sep);
        const parts = relative(inComplete ? complete : current, path).split(sep);
        if (inComplete && parts.length > 1) return true;
        return parts.some((part) => part.startsWith('.'));
      },
    });
    this.watcher.on('all', (_event, path) => this.changed(path));
    this.watcher.on('error', () => {}); // a folder vanishing under the watcher is not the server's concern
    this.heartbeat = setInterval(() => this.send(': heartbeat\n\n', () => true), HEARTBEAT_MS);
    this.heartbeat.unref();
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
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
