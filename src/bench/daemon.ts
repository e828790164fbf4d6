// A POP daemon under measurement: started as a real process, its JSON log lines read as events.
import { execa } from 'execa';

export type LogEvent = Record<string, unknown> & { event?: string };
interface Waiter {
  match: (event: LogEvent) => boolean;
  resolve: (value: { event: LogEvent; at: number }) => void;
}
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { REPO } from './workspace.js';

export function startDaemon(root: string, args: string[] = []) {
  const started = performance.now();
  const child = execa(process.execPath, [join(REPO, 'orchestrator', 'manager.js'), 'start', '--json', '--root', root, ...args], {
    reject: false,
    buffer: false,
    stderr: 'inherit',
  });
  const waiters: Waiter[] = [];
  const counts = new Map<string, number>();
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    let event: LogEvent;
    try {
      event = JSON.parse(line) as LogEvent;
    } catch {
      return;
    }
    const at = performance.now();
    if (typeof event.event === 'string') counts.set(event.event, (counts.get(event.event) ?? 0) + 1);
    for (const waiter of [...waiters]) {
      if (waiter.match(event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve({ event, at });
      }
    }
  });
  return {
    child,
    started,
    /** Resolves with the first event (after now) matching, and when it was read. */
    next(match: (event: LogEvent) => boolean, timeoutMs = 120_000): Promise<{ event: LogEvent; at: number }> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('bench: timed out waiting for the daemon')), timeoutMs);
        waiters.push({ match, resolve: (value) => (clearTimeout(timer), resolve(value)) });
      });
    },
    /** How many events of this kind the daemon has logged so far. */
    count(name: string): number {
      return counts.get(name) ?? 0;
    },
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}
