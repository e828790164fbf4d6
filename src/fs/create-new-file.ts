import { access, link, unlink } from 'node:fs/promises';
import { tempPathFor, writeFileAtomic } from './atomic-write.js';

export const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Create a file that appears whole, and only under a name nobody holds yet: written under a temp
 * name, then hard-linked into place (a link fails if the name is taken, where a rename would
 * replace it). Tries the names in order, all in one folder; returns the one it got, or undefined
 * when every name was taken.
 */
export async function createNewFile(names: Iterable<string>, data: string): Promise<string | undefined> {
  let temp: string | undefined;
  try {
    for (const name of names) {
      if (!temp) {
        temp = tempPathFor(name);
        await writeFileAtomic(temp, data);
      }
      try {
        await link(temp, name);
        return name;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    return undefined;
  } finally {
    if (temp) await unlink(temp).catch(() => {});
  }
}
