import { checkReachable } from '../../queue/connection.js';
import { runWorker } from '../../queue/worker.js';
import { EXIT } from '../exit-codes.js';

/** `pop worker`: exit 2 when Redis cannot be reached at start; otherwise runs until signalled. */
export async function workerCommand(options: { url: string; root: string; concurrency: number }): Promise<number> {
  const reachable = await checkReachable(options.url);
  if (!reachable.ok) {
    process.stderr.write(`pop: ${reachable.error}\n`);
    return EXIT.usage;
  }
  await runWorker({ ...options, log: (message) => process.stderr.write(`pop worker: ${message}\n`) });
  return EXIT.ok;
}
