import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { exists } from '../../fs/create-new-file.js';
import { workspaceId } from '../../fs/workspace-id.js';
import { workspacePaths } from '../../workspace.js';
import { EXIT } from '../exit-codes.js';
import { scaffoldFiles, type Template } from '../init/scaffold.js';

/**
 * `init [dir]`: create a workspace. Refuses, writing nothing, when any file it would write is
 * already there: it never overwrites a user's work.
 */
export async function initCommand(root: string, template: Template): Promise<number> {
  const files = await scaffoldFiles(template);
  const taken: string[] = [];
  for (const file of files.keys()) if (await exists(join(root, file))) taken.push(file);
  if (taken.length) {
    process.stderr.write(`pop: ${root} already has ${taken.join(', ')}; init writes nothing over existing files (choose an empty folder)\n`);
    return EXIT.usage;
  }
  for (const [file, text] of files) {
    const path = join(root, file);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text, { flag: 'wx' });
  }
  const paths = workspacePaths(root);
  await Promise.all([paths.pending, paths.current, paths.complete].map((dir) => mkdir(dir, { recursive: true })));
  await workspaceId(root);

  const fromHere = relative(process.cwd(), root);
  const cd = fromHere === '' ? '.' : fromHere.startsWith('..') ? root : fromHere;
  process.stdout.write(
    `created a POP workspace (${template}) in ${root}:\n` +
      [...files.keys(), 'pipeline-pending/', 'pipeline-current/', 'pipeline-complete/'].map((file) => `  ${file}\n`).join('') +
      `next:\n` +
      (cd === '.' ? '' : `  cd ${cd}\n`) +
      `  pop submit examples/seeds/*.json\n` +
      `  pop start --once\n`,
  );
  return EXIT.ok;
}
