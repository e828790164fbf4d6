// Workspaces and measures for API-bound work: the 3-task pipeline calling a local
// OpenAI-compatible server through the openai provider.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon } from './daemon.js';
import { dropSeed, makeWorkspace } from './workspace.js';

/** The variable the bench's provider reads its key from (the local server takes any key). */
export const BENCH_KEY_ENV = 'POP_BENCH_API_KEY';

export interface ApiWorkspaceOptions {
  baseURL: string;
  limits?: { concurrency?: number; requestsPerMinute?: number; tokensPerMinute?: number };
  cache?: boolean;
}

/**
 * A task as users write them: it imports `pop`, defines its output with zod, builds a prompt and
 * checks the reply. The bench's server answers every call with JSON that fits it.
 */
const API_TASK = `import { defineTask, z } from 'pop';

export default defineTask({
  description: 'Say something about a number.',
  output: z.object({
    summary: z.string().min(3).max(400),
    points: z.array(z.object({ text: z.string().min(1), weight: z.number().min(0).max(1) })).max(5),
    tone: z.enum(['plain', 'warm', 'dry']),
  }),
  prompt: ({ seed }) => ({
    system: 'Answer in JSON with a summary, up to five weighted points and a tone.',
    user: 'Say something about ' + String(seed.n) + '. It is a number.',
  }),
  validate: ({ points }) => (points.some((point) => point.text.trim() === '') ? [{ path: 'points', message: 'a point is empty' }] : []),
});
`;

/** The bench's 3-task workspace, its tasks (importing `pop` and zod) calling `api:bench-model` at `baseURL`. */
export async function makeApiWorkspace(options: ApiWorkspaceOptions): Promise<string> {
  const root = await makeWorkspace({ modules: { one: API_TASK, two: API_TASK, three: API_TASK } });
  const pipeline = {
    name: 'bench-api',
    tasks: ['one', 'two', 'three'],
    providers: {
      api: { type: 'openai', baseURL: options.baseURL, apiKeyEnv: BENCH_KEY_ENV, maxRetries: 2, ...(options.limits ? { limits: options.limits } : {}) },
    },
    defaults: { model: 'api:bench-model', ...(options.cache ? { cache: true } : {}) },
  };
  await writeFile(join(root, 'pipeline.json'), JSON.stringify(pipeline));
  return root;
}

/** CPU time (user + system, ms) of this process's children that have ended and been waited for. */
export async function childrenCpuMs(pid: number | 'self' = 'self'): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): cutime and cstime are the 16th and 17th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

/** CPU time (user + system, ms) a process has used itself, not counting its children. */
export async function ownCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

export interface DaemonRun {
  wallMs: number;
  /** CPU of the task processes that ended (every task's, and standbys that were handed one). */
  childCpuMs: number;
  /** CPU of the manager process itself. */
  managerCpuMs: number;
  tasks: number;
  peakTreeRssMb: number;
  /** The most processes the manager's tree held at once, the manager included. */
  peakProcesses: number;
}

/**
 * Run `seeds` seeds through a daemon at `concurrency` and say how long it took, how much CPU its
 * task processes and the manager itself used, and the most memory and processes its tree held.
 */
export async function runDaemon(root: string, seeds: number, concurrency: number, args: string[] = []): Promise<DaemonRun> {
  const daemon = startDaemon(root, ['--concurrency', String(concurrency), ...args]);
  await daemon.next((event) => event.event === 'manager-ready');
  const pid = daemon.child.pid as number;
  let peakTreeRssMb = 0;
  let peakProcesses = 0;
  const sampler = setInterval(() => {
    void processTree(pid).then((tree) => {
      peakTreeRssMb = Math.max(peakTreeRssMb, tree.rssMb);
      peakProcesses = Math.max(peakProcesses, tree.processes);
    });
  }, 200);
  const before = await childrenCpuMs(pid);
  const managerBefore = await ownCpuMs(pid);
  const t0 = performance.now();
  for (let i = 0; i < seeds; i++) await dropSeed(root, `seed-${String(i).padStart(5, '0')}.json`, i);
  while (daemon.count('run-complete') + daemon.count('run-failed') < seeds) await new Promise((done) => setTimeout(done, 20));
  const wallMs = performance.now() - t0;
  clearInterval(sampler);
  const childCpuMs = (await childrenCpuMs(pid)) - before;
  const managerCpuMs = (await ownCpuMs(pid)) - managerBefore;
  const tasks = daemon.count('task-complete') + daemon.count('task-failed');
  await daemon.stop();
  return { wallMs, childCpuMs, managerCpuMs, tasks, peakTreeRssMb, peakProcesses };
}

/** Resident memory (MB) and number of the processes of a tree, its root included. */
export async function processTree(root: number): Promise<{ rssMb: number; processes: number }> {
  const { readdir } = await import('node:fs/promises');
  const parents = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0);
    parents.set(Number(name), ppid);
    rss.set(Number(name), Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0));
  }
  let total = 0;
  let processes = 0;
  for (const pid of parents.keys()) {
    let at: number | undefined = pid;
    while (at && at !== root) at = parents.get(at);
    if (at === root) {
      total += rss.get(pid) ?? 0;
      processes++;
    }
  }
  return { rssMb: total / 1024, processes };
}
