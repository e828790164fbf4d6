import { createRequire, register } from 'node:module';

let provided: Promise<void> | undefined;

/**
 * Make `import ... from 'pop'` work for the task modules next to `registryFile`. Where Node already
 * resolves `pop` from there (POP's own clone, or a workspace with `pop` in its node_modules) nothing
 * is done. Otherwise a resolve hook maps `pop` to this POP's own entry point. A hook runs on a
 * thread of its own and every import after it is registered goes through that thread, so POP's
 * entry point (and zod, which every task module loads through it) is imported first: the task
 * modules' own imports are then nearly all that the hook sees.
 */
export function providePop(registryFile: string): Promise<void> {
  provided ??= (async () => {
    try {
      createRequire(registryFile).resolve('pop');
      return;
    } catch {
      // not resolvable from the workspace: provide it
    }
    const entry = new URL('../index.js', import.meta.url).href;
    await import(entry);
    // From dist/registry/ or from the bundled runner in dist/runner/: both one level under dist/.
    register('../registry/pop-resolve-hook.js', import.meta.url, { data: { target: entry } });
  })();
  return provided;
}
