// `npm run build`: the runner's startup snapshot, from its bundle (runner-snapshot.cjs). V8 refuses
// a snapshot under other heap flags than those it was built with, so it is built with the default
// heap limit of a task process, and used only for tasks with that limit. The .json beside it says
// which Node built it: only that one can start it.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MEMORY_MB } from '../formats/resolve-pipeline.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const blob = here('./runner.blob');
// An older blob must not outlive a failed build.
rmSync(`${blob}.json`, { force: true });
const built = spawnSync(
  process.execPath,
  [`--max-old-space-size=${DEFAULT_MEMORY_MB}`, '--snapshot-blob', blob, '--build-snapshot', here('./runner-snapshot.cjs')],
  { stdio: 'inherit' },
);
if (built.status !== 0) {
  process.stderr.write('the runner snapshot could not be built: task processes will start from the plain bundle\n');
  process.exit(built.status ?? 1);
}
writeFileSync(`${blob}.json`, `${JSON.stringify({ node: process.version, arch: process.arch, memoryMb: DEFAULT_MEMORY_MB })}\n`);
