import { link, mkdir, readFile, unlink } from 'node:fs/promises';
import { tempPathFor, writeFileAtomic } from '../fs/atomic-write.js';
import { join } from 'node:path';
import { RunRequestSchema, type RunRequest } from '../formats/run-request.js';
import { err, ok, type Result } from '../result.js';
import type { WorkspacePaths } from '../workspace.js';

export const requestPath = (paths: WorkspacePaths, run: string) => join(paths.requests, `${run}.json`);

/** Hand a run to the running manager. One request per run at a time: a second one is 'busy'. */
export async function writeRunRequest(paths: WorkspacePaths, request: RunRequest): Promise<Result<string, 'busy'>> {
  await mkdir(paths.requests, { recursive: true });
  const path = requestPath(paths, request.run);
  // Written whole under a temp name, then hard-linked into place: the link appears complete, and
  // fails if a request for the run is already there.
  const temp = tempPathFor(path);
  await writeFileAtomic(temp, JSON.stringify(request));
  try {
    await link(temp, path);
    return ok(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return err('busy');
    throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/** Read and remove a request file; a torn or foreign file is removed and reported. */
export async function takeRunRequest(path: string): Promise<Result<RunRequest, string> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  await unlink(path).catch(() => {});
  try {
    const parsed = RunRequestSchema.safeParse(JSON.parse(text));
    return parsed.success ? ok(parsed.data) : err(`${path}: not a run request (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  } catch (error) {
    return err(`${path}: not valid JSON (${(error as Error).message})`);
  }
}
