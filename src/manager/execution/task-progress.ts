import type { ItemCounts } from '../../formats/items.js';
import type { RunnerMessage } from '../../formats/ipc.js';
import type { Output } from '../../formats/output.js';
import type { RunStatus, TaskStatus } from '../../formats/tasks-status.js';
import type { EmitEvent } from '../events.js';

/**
 * A fan-out of hundreds of items reports each one; tasks-status.json is rewritten at most this
 * often for them (the task's end is saved at once, as always).
 */
const SAVE_EVERY_MS = 500;
/** Truncation notes kept in a task's status: enough to show what was cut; a task cutting more is not news. */
export const MAX_TRUNCATION_NOTES = 100;

export interface TaskProgress {
  /** Take in a runner message about items or truncation; other messages are ignored. */
  onMessage: (message: RunnerMessage) => void;
  /** Something else about the running task changed (the worker it runs on): saved soon. */
  changed: () => void;
  /** Before the task's end is saved: no progress save runs or is waiting after this resolves. */
  settle: () => Promise<void>;
}

/** Keeps a task's `items` and `truncated` in tasks-status.json current while it runs, at a bounded rate. */
export function trackTaskProgress(options: { save: () => Promise<void>; status: RunStatus; state: TaskStatus; task: string; emit: EmitEvent }): TaskProgress {
  const { status, state } = options;
  let timer: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();
  let lastSaved = 0;
  let settled = false;
  // Failed items add up from the deltas each progress message carries (not copied each time).
  const failedItems: string[] = [];

  const save = () => {
    timer = undefined;
    lastSaved = Date.now();
    // A failed progress save is not worth failing the run for: the task's end is saved anyway.
    saving = saving.then(() => options.save()).catch(() => {});
  };
  const schedule = () => {
    if (settled || timer) return;
    timer = setTimeout(save, Math.max(0, lastSaved + SAVE_EVERY_MS - Date.now()));
  };

  return {
    onMessage: (message) => {
      if (message.type === 'items') {
        const { type: _type, newlyFailed, ...counts } = message;
        if (newlyFailed) failedItems.push(...newlyFailed);
        state.items = { ...counts, ...(failedItems.length ? { failedItems } : {}) };
        options.emit({ event: 'task-items', run: status.id, task: options.task, total: counts.total, complete: counts.complete, failed: counts.failed });
        schedule();
      } else if (message.type === 'truncated') {
        const { type: _type, ...truncation } = message;
        if ((state.truncated?.length ?? 0) >= MAX_TRUNCATION_NOTES) return;
        (state.truncated ??= []).push(truncation);
        schedule();
      }
    },
    changed: () => schedule(),
    settle: async () => {
      settled = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await saving;
    },
  };
}

/** A finished fan-out task's counts as tasks-status.json keeps them (failed items by folder). */
export function itemsOfOutput(output: Output): { items: ItemCounts } | Record<string, never> {
  if (!output.items) return {};
  const { failedItems, ...counts } = output.items;
  return { items: { ...counts, ...(failedItems.length ? { failedItems: failedItems.map((item) => item.item) } : {}) } };
}
