let provided: Promise<void> | undefined;

/**
 * Where `pop` comes from in this process: POP's entry point, imported first; or, in the runner
 * started from its startup snapshot, a module over the API the snapshot already holds.
 */
export interface PopSource {
  entry: string;
  hook: string;
  loaded: boolean;
}
let source: PopSource | undefined;

export function usePopSource(replacement: PopSource): void {
  source = replacement;
}

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
    // Taken when needed, not imported: the runner's startup snapshot is built without node:module.
    const { createRequire, register } = process.getBuiltinModule('node:module');
    try {
      createRequire(registryFile).resolve('pop');
      return;
    } catch {
      // not resolvable from the workspace: provide it
    }
    // From dist/registry/ or from the bundled runner in dist/runner/: both one level under dist/.
    const { entry, hook, loaded } = source ?? {
      entry: new URL('../index.js', import.meta.url).href,
      hook: new URL('../registry/pop-resolve-hook.js', import.meta.url).href,
      loaded: false,
    };
    if (!loaded) await import(entry);
    register(hook, { data: { target: entry } });
  })();
  return provided;
}
