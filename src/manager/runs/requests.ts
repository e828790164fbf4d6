import { mkdir, unlink } from 'node:fs/promises';
import { readRegularFileAt } from '../../fs/read-regular-file.js';
import { createNewFile } from '../../fs/create-new-file.js';
import { join } from 'node:path';
import { RunRequestSchema, type RunRequest } from '../../formats/run-request.js';
import { err, ok, type Result } from '../../result.js';
import type { WorkspacePaths } from '../../workspace.js';

export const requestPath = (paths: WorkspacePaths, run: string) => join(paths.requests, `${run}.json`);

/** Hand a run to the running manager. One request per run at a time: a second one is 'busy'. */
export async function writeRunRequest(paths: WorkspacePaths, request: RunRequest): Promise<Result<string, 'busy'>> {
  await mkdir(paths.requests, { recursive: true });
  const path = requestPath(paths, request.run);
  // Appears whole, and not at all if a request for the run is already waiting.
  return (await createNewFile([path], JSON.stringify(request))) ? ok(path) : err('busy');
}

/** Read and remove a request file; a torn or foreign file is removed and reported. */
export async function takeRunRequest(path: string): Promise<Result<RunRequest, string> | undefined> {
  // Never a blocking open: a FIFO dropped here must not hang the manager.
  const read = await readRegularFileAt(path);
  if (!read.ok && read.error.reason === 'gone') return undefined;
  await unlink(path).catch(() => {});
  if (!read.ok) return err(`${path}: not a regular file (${read.error.reason === 'unreadable' ? read.error.code : 'a link, FIFO or folder'})`);
  const text = read.value.bytes.toString('utf8');
  try {
    const parsed = RunRequestSchema.safeParse(JSON.parse(text));
    return parsed.success ? ok(parsed.data) : err(`${path}: not a run request (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  } catch (error) {
    return err(`${path}: not valid JSON (${(error as Error).message})`);
  }
}
