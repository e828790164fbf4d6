import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { messageOf } from '../result.js';

/** The task attempt a piece of manager work belongs to, and how to fail it. */
export interface FaultOwner {
  run: string;
  task: string;
  fail: (error: unknown) => void;
}

export interface Fault {
  message: string;
  stack?: string;
  run?: string;
  task?: string;
}

const owners = new AsyncLocalStorage<FaultOwner>();

/** Run `body` as the work of one task attempt: a bug of the manager's met there fails that attempt. */
export function withFaultOwner<T>(owner: FaultOwner, body: () => T): T {
  return owners.run(owner, body);
}

/** Work that belongs to no run (a standby started while some task ran). */
export function outsideAnyRun<T>(body: () => T): T {
  return owners.exit(body);
}

/** Events run in the context their emitter was made in: bind a listener to the caller's owner. */
export const bindToOwner = <A extends unknown[]>(listener: (...args: A) => void): ((...args: A) => void) => AsyncResource.bind(listener);

/**
 * The manager's last resort: an exception or rejection nobody caught is a bug in the manager, not
 * a reason to stop every run. It is reported, the task attempt it belongs to (when that can be
 * told) fails with `internal-error`, and the daemon carries on. Returns the uninstaller.
 */
export function installLastResort(report: (fault: Fault) => void): () => void {
  const handler = (error: unknown) => {
    const owner = owners.getStore();
    try {
      report({
        message: messageOf(error),
        ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
        ...(owner ? { run: owner.run, task: owner.task } : {}),
      });
      owner?.fail(error);
    } catch {
      // Reporting itself failed (a closed log): nothing more can be done about it here.
    }
  };
  process.on('uncaughtException', handler);
  process.on('unhandledRejection', handler);
  return () => {
    process.off('uncaughtException', handler);
    process.off('unhandledRejection', handler);
  };
}
