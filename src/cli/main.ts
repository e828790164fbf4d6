import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { createLogger } from '../log.js';
import { runManager, DEFAULT_CONCURRENCY } from '../manager/manager.js';
import { workspacePaths } from '../workspace.js';
import { humanDestination } from './human-log.js';
import { readSeedSource, submitSeed } from './submit.js';
import { writeSchemas } from './write-schemas.js';
import { EXIT } from './exit-codes.js';

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
};

const rootOption = () => new Option('--root <dir>', 'workspace folder holding pipeline.json and the pipeline-* folders').default('.');

function managerLogger(json: boolean) {
  if (!json && process.stdout.isTTY) return createLogger(humanDestination(process.stdout, true));
  return createLogger(pino.destination({ dest: 1, sync: true }));
}

export function buildProgram(): Command {
  const program = new Command('pop')
    .description('POP, the Prompt-Orchestration Pipeline: drop a seed in pipeline-pending/, get a finished run in pipeline-complete/.')
    .showHelpAfterError()
    .enablePositionalOptions();

  program
    .command('start', { isDefault: true })
    .description('watch pipeline-pending/ and run every seed through pipeline.json')
    .addOption(rootOption())
    .option('--once', 'process what is pending now, then exit (1 if any run failed)')
    .option('--concurrency <n>', 'runs at once', positiveInt, DEFAULT_CONCURRENCY)
    .option('--json', 'log JSON lines even on a terminal')
    .action(async (options: { root: string; once?: boolean; concurrency: number; json?: boolean }) => {
      const log = managerLogger(options.json === true);
      const result = await runManager({ root: resolve(options.root), once: options.once === true, concurrency: options.concurrency, log });
      if (!result.ok) {
        for (const problem of result.problems) process.stderr.write(`pop: ${problem}\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      if (options.once) {
        const paths = workspacePaths(resolve(options.root));
        process.stderr.write(
          `pop: ${result.completed} run(s) complete, ${result.failed} failed, ${result.rejected} seed(s) rejected` +
            (result.completed ? ` · results in ${paths.complete} (index: ${paths.runsJsonl})` : '') +
            (result.failed ? ` · failed runs stay in ${paths.current}` : '') +
            '\n',
        );
      }
      process.exitCode = result.failed > 0 ? EXIT.runsFailed : EXIT.ok;
    });

  program
    .command('submit')
    .description('drop seed files (or - for standard input) into pipeline-pending/, atomically')
    .argument('<files...>', 'seed JSON files, or - to read one from standard input')
    .addOption(rootOption())
    .action(async (files: string[], options: { root: string }) => {
      const paths = workspacePaths(resolve(options.root));
      await mkdir(paths.pending, { recursive: true });
      for (const file of files) {
        const seed = await readSeedSource(file);
        if (!seed.ok) {
          process.stderr.write(`pop: ${seed.error}\n`);
          process.exitCode = EXIT.usage;
          continue;
        }
        await submitSeed(paths.pending, seed.value);
        process.stdout.write(`${seed.value.name}\n`);
      }
    });

  program
    .command('schemas')
    .description('write the JSON Schema of every file format')
    .argument('[dir]', 'folder to write them to', 'docs/schemas')
    .action(async (dir: string) => {
      for (const path of await writeSchemas(resolve(dir))) process.stdout.write(`${path}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`pop: internal error (this is a bug): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT.internal;
  }
}
