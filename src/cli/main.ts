// Each command's modules are imported when it runs: a command loads only what it uses (no queue
// client, model SDK, logger or web server for `pop status`), so it starts about as fast as Node itself.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import type { ManagerEvent } from '../manager/events.js';
import { DEFAULT_CONCURRENCY } from '../manager/defaults.js';
import { workspacePaths, type WorkspacePaths } from '../workspace.js';
import { loadWorkspaceEnv } from './load-env.js';
import { parseAge } from '../manager/runs/parse-age.js';
import { EXIT } from './exit-codes.js';
import { redactStandardStreams } from '../secrets/redact-streams.js';
import { COST_GROUPS, type CostGroup } from './commands/cost-groups.js';
import { unknownCommand } from './unknown-command.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
};
const wholeNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number (0 for all)');
  return n;
};

const portNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number (0 picks a free one)');
  return n;
};

const ageOption = (value: string) => {
  const ms = parseAge(value);
  if (ms === undefined) throw new InvalidArgumentError('must be a number and a unit: 45s, 30m, 12h, 7d or 2w');
  return ms;
};

const rootOption = () => new Option('--root <dir>', 'workspace folder holding pipeline.json and the pipeline-* folders').default('.');

/** Commands that only make sense in a workspace; start and validate explain a missing pipeline.json themselves. */
const NEEDS_WORKSPACE = new Set(['worker', 'submit', 'status', 'runs', 'cost', 'resume', 'rerun', 'ui', 'compare', 'prune', 'stats', 'clear']);

/** Refuse before doing anything (such as creating pipeline-pending/) in a folder that is not a workspace. */
function refuseOutsideWorkspace(command: Command): void {
  if (!NEEDS_WORKSPACE.has(command.name())) return;
  const root = resolve(String(command.opts().root ?? '.'));
  if (existsSync(workspacePaths(root).pipelineFile)) return;
  const message = `${root} is not a POP workspace: it has no pipeline.json (pop init creates one; --root names the workspace folder)`;
  process.stderr.write(`pop: ${message}\n`);
  throw new CommanderError(EXIT.usage, 'pop.not-a-workspace', message);
}

function workspace(root: string): WorkspacePaths {
  const paths = workspacePaths(resolve(root));
  loadWorkspaceEnv(paths);
  return paths;
}

/** Human lines with a live block on a terminal; pino JSON lines otherwise (or with --json). */
async function progressOutput(json: boolean): Promise<{ log: Logger; onEvent?: (event: ManagerEvent) => void; stop: () => void }> {
  const [{ default: pino }, { createLogger }, { humanDestination }, { LiveProgress }] = await Promise.all([
    import('pino'),
    import('../log.js'),
    import('./human-log.js'),
    import('./live-progress.js'),
  ]);
  if (!json && process.stdout.isTTY) {
    const live = new LiveProgress(process.stdout);
    return { log: createLogger(humanDestination((line) => live.print(line), true)), onEvent: (event) => live.onEvent(event), stop: () => live.stop() };
  }
  return { log: createLogger(pino.destination({ dest: 1, sync: true })), stop: () => {} };
}

export function buildProgram(): Command {
  const program = new Command('pop')
    .description('POP, the Prompt-Orchestration Pipeline: drop a seed in pipeline-pending/, get a finished run in pipeline-complete/.')
    .version(version, '-V, --version', 'print the version of POP')
    .showHelpAfterError()
    .enablePositionalOptions()
    .exitOverride()
    .hook('preAction', (_program, command) => refuseOutsideWorkspace(command));

  addDaemonCommands(program);
  addSeedAndHistoryCommands(program);
  addRunActionCommands(program);
  addInspectionCommands(program);
  addHousekeepingCommands(program);
  return program;
}

/** `start` and `worker`: the processes that run tasks. Registered in the order `--help` lists them. */
function addDaemonCommands(program: Command): void {
  program
    .command('start', { isDefault: true })
    .description('watch pipeline-pending/ and run every seed through pipeline.json')
    .addOption(rootOption())
    .option('--once', 'process what is pending now, then exit (1 if any run failed or seed was rejected)')
    .option('--concurrency <n>', 'task processes at once, across all runs', positiveInt, DEFAULT_CONCURRENCY)
    .option('--json', 'log JSON lines even on a terminal')
    .option('--no-cache', 'neither use nor fill the call cache this time, whatever the tasks say')
    .option('--queue <redis-url>', 'hand task attempts to `pop worker`s through Redis (redis://host:port[/db])')
    .action(async (options: { root: string; once?: boolean; concurrency: number; json?: boolean; cache: boolean; queue?: string }) => {
      const paths = workspace(options.root);
      // BullMQ and ioredis are loaded only by the commands that use the queue: the others start faster.
      const queue =
        options.queue === undefined
          ? undefined
          : await (await import('../queue/use-queue.js')).useQueue(options.queue, paths.root, {
              command: options.once ? 'start --once' : 'start',
              once: options.once === true,
            });
      if (queue && !queue.ok) {
        process.stderr.write(`pop: ${queue.error}\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      const output = await progressOutput(options.json === true);
      const { runManager } = await import('../manager/manager.js');
      const result = await runManager({
        root: paths.root,
        once: options.once === true,
        cacheOff: !options.cache,
        queue: queue?.value.runAttempt,
        concurrency: options.concurrency,
        log: output.log,
        ...(output.onEvent ? { onEvent: output.onEvent } : {}),
      });
      await queue?.value.release();
      output.stop();
      if (!result.ok) {
        for (const problem of result.problems) process.stderr.write(`pop: ${problem}\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      if (options.once) {
        process.stderr.write(
          `pop: ${result.completed} run(s) complete, ${result.failed} failed, ${result.rejected} seed(s) rejected` +
            (result.completed ? ` · results in ${paths.complete} (index: ${paths.runsJsonl})` : '') +
            (result.failed ? ` · failed runs stay in ${paths.current}` : '') +
            '\n',
        );
        const waiting = result.batchWaiting;
        if (waiting)
          process.stderr.write(
            `pop: ${waiting.requests} call(s) wait for the Batch API, of run(s) ${waiting.runs.join(', ')}; start (or start --once) again later continues them (pop batches shows them)\n`,
          );
      }
      process.exitCode = options.once && (result.failed > 0 || result.rejected > 0) ? EXIT.runsFailed : EXIT.ok;
    });

  program
    .command('worker')
    .description('run task attempts from the queue of a manager started with --queue')
    .requiredOption('--queue <redis-url>', 'the Redis the manager uses (redis://host:port[/db])')
    .addOption(rootOption())
    .option('--concurrency <n>', 'task processes at once', positiveInt, DEFAULT_CONCURRENCY)
    .action(async (options: { root: string; queue: string; concurrency: number }) => {
      const paths = workspace(options.root);
      const { workerCommand } = await import('./commands/worker.js');
      process.exitCode = await workerCommand({ url: options.queue, root: paths.root, concurrency: options.concurrency });
    });
}

/** `submit`, and what happened: `status`, `runs`, `cost`. Registered in the order `--help` lists them. */
function addSeedAndHistoryCommands(program: Command): void {
  program
    .command('submit')
    .description("check seeds against the registry's seedSchema and drop them into pipeline-pending/, atomically")
    .argument('<files...>', 'seed JSON files, or - to read one from standard input')
    .option('--name <name>', 'the name to give the seed in pipeline-pending/ (and its run id), e.g. for one from standard input')
    .addOption(rootOption())
    .action(async (files: string[], options: { root: string; name?: string }) => {
      const { submitCommand } = await import('./commands/submit.js');
      process.exitCode = await submitCommand(workspace(options.root), files, options.name === undefined ? {} : { name: options.name });
    });

  program
    .command('status')
    .description('current runs and the last completed ones; with an id, that run task by task')
    .argument('[id]', 'run id (or a unique part of it)')
    .addOption(rootOption())
    .option('--json', 'machine-readable output')
    .action(async (id: string | undefined, options: { root: string; json?: boolean }) => {
      const { statusCommand } = await import('./commands/status.js');
      process.exitCode = await statusCommand(workspace(options.root), id, options.json === true);
    });

  program
    .command('runs')
    .description('completed runs from runs.jsonl, newest first')
    .addOption(rootOption())
    .option('--pipeline <name>', 'only runs of this pipeline')
    .option('--since <date>', 'completed on or after this date (2026-11-24 or an ISO time)')
    .option('--until <date>', 'completed before the end of this date')
    .option('--limit <n>', 'at most this many (0 for all)', wholeNumber, 20)
    .option('--json', 'machine-readable output')
    .action(async (options: { root: string; pipeline?: string; since?: string; until?: string; limit: number; json?: boolean }) => {
      const { runsCommand } = await import('./commands/runs.js');
      process.exitCode = await runsCommand(workspace(options.root), {
        ...(options.pipeline ? { pipeline: options.pipeline } : {}),
        ...(options.since ? { since: options.since } : {}),
        ...(options.until ? { until: options.until } : {}),
        limit: options.limit,
        json: options.json === true,
      });
    });
}

/** `resume` and `rerun`: a run again, from where it stopped or from the start. Registered in the order `--help` lists them. */
function addRunActionCommands(program: Command): void {
  program
    .command('cost')
    .description("spend from the runs' ledgers (calls.jsonl): calls, cached calls, tokens and cost, grouped")
    .addOption(rootOption())
    .option('--since <age|date>', 'only calls made in the last 7d, 12h, ... or since a date (2026-11-24)')
    .addOption(new Option('--by <group>', 'one row per model, task, pipeline or day').choices([...COST_GROUPS]).default('model'))
    .option('--json', 'machine-readable output')
    .action(async (options: { root: string; since?: string; by: CostGroup; json?: boolean }) => {
      const { costCommand } = await import('./commands/cost.js');
      process.exitCode = await costCommand(workspace(options.root), { since: options.since, by: options.by, json: options.json === true });
    });

  program
    .command('resume')
    .description('continue a failed or interrupted run from its first task not complete')
    .argument('<id>', 'run id (or a unique part of it)')
    .addOption(rootOption())
    .option('--pipeline', "take the workspace's current pipeline.json instead of the run's snapshot")
    .option('--wait', 'when a manager is running, wait for the run to finish')
    .option('--json', 'log JSON lines even on a terminal')
    .option('--queue <redis-url>', 'the Redis of a `start --queue` manager: ask its lease (on any host) before acting')
    .action(async (id: string, options: { root: string; pipeline?: boolean; wait?: boolean; json?: boolean; queue?: string }) => {
      const output = await progressOutput(options.json === true);
      const { resumeCommand } = await import('./commands/resume.js');
      process.exitCode = await resumeCommand(workspace(options.root), id, {
        pipeline: options.pipeline === true,
        wait: options.wait === true,
        queue: options.queue,
        log: output.log,
        ...(output.onEvent ? { onEvent: output.onEvent } : {}),
      });
      output.stop();
    });

  program
    .command('rerun')
    .description('copy a run to a new id and run <task> and those after again with the current task code')
    .argument('<id>', 'run id (or a unique part of it)')
    .requiredOption('--from <task>', 'the first task to run again')
    .addOption(rootOption())
    .option('--pipeline', "take the workspace's current pipeline.json instead of the run's snapshot")
    .option('--wait', 'when a manager is running, wait for the run to finish')
    .option('--json', 'log JSON lines even on a terminal')
    .option('--queue <redis-url>', 'the Redis of a `start --queue` manager: ask its lease (on any host) before acting')
    .action(async (id: string, options: { root: string; from: string; pipeline?: boolean; wait?: boolean; json?: boolean; queue?: string }) => {
      const output = await progressOutput(options.json === true);
      const { rerunCommand } = await import('./commands/resume.js');
      process.exitCode = await rerunCommand(workspace(options.root), id, options.from, {
        pipeline: options.pipeline === true,
        wait: options.wait === true,
        queue: options.queue,
        log: output.log,
        ...(output.onEvent ? { onEvent: output.onEvent } : {}),
      });
      output.stop();
    });
}

/** `validate`, `cache`, `ui`, `compare`: looking at a workspace and its runs. Registered in the order `--help` lists them. */
function addInspectionCommands(program: Command): void {
  program
    .command('validate')
    .description('check pipeline.json, the task registry, every task module, models and keys')
    .addOption(rootOption())
    .option('--json', 'machine-readable output')
    .action(async (options: { root: string; json?: boolean }) => {
      const { validateCommand } = await import('./commands/validate.js');
      process.exitCode = await validateCommand(workspace(options.root), options.json === true);
    });

  program
    .command('batches')
    .description('calls waiting for a Batch API: open submissions with their age and counts, and calls not submitted yet')
    .addOption(rootOption())
    .option('--all', 'ended, failed and cancelled submissions too')
    .option('--json', 'machine-readable output')
    .action(async (options: { root: string; all?: boolean; json?: boolean }) => {
      const { batchesCommand } = await import('./commands/batches.js');
      process.exitCode = await batchesCommand(workspace(options.root), { all: options.all === true, json: options.json === true });
    });

  program
    .command('cancel')
    .description("cancel a run's calls waiting for the Batch API (and its batches that hold nothing else); its waiting tasks fail")
    .argument('<id>', 'run id (or a unique part of it)')
    .addOption(rootOption())
    .action(async (id: string, options: { root: string }) => {
      const { cancelCommand } = await import('./commands/batches.js');
      process.exitCode = await cancelCommand(workspace(options.root), id);
    });

  const cache = program.command('cache').description('the call cache of tasks with cache: true (.pop/cache/)');
  cache
    .command('stats')
    .description('how many replies are stored, their size and age')
    .addOption(rootOption())
    .option('--json', 'machine-readable output')
    .action(async (options: { root: string; json?: boolean }) => {
      const { cacheStatsCommand } = await import('./commands/cache.js');
      process.exitCode = await cacheStatsCommand(workspacePaths(resolve(options.root)), options.json === true);
    });
  cache
    .command('clear')
    .description('remove stored replies, all of them or the older ones')
    .addOption(rootOption())
    .option('--older-than <age>', 'only those stored longer ago than this: 30m, 12h, 7d, 2w (default: all of them)')
    .action(async (options: { root: string; olderThan?: string }) => {
      const { cacheClearCommand } = await import('./commands/cache.js');
      process.exitCode = await cacheClearCommand(workspacePaths(resolve(options.root)), options.olderThan);
    });

  program
    .command('ui')
    .description('serve a local web view of the runs (127.0.0.1; the printed address carries a token)')
    .addOption(rootOption())
    .option('--port <n>', 'port to serve on (0 picks a free one)', portNumber, 4873)
    .option('--host <host>', 'address to serve on; anything but 127.0.0.1 is reachable from other machines', '127.0.0.1')
    .action(async (options: { root: string; port: number; host: string }) => {
      const { uiCommand } = await import('./commands/ui.js');
      process.exitCode = await uiCommand(workspace(options.root), { host: options.host, port: options.port });
    });

  program
    .command('compare')
    .description('compare two runs (or a run and its rerun) task by task: outputs, prompts, tokens, cost, time')
    .argument('<a>', 'run id (or a unique part of it)')
    .argument('<b>', 'run id (or a unique part of it)')
    .addOption(rootOption())
    .option('--json', 'machine-readable output')
    .action(async (a: string, b: string, options: { root: string; json?: boolean }) => {
      const { compareCommand } = await import('./commands/compare.js');
      process.exitCode = await compareCommand(workspacePaths(resolve(options.root)), a, b, options.json === true);
    });
}

/** `prune`, `init`, `schemas`: making, tidying and describing a workspace. Registered in the order `--help` lists them. */
function addHousekeepingCommands(program: Command): void {
  program
    .command('prune')
    .description('remove old failed runs (and complete ones with --complete); asks first unless --yes')
    .option('--failed', 'failed runs in pipeline-current/')
    .option('--complete', 'complete runs in pipeline-complete/ (their runs.jsonl lines stay)')
    .addOption(
      new Option('--older-than <age>', 'only runs whose state last changed longer ago than this: 45s, 30m, 12h, 7d, 2w')
        .argParser(ageOption)
        .default(0, 'any age'),
    )
    .option('--yes', 'remove without asking')
    .addOption(rootOption())
    .action(async (options: { root: string; failed?: boolean; complete?: boolean; olderThan: number; yes?: boolean }) => {
      const { pruneCommand } = await import('./commands/prune.js');
      process.exitCode = await pruneCommand(workspacePaths(resolve(options.root)), {
        failed: options.failed === true,
        complete: options.complete === true,
        olderThanMs: options.olderThan,
        yes: options.yes === true,
      });
    });

  program
    .command('init')
    .description('create a workspace: pipeline.json, pipeline-tasks/, example seeds, the pipeline folders')
    .argument('[dir]', 'the folder to create it in (default: --root, else the current folder)')
    .addOption(new Option('--example', 'the example pipeline: a document turned into a brief in four tasks (default)').conflicts('minimal'))
    .option('--minimal', 'one task to start from')
    .addOption(rootOption())
    .action(async (dir: string | undefined, options: { root: string; minimal?: boolean }) => {
      const { initCommand } = await import('./commands/init.js');
      process.exitCode = await initCommand(resolve(dir ?? options.root), options.minimal ? 'minimal' : 'example');
    });

  program
    .command('schemas')
    .description('write the JSON Schema of every file format')
    .argument('[dir]', 'folder to write them to, inside the workspace unless absolute', 'docs/schemas')
    .addOption(rootOption())
    .action(async (dir: string, options: { root: string }) => {
      const { writeSchemas } = await import('./write-schemas.js');
      for (const path of await writeSchemas(resolve(options.root, dir))) process.stdout.write(`${path}\n`);
    });
}

export async function main(argv: string[]): Promise<void> {
  // Whatever a command prints (status, errors, a run's messages) goes out without an API key.
  redactStandardStreams();
  try {
    const program = buildProgram();
    // `start` is the default command, so commander would read a mistyped command as its argument.
    const unknown = unknownCommand(program, argv.slice(2));
    if (unknown) {
      process.stderr.write(`pop: ${unknown}\n(pop --help lists the commands)\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    process.stderr.write(`pop: internal error (this is a bug): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT.internal;
  }
}
