import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

/**
 * A file inside a run folder, or undefined. The segments are already free of `..` and slashes;
 * the real path (symlinks resolved) must still lie inside the run folder's real path, so a link
 * planted in a run folder cannot lead out of it.
 */
export async function fileInsideRun(runDir: string, segments: string[]): Promise<string | undefined> {
  if (!segments.length || segments.some((segment) => !segment || segment === '.' || segment === '..' || /[/\\\0]/.test(segment))) return undefined;
  try {
    const root = await realpath(runDir);
    const target = await realpath(join(runDir, ...segments));
    if (!target.startsWith(root + sep)) return undefined;
    return (await stat(target)).isFile() ? target : undefined;
  } catch {
    return undefined;
  }
}
