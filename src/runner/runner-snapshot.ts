/**
 * The runner as a V8 startup snapshot (`npm run build`: bundled to runner-snapshot.cjs, then
 * `node --build-snapshot`). Node, the runner and the task API (with zod) are restored from the
 * blob instead of being loaded and compiled: a task process then costs about what a bare Node
 * start costs. Started as `node --conditions=pop-runner --snapshot-blob runner.blob <workspace>
 * <letter | --standby>`; the condition resolves a task module's `pop` to snapshot-api.js.
 *
 * What the snapshot cannot hold is set up when it is restored: the paths of the installed package
 * (it may have moved since the build), and a way to import task modules (code restored from a
 * snapshot has no `import()` of its own: it borrows the main context's loader through `vm`).
 */
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startupSnapshot } from 'node:v8';
import * as api from '../index.js';
import { startRunner } from './child.js';
import { useModuleImporter } from '../registry/import-module.js';
import { usePopSource } from '../registry/provide-pop.js';
// Modules the runner imports only when a task needs them: loaded into the snapshot all the same.
import { jsonSchemaOf } from '../formats/all-schemas.js';
import '../formats/parse-jsonc.js';
import './items.js';

const POP_API = Symbol.for('pop.task-api');

/** `import(url)` through the main context's ESM loader, as a module of the program would. */
function moduleImporter(): (url: string) => Promise<unknown> {
  const vm = process.getBuiltinModule('node:vm');
  // The option is marked experimental on Node 20: its warning, at the first import, would land in
  // every task's console.log. Only that warning is dropped.
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning instanceof Error ? warning.message : warning).includes('USE_MAIN_CONTEXT_DEFAULT_LOADER'))
      (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
  const script = new vm.Script('(url) => import(url)', { importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  return script.runInThisContext() as (url: string) => Promise<unknown>;
}

/**
 * What every task does with its schema, done once while the snapshot is built: the functions it
 * runs are then compiled in the snapshot rather than in each task process.
 */
function warmUp(): void {
  const { z } = api;
  const schema = z.object({
    title: z.string().min(1).max(100).describe('a title'),
    parts: z.array(z.object({ text: z.string(), weight: z.number().min(0).max(1).optional(), kind: z.enum(['a', 'b']) })).max(5),
    flag: z.boolean().default(false),
    extra: z.union([z.literal('x'), z.null()]).nullable(),
    notes: z.record(z.string(), z.string()).optional(),
  });
  jsonSchemaOf(schema);
  schema.safeParse({ title: 'x', parts: [{ text: 't', weight: 0.5, kind: 'a' }], extra: null });
  schema.safeParse({ title: '', parts: [{ text: 1 }] });
}
warmUp();

startupSnapshot.setDeserializeMainFunction(() => {
  (globalThis as Record<symbol, unknown>)[POP_API] = api;
  // dist/runner/runner.blob: the package's dist/ is one level up.
  const blob = process.execArgv[process.execArgv.indexOf('--snapshot-blob') + 1] ?? '';
  const dist = dirname(dirname(blob));
  // Restored, the arguments start at argv[1]; the runner reads them after a script's path, as usual.
  process.argv.splice(1, 0, blob);
  usePopSource({
    entry: pathToFileURL(join(dist, 'runner', 'snapshot-api.js')).href,
    hook: pathToFileURL(join(dist, 'registry', 'pop-resolve-hook.js')).href,
    loaded: true,
  });
  useModuleImporter(moduleImporter());
  startRunner();
});
