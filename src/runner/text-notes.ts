import type { Truncation } from '../formats/items.js';
import type { TaskLogger } from './task-log.js';
import { listenToTextNotes } from './tokens.js';

/**
 * While a task runs, what truncateToTokens cut and chunkByTokens split goes to task.log, and each
 * cut is kept (for output.json) and reported (for tasks-status.json): long inputs are never cut
 * without a word.
 */
export function recordTextNotes(
  log: TaskLogger,
  stage: () => string,
  onTruncated: ((truncation: Truncation) => void) | undefined,
): { truncated: Truncation[]; stop: () => void } {
  const truncated: Truncation[] = [];
  listenToTextNotes((note) => {
    const { event, ...fields } = note;
    const message =
      note.event === 'text-truncated'
        ? `text cut from about ${note.tokens} to ${note.keptTokens} tokens`
        : `text of about ${note.tokens} tokens split into ${note.chunks} chunks`;
    log.info({ event, stage: stage(), ...fields }, message);
    if (note.event !== 'text-truncated') return;
    const truncation = { stage: stage(), tokens: note.tokens, keptTokens: note.keptTokens };
    truncated.push(truncation);
    onTruncated?.(truncation);
  });
  return { truncated, stop: () => listenToTextNotes(undefined) };
}
