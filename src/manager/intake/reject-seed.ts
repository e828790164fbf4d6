import { mkdir, rename } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { fitName } from '../../fs/file-name.js';
import { writeJsonAtomic } from '../../fs/atomic-write.js';
import { exists } from '../../fs/create-new-file.js';
import type { SeedRejection, SeedRejectionReason } from '../../formats/seed-rejection.js';
import type { WorkspacePaths } from '../../workspace.js';

/**
 * Move a bad seed aside to pipeline-pending/rejected/ with `<name>.error.json` beside it. Never
 * deletes: a name already taken there gets a numbered suffix. A name too long to take a suffix is
 * shortened (its start plus a hash); the error file still names the seed as dropped (`file`).
 */
export async function rejectSeed(
  paths: WorkspacePaths,
  file: string,
  problem: { reason: SeedRejectionReason; message: string; where?: string },
): Promise<SeedRejection> {
  await mkdir(paths.rejected, { recursive: true });
  const name = basename(file);
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length) || name;
  let target = join(paths.rejected, name);
  for (let n = 2; (await exists(target)) || (await exists(errorFileFor(target))); n++) {
    target = join(paths.rejected, fitName(stem, `.${n}${ext}`));
  }
  await rename(file, target);
  const rejection: SeedRejection = {
    file: relative(paths.root, file),
    movedTo: relative(paths.root, target),
    reason: problem.reason,
    message: `${relative(paths.root, file)} ${problem.message}`,
    ...(problem.where ? { where: problem.where } : {}),
    rejectedAt: new Date().toISOString(),
  };
  await writeJsonAtomic(errorFileFor(target), rejection);
  return rejection;
}

/** `x.json` → `x.error.json`, in the same folder. */
function errorFileFor(target: string): string {
  const name = basename(target);
  return join(dirname(target), fitName(name.slice(0, name.length - extname(name).length) || name, '.error.json'));
}
