import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkspacePaths } from '../workspace.js';
import { allowedHosts, cookieValue, hostAllowed, pathSegments, tokenCookie, TOKEN_HEADER, tokenMatches } from './guard.js';
import { LiveEvents } from './live-events.js';
import { pageRedaction } from './redact.js';
import { Replier } from './reply.js';
import { assetRoute, route } from './routes.js';

export interface UiServerOptions {
  paths: WorkspacePaths;
  host: string;
  /** 0 lets the system pick a free port. */
  port: number;
  /** Fixed in tests; a fresh random one otherwise. */
  token?: string;
  env?: NodeJS.ProcessEnv;
}

export interface UiServer {
  /** The address to open, with the token. */
  url: string;
  origin: string;
  port: number;
  token: string;
  close: () => Promise<void>;
}

const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

/**
 * `pop ui`: a local web view of the workspace's runs. Every request passes, in order: the Host
 * check (DNS rebinding), path segments free of traversal, the token (query once, then a cookie;
 * a header for actions), and only then a route. It reads the workspace's files and never needs a
 * manager to run.
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const reply = new Replier(pageRedaction(options.env ?? process.env));
  const live = new LiveEvents(options.paths);
  let allowed = new Set<string>();
  let cookie = '';

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    if (!hostAllowed(request, allowed)) return reply.problem(response, 403, 'refused: the Host header is not the address this server serves');
    const raw = request.url ?? '/';
    const queryAt = raw.indexOf('?');
    const segments = pathSegments(queryAt < 0 ? raw : raw.slice(0, queryAt));
    if (!segments) return reply.problem(response, 400, 'refused: the path leaves its folder');
    const url = new URL(raw, 'http://localhost');
    const method = request.method ?? 'GET';

    if (segments[0] === 'assets' && segments.length === 2 && assetRoute({ reply, response }, segments[1])) return;

    const queryToken = url.searchParams.get('token');
    if (queryToken !== null && method === 'GET') {
      if (!tokenMatches(queryToken, token)) return reply.problem(response, 403, 'refused: wrong token');
      url.searchParams.delete('token');
      // The token moves into a cookie for this origin and out of the address bar and history.
      return reply.send(response, 303, 'text/plain; charset=utf-8', 'signed in\n', {
        location: `${url.pathname}${url.search}`,
        'set-cookie': `${cookie}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      });
    }
    const headerToken = request.headers[TOKEN_HEADER];
    if (method !== 'GET' && method !== 'HEAD') {
      // A state change needs the token in a header: a form or link from another site cannot set one.
      if (!tokenMatches(typeof headerToken === 'string' ? headerToken : undefined, token))
        return reply.json(response, 403, { ok: false, message: `refused: the ${TOKEN_HEADER} header must carry the token` });
      const origin = request.headers.origin;
      if (origin !== undefined && !allowed.has(origin.replace(/^https?:\/\//, '').toLowerCase()))
        return reply.json(response, 403, { ok: false, message: 'refused: foreign origin' });
    } else if (!tokenMatches(cookieValue(request, cookie), token) && !tokenMatches(typeof headerToken === 'string' ? headerToken : undefined, token)) {
      return reply.problem(response, 401, 'Open the address `pop ui` printed (it carries the token).');
    }
    await route({ paths: options.paths, token, reply, live, request, response, url, segments });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) reply.problem(response, 500, `internal error (this is a bug): ${error instanceof Error ? error.message : String(error)}`);
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  allowed = allowedHosts(options.host, port);
  cookie = tokenCookie(port);
  // Served on every interface, the address printed is this machine's own.
  const origin = `http://${urlHost(options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host)}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    close: async () => {
      await live.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
