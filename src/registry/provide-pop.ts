import { createRequire, register } from 'node:module';

let provided = false;

/**
 * Make `import ... from 'pop'` work for the task modules next to `registryFile`. Where Node already
 * resolves `pop` from there (POP's own clone, or a workspace with `pop` in its node_modules) nothing
 * is done: registering a hook starts a thread and costs a task process some 50 ms. Otherwise a
 * resolve hook maps `pop` to this POP's own entry point.
 */
export function providePop(registryFile: string): void {
  if (provided) return;
  provided = true;
  try {
    createRequire(registryFile).resolve('pop');
    return;
  } catch {
    // not resolvable from the workspace: provide it
  }
  register('./pop-resolve-hook.js', import.meta.url, { data: { target: new URL('../index.js', import.meta.url).href } });
}
