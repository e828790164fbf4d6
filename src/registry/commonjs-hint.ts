import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * When task modules fail to load because the nearest package.json says `"type": "commonjs"`, Node
 * reads `import` statements in .js files as a syntax error. Say what to change, naming that file.
 */
export async function commonJsHint(registryFile: string, error: unknown): Promise<string | undefined> {
  const message = error instanceof Error ? error.message : String(error);
  if (!/import statement outside a module|Unexpected token 'export'|exports is not defined|require is not defined/.test(message)) return undefined;
  for (let dir = dirname(registryFile); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      let type: unknown;
      try {
        type = (JSON.parse(text) as { type?: unknown }).type;
      } catch {
        return undefined;
      }
      if (type !== 'commonjs') return undefined;
      const tasksDir = dirname(registryFile);
      return (
        `${file} says "type": "commonjs", so Node loads the .js files in ${tasksDir} as CommonJS, but task modules are ES modules: ` +
        `add ${join(tasksDir, 'package.json')} containing { "type": "module" } (pop init writes one), or name the task files .mjs`
      );
    }
    if (dirname(dir) === dir) return undefined;
  }
}
