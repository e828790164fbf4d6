import { mkdir, rename } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import { writeJsonAtomic } from '../../fs/atomic-write.js';
import { exists } from '../../fs/create-new-file.js';
import type { SeedRejection, SeedRejectionReason } from '../../formats/seed-rejection.js';
import type { WorkspacePaths } from '../../workspace.js';


/**
 * Move a bad seed aside to pipeline-pending/rejected/ with `<name>.error.json` beside it. Never
 * deletes: a name already taken there gets a numbered suffix.
 */
export async function rejectSeed(
  paths: WorkspacePaths,
  file: string,
  problem: { reason: SeedRejectionReason; message: string; where?: string },
): Promise<SeedRejection> {
  await mkdir(paths.rejected, { recursive: true });
  const name = basename(file);
  const stem = name.slice(0, name.length - extname(name).length) || name;
  const ext = extname(name);
  let target = join(paths.rejected, name);
  for (let n = 2; (await exists(target)) || (await exists(join(paths.rejected, `${basename(target, ext)}.error.json`))); n++) {
    target = join(paths.rejected, `${stem}.${n}${ext}`);
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
  await writeJsonAtomic(join(paths.rejected, `${basename(target, ext)}.error.json`), rejection);
  return rejection;
}
