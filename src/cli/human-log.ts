import type { DestinationStream } from 'pino';

const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const red = (s: string) => `\x1b[31m${s}\x1b[0m`;
const green = (s: string) => `\x1b[32m${s}\x1b[0m`;
const yellow = (s: string) => `\x1b[33m${s}\x1b[0m`;

type Line = Record<string, unknown> & { event?: string; time?: string };

const seconds = (ms: unknown) => `${(Number(ms) / 1000).toFixed(1)} s`;

/** One event as a short line a person can scan; undefined for events not worth a line. */
export function formatEvent(line: Line, color: boolean): string | undefined {
  const c = color ? { dim, red, green, yellow } : { dim: String, red: String, green: String, yellow: String };
  const time = c.dim(String(line.time ?? '').slice(11, 19));
  const text = (() => {
    switch (line.event) {
      case 'manager-started':
        return `POP watching ${line.root} · pipeline "${line.pipeline}" (${(line.tasks as string[]).join(' → ')}) · concurrency ${line.concurrency}`;
      case 'manager-ready':
        return line.pending === 'watching' ? `ready: drop seeds into pipeline-pending/ (Ctrl-C stops)` : undefined;
      case 'pipeline-reloaded':
        return `pipeline.json changed: new seeds run "${line.pipeline}" (${(line.tasks as string[]).join(' → ')}); running runs keep theirs`;
      case 'pipeline-invalid':
        return c.red(`pipeline.json changed but cannot be used; new seeds keep the previous one:\n  ${(line.problems as string[]).join('\n  ')}`);
      case 'seed-claimed':
        return `seed ${line.seed} → run ${line.run}`;
      case 'seed-waiting':
        return c.yellow(`seed ${line.seed}: ${line.message}`);
      case 'task-waiting':
        // A provider's limits show on the live line; a wait with words of its own (Redis refusing the job) gets a line.
        return typeof line.message === 'string' ? c.yellow(`${line.run} ${line.task}: ${line.message}`) : undefined;
      case 'seed-rejected':
        return c.red(`seed rejected: ${line.message} → ${line.movedTo}`);
      case 'seed-duplicate':
        return c.yellow(`seed ${line.seed} was already claimed by run ${line.run}; its leftover copy is set aside in ${line.movedTo}`);
      case 'run-resumed':
        return `resuming run ${line.run} (${line.state})`;
      case 'task-started':
        return `${line.run} · ${line.task} started (attempt ${line.attempt}, ${line.model})`;
      case 'task-complete':
        return `${line.run} · ${line.task} ${c.green('done')} in ${seconds(line.durationMs)}${Number(line.refinements) ? `, ${line.refinements} refinement(s)` : ''}`;
      case 'task-retrying':
        return c.yellow(`${line.run} · ${line.task} attempt ${line.attempt} ${line.reason}: ${line.message}; trying again`);
      case 'task-failed':
        return c.red(`${line.run} · ${line.task} failed (${line.reason}): ${line.message}`);
      case 'run-complete':
        return c.green(`run ${line.run} complete in ${seconds(line.durationMs)} → ${line.dir}`);
      case 'run-failed':
        return c.red(`run ${line.run} failed at ${line.task}; it stays in ${line.dir}`);
      case 'run-interrupted':
        return c.yellow(`run ${line.run} interrupted at ${line.task}; it continues on the next start`);
      case 'task-parked':
        return `${line.run} · ${line.task} parked: ${line.requests} call(s) wait for ${line.provider}'s Batch API (no process held)`;
      case 'run-waiting':
        return `run ${line.run} waits for the Batch API (${(line.tasks as string[]).join(', ')}); it continues when the answers are in`;
      case 'batch-submitted':
        return `batch ${line.batch} submitted to ${line.provider} (${line.model}): ${line.requests} request(s)`;
      case 'batch-reattached':
        return `batch ${line.batch} at ${line.provider} found again after a restart; nothing submitted twice`;
      case 'batch-ended': {
        const counts = line.counts as { succeeded: number; failed: number; total: number };
        const said = `batch ${line.batch} at ${line.provider} ${line.state}: ${counts.succeeded}/${counts.total} answered${counts.failed ? `, ${counts.failed} failed` : ''}`;
        return line.state === 'failed' ? c.red(`${said}: ${line.message ?? ''}`) : said;
      }
      case 'batch-unsupported':
        return c.yellow(`${line.provider} has no Batch API: ${line.requests} call(s) go in real time (or fail, for batch: "required"): ${line.message}`);
      case 'batch-refused':
        return c.red(`${line.provider} refused a batch of ${line.requests} call(s): ${line.message}`);
      case 'batch-error':
        return c.yellow(`batch ${line.key} at ${line.provider}: ${line.message}; tried again at the next round`);
      case 'manager-stopping':
        return `stopping (${line.signal}); no new task starts; waiting up to ${seconds(line.graceMs)} for ${line.running} running task(s); Ctrl-C again stops them now`;
      case 'manager-forcing':
        return c.yellow(`stopping now (a second ${line.signal}): ${line.running} running task(s) are stopped and their runs continue on the next start`);
      case 'manager-stopped':
        return `stopped: ${line.completed} complete, ${line.failed} failed, ${line.rejected} rejected`;
      case 'run-busy':
        return c.yellow(`run ${line.run} is busy: pid ${line.pid} (${line.command}) is working on it`);
      case 'run-deferred':
        return c.yellow(
          `run ${line.run} cannot start yet (${line.message}); ${line.retryInMs === null ? 'it continues on the next start' : `trying again in ${seconds(line.retryInMs)}`}`,
        );
      case 'runs-file-repaired':
        return c.yellow(`${line.path} ended in a torn line; cut off ${line.bytes} byte(s), kept in ${line.keptIn}`);
      case 'run-requested':
        return `run ${line.run} handed over to continue${line.pipeline === 'current' ? ' with the current pipeline.json' : ''}`;
      case 'lock-taken-over':
        return c.yellow(`took over ${line.path} from pid ${line.pid} on ${line.host}, whose heartbeat stopped at ${line.heartbeatAt}`);
      case 'lock-lost':
        return c.red(`${line.path} was taken over by pid ${line.pid} on ${line.host} (this manager's heartbeat had stopped): stopping`);
      case 'workspace-on-network-fs':
      case 'request-invalid':
      case 'state-unreadable':
      case 'internal-error':
        return c.red(String(line.message));
      default:
        return undefined;
    }
  })();
  return text === undefined ? undefined : `${time} ${text}`;
}

/** A pino destination that prints events for a person instead of JSON lines. */
export function humanDestination(print: (line: string) => void, color: boolean): DestinationStream {
  return {
    write(chunk: string) {
      for (const raw of chunk.split('\n')) {
        if (!raw) continue;
        let line: Line | undefined;
        try {
          line = JSON.parse(raw) as Line;
        } catch {
          print(raw);
          continue;
        }
        const text = formatEvent(line, color);
        if (text) print(text);
      }
    },
  };
}
