import { startUiServer } from '../../ui/server.js';
import type { WorkspacePaths } from '../../workspace.js';
import { EXIT } from '../exit-codes.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** `pop ui`: serve the web view until interrupted. */
export async function uiCommand(paths: WorkspacePaths, options: { host: string; port: number }): Promise<number> {
  if (!LOOPBACK.has(options.host)) {
    process.stderr.write(
      `pop: warning: serving on ${options.host}, not only this machine: anyone who can reach it and has the token can see every run and resume or rerun them\n`,
    );
  }
  let server;
  try {
    server = await startUiServer({ paths, host: options.host, port: options.port });
  } catch (error) {
    process.stderr.write(`pop: cannot serve on ${options.host}:${options.port}: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  process.stdout.write(`POP runs of ${paths.root}\n${server.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return EXIT.ok;
}
