import type { TypedProviderConfig } from '../gateway/types.js';
import type { TaskLogger } from '../util/logger.js';

/** What a provider's Batch API is built from: its name and pipeline.json settings, where keys and logs go. */
export interface BatchSetup {
  name: string;
  config: TypedProviderConfig;
  env: NodeJS.ProcessEnv;
  log: TaskLogger;
}

/** A server's "no such route" answers: it has no Batch API. */
export const UNSUPPORTED_STATUSES = new Set([404, 405, 501]);

/** A provider's answers to a batch it will not take as it is: sending it again changes nothing. */
export const REJECTED_STATUSES = new Set([400, 413, 422]);

/** Providers may take a few seconds to list a batch just created; the clocks may differ too. */
export const FIND_SLACK_MS = 60_000;

/** The lines of a JSONL text, parsed; blank lines skipped. */
export function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}
