import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLIENT_SCRIPT } from './assets/client-script.js';
import { STYLE } from './assets/style.js';
import { runAction } from './actions.js';
import { compareRuns } from './compare/compare-runs.js';
import { isItemName, isRunId, isTaskName, loadRun } from './data/load-run.js';
import { readText } from './data/read-file.js';
import { listRuns, type RunFilter } from './data/runs-index.js';
import type { LiveEvents } from './live-events.js';
import { comparePage, comparePicker } from './render/compare-page.js';
import { html } from './render/html.js';
import { page } from './render/layout.js';
import { runPage } from './render/run-page.js';
import { runsPage } from './render/runs-page.js';
import { taskPageData } from './task-page-data.js';
import { taskPage } from './render/task-page.js';
import type { Replier } from './reply.js';
import { fileInsideRun } from './safe-file.js';
import { readStageFolder, type StageFolder } from './data/stage-artifacts.js';
import type { WorkspacePaths } from '../workspace.js';

export interface RouteContext {
  paths: WorkspacePaths;
  token: string;
  reply: Replier;
  live: LiveEvents;
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
  segments: string[];
}

const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 10_000;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function runFilter(url: URL): { filter: RunFilter; limit: number } {
  const get = (name: string) => url.searchParams.get(name) || undefined;
  const limit = Math.min(MAX_LIMIT, Math.max(1, Number(get('limit') ?? DEFAULT_LIMIT) || DEFAULT_LIMIT));
  const day = (name: string) => (DAY.test(get(name) ?? '') ? get(name) : undefined);
  return { filter: { state: get('state'), pipeline: get('pipeline'), since: day('since'), until: day('until') }, limit };
}

const notFound = (ctx: RouteContext, what: string) =>
  ctx.reply.html(
    ctx.response,
    404,
    page({ title: 'Not found', token: ctx.token, body: html`<h1>Not found</h1><p>${what}</p><p><a href="/">All runs</a></p>` }),
  );

async function taskFolders(dir: string, names: string[]): Promise<Map<string, StageFolder>> {
  const folders = await Promise.all(names.map(async (name) => [name, await readStageFolder(dir, `tasks/${name}`)] as const));
  return new Map(folders);
}

async function runsRoute(ctx: RouteContext, json: boolean): Promise<void> {
  const { filter, limit } = runFilter(ctx.url);
  const list = await listRuns(ctx.paths, filter, limit);
  if (json) return ctx.reply.json(ctx.response, 200, list);
  ctx.reply.html(ctx.response, 200, page({ title: 'Runs', token: ctx.token, live: '*', body: runsPage(list, filter, limit) }));
}

async function runRoute(ctx: RouteContext, id: string, json: boolean): Promise<void> {
  const run = await loadRun(ctx.paths, id);
  if (!run)
    return json ? ctx.reply.json(ctx.response, 404, { error: `no run ${id}` }) : notFound(ctx, `No run ${id} in pipeline-current/ or pipeline-complete/.`);
  if (json) return ctx.reply.json(ctx.response, 200, { id: run.id, where: run.where, status: run.status, graph: run.graph });
  const folders = await taskFolders(
    run.dir,
    run.graph.map((node) => node.name),
  );
  ctx.reply.html(ctx.response, 200, page({ title: run.id, token: ctx.token, live: run.id, body: runPage(run, folders) }));
}

async function taskRoute(ctx: RouteContext, id: string, task: string, item: string | undefined): Promise<void> {
  const run = await loadRun(ctx.paths, id);
  if (!run || !isTaskName(task) || (item !== undefined && !isItemName(item))) return notFound(ctx, `No such run, task or item.`);
  const data = await taskPageData(run, task, item);
  if (!data) return notFound(ctx, `Run ${id} has no task ${task}${item ? ` item ${item}` : ''}.`);
  ctx.reply.html(ctx.response, 200, page({ title: `${task}${item ? ` item ${item}` : ''} · ${id}`, token: ctx.token, live: run.id, body: taskPage(data) }));
}

async function fileRoute(ctx: RouteContext, id: string, segments: string[]): Promise<void> {
  const run = await loadRun(ctx.paths, id);
  const path = run ? await fileInsideRun(run.dir, segments) : undefined;
  const text = path ? await readText(path) : undefined;
  if (text === undefined) return ctx.reply.problem(ctx.response, 404, 'no such file in this run');
  ctx.reply.file(ctx.response, text);
}

async function compareRoute(ctx: RouteContext, json: boolean): Promise<void> {
  const a = ctx.url.searchParams.get('a') ?? '';
  const b = ctx.url.searchParams.get('b') ?? '';
  const [runA, runB] = await Promise.all([a ? loadRun(ctx.paths, a) : undefined, b ? loadRun(ctx.paths, b) : undefined]);
  if (!runA || !runB) {
    const message = !a || !b ? 'Pick two runs to compare.' : `No run ${!runA ? a : b}.`;
    if (json) return ctx.reply.json(ctx.response, a && b ? 404 : 400, { error: message });
    return ctx.reply.html(ctx.response, a && b ? 404 : 200, page({ title: 'Compare', token: ctx.token, body: comparePicker(message) }));
  }
  const comparison = await compareRuns(runA, runB);
  if (json) return ctx.reply.json(ctx.response, 200, comparison);
  ctx.reply.html(ctx.response, 200, page({ title: `Compare ${a} and ${b}`, token: ctx.token, body: comparePage(comparison) }));
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of request) {
    text += String(chunk);
    if (text.length > 10_000) throw new Error('body too large');
  }
  return text ? (JSON.parse(text) as unknown) : {};
}

async function actionRoute(ctx: RouteContext, id: string, action: string): Promise<void> {
  const run = await loadRun(ctx.paths, id);
  if (!run) return ctx.reply.json(ctx.response, 404, { ok: false, message: `no run ${id}` });
  let body: unknown;
  try {
    body = await readBody(ctx.request);
  } catch {
    return ctx.reply.json(ctx.response, 400, { ok: false, message: 'the body must be a small JSON object' });
  }
  if (action === 'resume') return ctx.reply.json(ctx.response, 200, await runAction(ctx.paths, { action: 'resume', run: run.id }));
  const from = (body as { from?: unknown } | null)?.from;
  if (typeof from !== 'string' || !run.graph.some((node) => node.name === from)) {
    return ctx.reply.json(ctx.response, 400, { ok: false, message: `rerun needs "from": one of ${run.graph.map((node) => node.name).join(', ')}` });
  }
  ctx.reply.json(ctx.response, 200, await runAction(ctx.paths, { action: 'rerun', run: run.id, from }));
}

/** Assets need no token: they hold nothing from the workspace. */
export function assetRoute(ctx: Pick<RouteContext, 'reply' | 'response'>, name: string | undefined): boolean {
  if (name === 'app.js') ctx.reply.send(ctx.response, 200, 'text/javascript; charset=utf-8', CLIENT_SCRIPT);
  else if (name === 'style.css') ctx.reply.send(ctx.response, 200, 'text/css; charset=utf-8', STYLE);
  else return false;
  return true;
}

type Params = Record<string, string>;
type Handler = (ctx: RouteContext, params: Params, rest: string[]) => Promise<void> | void;

function eventsRoute(ctx: RouteContext): void {
  const run = ctx.url.searchParams.get('run') ?? undefined;
  if (run !== undefined && !isRunId(run)) {
    ctx.reply.problem(ctx.response, 400, 'not a run id');
    return;
  }
  ctx.live.subscribe(ctx.response, run);
}

/** Patterns: literal segments, `:name` for one segment, a final `*` for the rest of the path. */
const GET_ROUTES: [string, Handler][] = [
  ['', (ctx) => runsRoute(ctx, false)],
  ['events', eventsRoute],
  ['compare', (ctx) => compareRoute(ctx, false)],
  ['runs/:run', (ctx, { run }) => runRoute(ctx, run!, false)],
  ['runs/:run/tasks/:task', (ctx, { run, task }) => taskRoute(ctx, run!, task!, undefined)],
  ['runs/:run/tasks/:task/items/:item', (ctx, { run, task, item }) => taskRoute(ctx, run!, task!, item)],
  ['runs/:run/files/*', (ctx, { run }, rest) => fileRoute(ctx, run!, rest)],
  ['api/runs', (ctx) => runsRoute(ctx, true)],
  ['api/runs/:run', (ctx, { run }) => runRoute(ctx, run!, true)],
  ['api/compare', (ctx) => compareRoute(ctx, true)],
];
const POST_ROUTES: [string, Handler][] = [
  ['api/runs/:run/resume', (ctx, { run }) => actionRoute(ctx, run!, 'resume')],
  ['api/runs/:run/rerun', (ctx, { run }) => actionRoute(ctx, run!, 'rerun')],
];

function match(pattern: string, segments: string[]): { params: Params; rest: string[] } | undefined {
  const parts = pattern ? pattern.split('/') : [];
  const params: Params = {};
  for (const [index, part] of parts.entries()) {
    if (part === '*') return { params, rest: segments.slice(index) };
    const segment = segments[index];
    if (segment === undefined) return undefined;
    if (part.startsWith(':')) params[part.slice(1)] = segment;
    else if (part !== segment) return undefined;
  }
  return parts.length === segments.length ? { params, rest: [] } : undefined;
}

/** Every route behind the token; 404 for anything else. */
export async function route(ctx: RouteContext): Promise<void> {
  const method = ctx.request.method ?? 'GET';
  const routes = method === 'POST' ? POST_ROUTES : method === 'GET' || method === 'HEAD' ? GET_ROUTES : undefined;
  if (!routes) return ctx.reply.problem(ctx.response, 405, 'method not allowed');
  for (const [pattern, handler] of routes) {
    const found = match(pattern, ctx.segments);
    if (found) return handler(ctx, found.params, found.rest);
  }
  if (method === 'POST') return ctx.reply.json(ctx.response, 404, { ok: false, message: 'no such action' });
  notFound(ctx, 'No such page.');
}
