import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { WorkspacePaths } from '../../workspace.js';
import { messageOf } from '../../result.js';
import type { EmitEvent } from '../events.js';
import { inspectSeed, type SeedCheck } from './inspect-seed.js';
import { rejectSeed } from './reject-seed.js';
import type { SeedRejectionReason } from '../../formats/seed-rejection.js';

/** Names starting with '.' are hidden files: never claimed, only rejected once they settle. */
export const isHiddenName = (name: string): boolean => name.startsWith('.');

/** How long an unparseable seed may sit unchanged before it is judged broken rather than half-written. */
export const DEFAULT_SETTLE_MS = 1500;

export interface SeedIntakeOptions {
  paths: WorkspacePaths;
  /** The registry's seedSchema as it is now (it changes when pipeline.json is reloaded). */
  seedSchema: () => z.ZodType | undefined;
  settleMs: number;
  emit: EmitEvent;
  /** Create the run for a seed that is ready; returns the run id. */
  claim: (file: string, seed: Extract<SeedCheck, { kind: 'ready' }>) => Promise<string>;
}

/**
 * Turns pending files into runs, one file at a time and in the order they were offered.
 *
 *   offered ──▶ inspect ──ready──▶ claimed (run created, file removed)
 *                  │  └──bad────▶ rejected (moved aside with .error.json)
 *                  └──not JSON yet──▶ waiting ──changed──▶ inspect
 *                                        └──unchanged for settleMs──▶ inspect, then rejected if still bad
 *
 * No fixed delay is added for good seeds: a file that parses is claimed at once.
 */
export class SeedIntake {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly waiting = new Map<string, NodeJS.Timeout>();
  private readonly settled = new Set<string>();
  private draining = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  claimed = 0;
  rejected = 0;

  constructor(private readonly options: SeedIntakeOptions) {}

  /** A file was added or changed in pipeline-pending/. */
  offer(name: string): void {
    if (this.stopped || this.queued.has(name)) return;
    clearTimeout(this.waiting.get(name));
    this.waiting.delete(name);
    this.settled.delete(name);
    this.queued.add(name);
    this.queue.push(name);
    void this.drain();
  }

  /**
   * Offer files found by a rescan of pending/, except those already queued or waiting to settle
   * (offering those again would restart their settle time).
   */
  rescan(names: string[]): void {
    for (const name of names) if (!this.queued.has(name) && !this.waiting.has(name)) this.offer(name);
  }

  /** Nothing queued or being taken: the moment a rescan can find what the watcher missed. */
  get busy(): boolean {
    return this.draining || this.queue.length > 0;
  }

  /** Stop taking files; files not yet claimed stay in pending for the next start. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.settle();
  }

  /** Resolves when every offered file has been claimed or rejected. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return !this.draining && this.queue.length === 0 && this.waiting.size === 0;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const name = this.queue.shift() as string;
        this.queued.delete(name);
        await this.take(name, this.settled.delete(name)).catch((error) =>
          this.options.emit({ event: 'internal-error', message: `taking ${name}: ${messageOf(error)}` }),
        );
      }
    } finally {
      this.draining = false;
      this.settle();
    }
  }

  private async take(name: string, settled: boolean): Promise<void> {
    const { paths, emit } = this.options;
    const file = join(paths.pending, name);
    if (isHiddenName(name)) return this.takeHidden(file, name, settled);
    const check = await inspectSeed(file, this.options.seedSchema());
    switch (check.kind) {
      case 'gone':
        return;
      case 'ready': {
        // A change seen while it was inspected may have left a settle timer: the file is taken now.
        clearTimeout(this.waiting.get(name));
        this.waiting.delete(name);
        const run = await this.options.claim(file, check);
        this.claimed++;
        emit({ event: 'seed-claimed', seed: name, run });
        return;
      }
      case 'not-yet': {
        const { reason, message, where } = check;
        // A file replaced while read is looked at again, whether or not it had settled before.
        if (settled && reason !== 'changing') return this.reject(file, name, { reason, message, ...(where ? { where } : {}) });
        return this.wait(name, `${message}; waiting for it to be finished`);
      }
      case 'reject':
        return this.reject(file, name, check);
    }
  }

  /**
   * A hidden name (`.x.json`, `..json`) is never taken as a seed: tools write work in progress under
   * such names and rename it when done. One still there, unchanged, after settleMs is rejected, so
   * it is not silently ignored; a symbolic link (an editor's lock file) is left alone.
   */
  private async takeHidden(file: string, name: string, settled: boolean): Promise<void> {
    const stats = await lstat(file).catch(() => undefined);
    if (!stats || stats.isSymbolicLink()) return;
    if (!settled) return this.wait(name, `has a hidden name (it starts with "."); it is rejected if it is still there in ${this.options.settleMs} ms`);
    return this.reject(file, name, {
      reason: 'hidden-name',
      message: 'has a hidden name (it starts with "."), which is never taken as a seed; rename it without the leading dot',
    });
  }

  private wait(name: string, message: string): void {
    this.options.emit({ event: 'seed-waiting', seed: name, message });
    this.waiting.set(
      name,
      setTimeout(() => this.settleFile(name), this.options.settleMs),
    );
  }

  /** The file did not change for settleMs: judge it as it is, in turn with the others. */
  private settleFile(name: string): void {
    this.waiting.delete(name);
    if (this.stopped || this.queued.has(name)) return;
    this.settled.add(name);
    this.queued.add(name);
    this.queue.push(name);
    void this.drain();
  }

  private async reject(file: string, name: string, problem: { reason: SeedRejectionReason; message: string; where?: string }): Promise<void> {
    const rejection = await rejectSeed(this.options.paths, file, {
      reason: problem.reason,
      message: problem.message,
      ...(problem.where ? { where: problem.where } : {}),
    });
    this.rejected++;
    this.options.emit({ event: 'seed-rejected', seed: name, reason: rejection.reason, message: rejection.message, movedTo: rejection.movedTo });
  }

  private settle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
