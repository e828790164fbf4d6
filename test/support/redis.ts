/**
 * A real redis-server (Debian's package) for the queue tests: its own free port and temp folder,
 * stopped (or killed) and started again at will. When it is not installed the tests say how to get it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, beforeEach } from 'vitest';
import { popInBackground, type BackgroundCli } from './cli.js';
import { waitFor, type Workspace } from './workspace.js';
import { freePort } from '../../src/util/free-port.js';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const hasRedis = existsSync(REDIS_SERVER);
export const INSTALL_REDIS = 'apt-get install -y redis-server';

export interface RedisServer {
  /** redis://127.0.0.1:<port>, or the socket's path when started with a Unix socket. */
  url: string;
  port: number;
  /** Shut down (saving its data, as on a normal stop), then start again on the same port and folder. */
  stop: () => Promise<void>;
  start: () => Promise<void>;
  close: () => Promise<void>;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.write('PING\r\n');
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Default persistence (an RDB save on shutdown) in its own folder. With `unixSocket`, it listens on
 * a socket in that folder too (reachable from another network namespace, as loopback is not).
 */
export async function startRedis(options: { unixSocket?: boolean } = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'pop-redis-'));
  const port = await freePort();
  const socket = join(dir, 'redis.sock');
  let server: ResultPromise | undefined;
  const start = async () => {
    const unix = options.unixSocket ? ['--unixsocket', socket, '--unixsocketperm', '777'] : [];
    server = execa(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '3600 1', '--appendonly', 'no', ...unix], {
      reject: false,
      stdio: 'ignore',
    });
    await waitFor(() => answers(port).then((up) => (up ? true : undefined)), { description: () => `redis-server on port ${port}` });
  };
  const stop = async () => {
    if (!server) return;
    server.kill('SIGTERM');
    await server;
    server = undefined;
  };
  await start();
  return {
    url: options.unixSocket ? socket : `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * For a test file of the queue: a fresh redis-server before each test, and the CLI processes it
 * starts in the background (a manager, workers) killed after it, with the environment `env`.
 */
export function queueProcesses(env: () => Record<string, string>): {
  redis: () => RedisServer;
  /** The environment of `env`, with `extra` over it. */
  background: (ws: Workspace, args: string[], extra?: Record<string, string>) => BackgroundCli;
} {
  let redis: RedisServer | undefined;
  const started: BackgroundCli[] = [];
  beforeEach(async () => {
    if (hasRedis) redis = await startRedis();
  });
  afterEach(async () => {
    for (const cli of started.splice(0)) {
      cli.subprocess.kill('SIGKILL');
      await cli.done();
    }
    await redis?.close();
  });
  return {
    redis: () => {
      if (!redis) throw new Error('redis-server is not running');
      return redis;
    },
    background: (ws, args, extra = {}) => {
      const cli = popInBackground(ws, args, { env: { ...env(), ...extra }, extendEnv: false, root: false, timeoutMs: 170_000 });
      started.push(cli);
      return cli;
    },
  };
}
