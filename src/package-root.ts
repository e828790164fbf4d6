import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * POP's package folder (the one holding package.json, dist/ and templates/), found from a module of
 * dist/ at any depth: the command-line program runs from a bundle in dist/bundle/, the same code
 * unbundled lives deeper in dist/.
 */
export function packageRoot(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
