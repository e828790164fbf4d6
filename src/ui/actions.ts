import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { readText } from './data/read-file.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkspacePaths } from '../workspace.js';

/** The CLI entry the buttons run: the same program, the same checks, the same request files. */
const CLI_ENTRY = fileURLToPath(new URL('../../orchestrator/manager.js', import.meta.url));
/** How long the button waits for the CLI to say what it did before answering "started". */
const ANSWER_WITHIN_MS = 10_000;
const CHECK_EVERY_MS = 50;

export type ActionRequest = { action: 'resume'; run: string } | { action: 'rerun'; run: string; from: string };

export interface ActionOutcome {
  ok: boolean;
  message: string;
  /** The run to look at next: the rerun's new id, or the run resumed. */
  run?: string;
  exitCode?: number;
}

/**
 * `pop resume <id>` or `pop rerun <id> --from <task>` as a detached process of its own: with a
 * manager running it hands the run over through pipeline-current/.requests/ and exits; with none it
 * runs the run itself, under the run's lock, and outlives the web view if that is closed.
 * The answer comes as soon as the CLI has said what it did (or has finished).
 */
export async function runAction(paths: WorkspacePaths, request: ActionRequest): Promise<ActionOutcome> {
  const args = request.action === 'resume' ? ['resume', request.run] : ['rerun', request.run, '--from', request.from];
  const logFile = join(tmpdir(), `pop-ui-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [CLI_ENTRY, ...args, '--root', paths.root, '--json'], { cwd: paths.root, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exitCode: number | undefined;
  let answered = false;
  child.on('exit', (code, signal) => {
    exitCode = code ?? (signal ? 128 : 1);
    // Once answered, nobody reads the output any more: it is in the run's own logs too.
    if (answered) void unlink(logFile).catch(() => {});
  });
  child.on('error', () => (exitCode = 70));
  child.unref();

  const deadline = Date.now() + ANSWER_WITHIN_MS;
  let text = '';
  for (;;) {
    text = (await readText(logFile)) ?? '';
    const said = saidWhatItDid(text, request);
    if (exitCode !== undefined || said || Date.now() > deadline) {
      answered = true;
      if (exitCode !== undefined) await unlink(logFile).catch(() => {});
      return outcome(request, text, exitCode, said);
    }
    await new Promise((done) => setTimeout(done, CHECK_EVERY_MS));
  }
}

/** The run id the CLI announced (a rerun's new run), or that a hand-off or a run has started. */
function saidWhatItDid(text: string, request: ActionRequest): { run: string } | undefined {
  const rerun = /new run (\S+)/.exec(text);
  if (request.action === 'rerun') return rerun ? { run: rerun[1]! } : undefined;
  if (/handed run/.test(text) || /"event":"(run-started|run-resumed|task-started)"/.test(text)) return { run: request.run };
  return undefined;
}

function outcome(request: ActionRequest, text: string, exitCode: number | undefined, said: { run: string } | undefined): ActionOutcome {
  const human = text
    .split('\n')
    .filter((line) => line && !line.startsWith('{'))
    .map((line) => line.replace(/^pop: /, ''))
    .join(' · ');
  const run = said?.run ?? request.run;
  const what = request.action === 'resume' ? `resume of run ${request.run}` : `rerun of run ${request.run} from ${request.from}`;
  if (exitCode === undefined) return { ok: true, run, message: human || `${what} started: it runs in a process of its own` };
  return { ok: exitCode === 0, run, exitCode, message: human || `${request.action} exited with code ${exitCode}` };
}
