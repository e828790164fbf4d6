import { mkdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { describeZodError } from '../../formats/describe-error.js';
import { loadRegistry } from '../../registry/load-registry.js';
import type { WorkspacePaths } from '../../workspace.js';
import { EXIT } from '../exit-codes.js';
import { readSeedSource, submitSeed } from '../submit.js';

/**
 * `submit`: check each seed as the manager will (a JSON object that fits the registry's
 * seedSchema) and drop it into pipeline-pending/ atomically. A seed that fails is not dropped, so
 * the mistake shows here rather than later in pipeline-pending/rejected/.
 */
export async function submitCommand(paths: WorkspacePaths, files: string[], options: { name?: string }): Promise<number> {
  if (options.name !== undefined && (files.length !== 1 || !/^[\w][\w.-]*$/.test(options.name))) {
    process.stderr.write(
      files.length !== 1
        ? 'pop: --name names one seed; give one file (or -)\n'
        : `pop: --name "${options.name}" must be a plain file name (letters, digits, . _ -)\n`,
    );
    return EXIT.usage;
  }
  const registry = await loadRegistry(paths.registryFile);
  if (!registry.ok) process.stderr.write(`pop: warning: seeds not checked against a seedSchema, the task registry did not load: ${registry.error.message}\n`);
  const seedSchema = registry.ok ? registry.value.seedSchema : undefined;

  await mkdir(paths.pending, { recursive: true });
  let exitCode: number = EXIT.ok;
  for (const file of files) {
    const seed = await readSeedSource(file, options.name);
    if (!seed.ok) {
      process.stderr.write(`pop: ${seed.error}\n`);
      exitCode = EXIT.usage;
      continue;
    }
    const checked = seedSchema?.safeParse(seed.value.data);
    if (checked && !checked.success) {
      process.stderr.write(
        `pop: ${file === '-' ? 'standard input' : file}: does not match the seedSchema of ${paths.registryFile}: ${describeZodError(checked.error)}\n`,
      );
      exitCode = EXIT.usage;
      continue;
    }
    process.stdout.write(`${basename(await submitSeed(paths.pending, seed.value))}\n`);
  }
  return exitCode;
}
