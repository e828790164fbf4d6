import { mkdir, rename } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import { writeJsonAtomic } from '../../fs/atomic-write.js';
import { exists } from '../../fs/create-new-file.js';
import { fitName } from '../../fs/file-name.js';
import type { WorkspacePaths } from '../../workspace.js';

/**
 * Move a pending seed that is the crash-left copy of a run's seed to pipeline-pending/duplicates/,
 * with `<name>.note.json` saying which run it is the copy of. Never deletes: a name already taken
 * there gets a numbered suffix. Returns where it went, relative to the workspace.
 */
export async function setAsideDuplicate(paths: WorkspacePaths, file: string, run: string): Promise<string> {
  await mkdir(paths.duplicates, { recursive: true });
  const name = basename(file);
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length) || name;
  let target = join(paths.duplicates, name);
  for (let n = 2; (await exists(target)) || (await exists(noteFor(target))); n++) target = join(paths.duplicates, fitName(stem, `.${n}${ext}`));
  await rename(file, target);
  await writeJsonAtomic(noteFor(target), {
    file: relative(paths.root, file),
    run,
    message: `the same file (name, size, mtime and sha256) as the one run ${run} was claimed from (its source.json): a crash stopped the claim before it removed it. Drop it again to run it a second time.`,
    movedAt: new Date().toISOString(),
  });
  return relative(paths.root, target);
}

const noteFor = (target: string): string => {
  const name = basename(target);
  return join(target, '..', fitName(name.slice(0, name.length - extname(name).length) || name, '.note.json'));
};
