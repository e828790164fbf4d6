import { createHash } from 'node:crypto';
import { lstat, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { syncDirectory, writeFileSynced } from '../../fs/atomic-write.js';
import { readRegularFile } from '../../fs/read-regular-file.js';
import { basename, join } from 'node:path';
import type { WorkspacePaths } from '../../workspace.js';
import { runPaths } from '../../workspace.js';
import type { ResolvedTask } from '../../formats/resolve-pipeline.js';
import type { RunStatus } from '../../formats/tasks-status.js';
import type { Source } from '../../formats/source.js';
import { newRunId } from './run-id.js';
import { initialStatus, saveStatus } from '../runs/run-status.js';
import { crashPoint } from '../recovery/crash-point.js';
import { knowsSecrets, redact } from '../../secrets/known-secrets.js';

/** Claims in progress are built under this prefix inside pipeline-current/, then renamed into place. */
export const CLAIM_PREFIX = '.claim-';

/** The seed as inspected: its bytes, and the file they were read from. */
export interface ClaimedSeed {
  bytes: Buffer;
  sha256: string;
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
}

export interface PipelineSnapshot {
  name: string;
  /** pipeline.json exactly as read, copied into each run. */
  text: string;
  tasks: ResolvedTask[];
}

/**
 * Turn a checked pending seed into a run: build the folder in a temp name, rename it into
 * pipeline-current/<id>, and only then remove the pending file. A crash at any point leaves either
 * the seed still pending (temp folder cleaned at start) or the run in place (the pending copy, the
 * very file source.json describes, set aside at start to pipeline-pending/duplicates/).
 */
export async function claimSeed(
  paths: WorkspacePaths,
  seedFile: string,
  seed: ClaimedSeed,
  pipeline: PipelineSnapshot,
): Promise<{ id: string; runDir: string; status: RunStatus }> {
  const name = basename(seedFile);
  const id = newRunId(name);
  const temp = join(paths.current, `${CLAIM_PREFIX}${id}`);
  const runDir = join(paths.current, id);
  const files = runPaths(temp);
  try {
    await mkdir(files.tasks, { recursive: true });
    // Durable before the pending seed goes: the seed and the pipeline it runs, their folder, then the rename into place.
    const source: Source = { file: name, size: seed.size, mtimeMs: seed.mtimeMs, sha256: seed.sha256, claimedAt: new Date().toISOString() };
    await Promise.all([
      writeFileSynced(files.seed, seedWithoutKeys(seed.bytes)),
      writeFileSynced(files.pipeline, pipeline.text),
      writeFileSynced(files.source, `${JSON.stringify(source, null, 2)}\n`),
    ]);
    const status = initialStatus({
      id,
      pipeline: pipeline.name,
      file: name,
      sha256: seed.sha256,
      mtimeMs: seed.mtimeMs,
      tasks: pipeline.tasks,
      now: new Date().toISOString(),
    });
    await saveStatus(temp, status);
    await syncDirectory(temp);
    await rename(temp, runDir);
    await syncDirectory(paths.current);
    crashPoint('after-claim-rename');
    await removeIfUnchanged(seedFile, seed);
    return { id, runDir, status };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/**
 * A key quoted in a seed (pasted by mistake) would reach prompts, artifacts and the provider: the
 * run's copy has every key the manager knows taken out. The seed's sha256 stays that of the file.
 */
function seedWithoutKeys(bytes: Buffer): Buffer | string {
  if (!knowsSecrets()) return bytes;
  const text = bytes.toString('utf8');
  const redacted = redact(text);
  return redacted.names.length ? redacted.text : bytes;
}

/**
 * Remove the claimed seed, unless it was replaced meanwhile: a file with new content is a new seed,
 * left to be claimed again; anything but a regular file (a FIFO, a link) is left to be judged on its
 * own, and is never opened here. The same file (inode, size, mtime), or else the same bytes, is the
 * one claimed.
 */
async function removeIfUnchanged(file: string, seed: ClaimedSeed): Promise<void> {
  const now = await lstat(file).catch(() => undefined);
  if (!now?.isFile()) return;
  if (now.ino === seed.ino && now.dev === seed.dev && now.size === seed.size && now.mtimeMs === seed.mtimeMs) return unlink(file);
  const read = await readRegularFile(file, now);
  if (read.ok && createHash('sha256').update(read.value.bytes).digest('hex') === seed.sha256) await unlink(file);
}
