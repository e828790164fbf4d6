import { stat } from 'node:fs/promises';
import { customAlphabet } from 'nanoid';
import type { BatchCounts, PendingRequest, Submission } from '../formats/batch.js';
import type { BatchSettings } from '../formats/pipeline.js';
import { messageOf } from '../result.js';
import { redactText } from '../secrets/known-secrets.js';
import { BatchRejectedError, BatchUnsupportedError, type BatchApi } from './batch-api.js';
import { applyResults, type Outcome } from './apply-results.js';
import { isOpen, listPending, readPending, readSubmissions, removePending, writeSubmission, type BatchPaths } from './batch-store.js';
import { exists } from '../fs/create-new-file.js';
import { join } from 'node:path';

/** What the pool tells the manager (its events, and the live line). */
export type BatchEvent =
  | { event: 'batch-submitted'; key: string; provider: string; model: string; batch: string; requests: number }
  | { event: 'batch-reattached'; key: string; provider: string; batch: string }
  | { event: 'batch-progress'; key: string; provider: string; batch: string; counts: BatchCounts }
  | { event: 'batch-ended'; key: string; provider: string; batch: string; state: 'ended' | 'failed'; counts: BatchCounts; message?: string }
  | { event: 'batch-unsupported'; key: string; provider: string; requests: number; message: string }
  | { event: 'batch-refused'; key: string; provider: string; requests: number; message: string }
  | { event: 'batch-error'; key: string; provider: string; message: string };

export interface BatchPoolOptions {
  paths: BatchPaths;
  /** pipeline-current/: where the runs the answers belong to are. */
  currentDir: string;
  /** The workspace pipeline's `batch` settings, as they are now. */
  settings: () => BatchSettings;
  /** The Batch API of a request's provider. */
  apiFor: (request: PendingRequest) => Promise<BatchApi>;
  emit: (event: BatchEvent) => void;
  /** Runs that got answers: their parked tasks can run again. */
  onAnswered: (runs: Set<string>) => void | Promise<void>;
  /** A submission was made or its counts changed: the waiting tasks' status can say so. */
  onChanged?: (submission: Submission) => Promise<void>;
  /** Called on each side of creating a batch (the crash-safety tests stop the process there). */
  step?: (name: 'before-batch-create' | 'after-batch-create') => void;
}

const newKey = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 12);

/**
 * The manager's side of the Batch API: it gathers the calls tasks parked (from every run, written
 * by any gateway) for `windowMs`, submits one batch per provider and model, polls the open ones
 * every `pollMs`, and stores their results for the parked tasks. Every step leaves a record on
 * disk first, so a manager that dies anywhere picks up where it was without submitting twice.
 */
export class BatchPool {
  private submissions = new Map<string, Submission>();
  private submissionsReadAt = -1;
  private readonly lastPoll = new Map<string, number>();
  private readonly parsed = new Map<string, PendingRequest>();
  /** When a submission's create last failed, by key. */
  private readonly failedCreate = new Map<string, number>();

  constructor(private readonly options: BatchPoolOptions) {}

  /**
   * One round: submit what is due (everything with `flush`), then ask the open batches how they
   * are (all of them with `flush`, else those not asked for `pollMs`) and apply those that ended.
   * Says how many requests still wait, submitted or not.
   */
  async tick(flush = false): Promise<{ waiting: number; answeredRuns: Set<string> }> {
    await this.readSubmissions();
    const settings = this.options.settings();
    const now = Date.now();
    const answeredRuns = new Set<string>();
    const unsubmitted = await this.unsubmitted();
    for (const group of groupByTarget(unsubmitted)) {
      const oldest = Math.min(...group.map((request) => Date.parse(request.queuedAt)));
      if (!flush && group.length < settings.maxRequests && now - oldest < settings.windowMs) continue;
      for (let start = 0; start < group.length; start += settings.maxRequests)
        for (const run of await this.submit(group.slice(start, start + settings.maxRequests))) answeredRuns.add(run);
    }
    for (const key of [...this.submissions.keys()]) {
      // Left `submitting` by a crash or a failed create: looked for by its key before creating it.
      const left = this.submissions.get(key);
      // One whose create failed (a network error, a 5xx) waits a poll before it is tried again.
      const due = flush || now - (this.failedCreate.get(key) ?? 0) >= settings.pollMs;
      if (left?.state === 'submitting' && due) for (const run of await this.create(left, { lookFirst: true })) answeredRuns.add(run);
      const submission = this.submissions.get(key);
      if (submission?.state !== 'open' || !submission.batch) continue;
      if (!flush && now - (this.lastPoll.get(key) ?? 0) < settings.pollMs) continue;
      this.lastPoll.set(key, now);
      for (const run of await this.poll({ ...submission, batch: submission.batch })) answeredRuns.add(run);
    }
    if (answeredRuns.size) await this.options.onAnswered(answeredRuns);
    const open = [...this.submissions.values()].filter(isOpen);
    return { waiting: (await this.unsubmitted()).length + open.reduce((sum, submission) => sum + submission.requests.length, 0), answeredRuns };
  }

  /** Submission records, read again when the folder changed (`pop cancel` writes them too). */
  private async readSubmissions(): Promise<void> {
    const changedAt = (await stat(this.options.paths.dir).catch(() => undefined))?.mtimeMs ?? 0;
    if (changedAt === this.submissionsReadAt) return;
    this.submissionsReadAt = changedAt;
    this.submissions = new Map((await readSubmissions(this.options.paths)).map((submission) => [submission.key, submission]));
  }

  /**
   * Parked calls no submission holds yet. Each file is parsed once: while a batch is open its
   * calls' files stay, and the pool looks at the folder every second.
   */
  private async unsubmitted(): Promise<PendingRequest[]> {
    const taken = new Set<string>();
    for (const submission of this.submissions.values()) if (submission.state !== 'cancelled') for (const request of submission.requests) taken.add(request.id);
    const files = await listPending(this.options.paths);
    const present = new Set(files);
    for (const path of this.parsed.keys()) if (!present.has(path)) this.parsed.delete(path);
    const requests: PendingRequest[] = [];
    for (const path of files) {
      let request = this.parsed.get(path);
      if (!request) {
        request = await readPending(path);
        if (!request) continue;
        this.parsed.set(path, request);
      }
      if (taken.has(request.id)) continue;
      // A run removed meanwhile (pruned, deleted by hand) has nobody to answer: its calls are not submitted.
      if (!(await exists(join(this.options.currentDir, request.owner.run)))) {
        await removePending(this.options.paths, request);
        continue;
      }
      requests.push(request);
    }
    return requests;
  }

  private async save(submission: Submission): Promise<void> {
    this.submissions.set(submission.key, submission);
    await writeSubmission(this.options.paths, submission);
    this.submissionsReadAt = (await stat(this.options.paths.dir).catch(() => undefined))?.mtimeMs ?? this.submissionsReadAt;
  }

  /** The record first (state `submitting`), then the batch: a crash between leaves a record `create` finds again. */
  private async submit(requests: PendingRequest[]): Promise<Set<string>> {
    const first = requests[0];
    if (!first) return new Set();
    const key = `pop-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${newKey()}`;
    const submission: Submission = {
      key,
      provider: first.provider,
      model: first.model,
      state: 'submitting',
      createdAt: new Date().toISOString(),
      requests,
    };
    await this.save(submission);
    return this.create(submission, { lookFirst: false });
  }

  /** Create the submission's batch, unless one made under its key already exists (found by the key, after a crash). */
  /** The runs answered at once (a provider without a Batch API answers every request so). */
  private async create(submission: Submission, how: { lookFirst: boolean }): Promise<Set<string>> {
    const first = submission.requests[0];
    if (!first) return new Set();
    const api = await this.options.apiFor(first);
    try {
      const found =
        how.lookFirst &&
        (await api.find(
          submission.key,
          submission.requests.map((request) => request.id),
          new Date(submission.createdAt),
        ));
      if (found) {
        await this.save({ ...submission, state: 'open', batch: found, submittedAt: submission.submittedAt ?? new Date().toISOString() });
        this.options.emit({ event: 'batch-reattached', key: submission.key, provider: submission.provider, batch: found });
        return new Set();
      }
      this.options.step?.('before-batch-create');
      const batch = await api.create(
        submission.key,
        submission.requests.map((request) => ({
          customId: request.id,
          model: request.model,
          messages: request.messages,
          schema: request.schema,
          schemaName: request.schemaName,
          mock: request.mock,
          call: request.owner.call,
        })),
      );
      this.options.step?.('after-batch-create');
      const open: Submission = { ...submission, state: 'open', batch, submittedAt: new Date().toISOString() };
      await this.save(open);
      this.options.emit({
        event: 'batch-submitted',
        key: submission.key,
        provider: submission.provider,
        model: submission.model,
        batch,
        requests: submission.requests.length,
      });
      await this.options.onChanged?.(open);
      return new Set();
    } catch (error) {
      if (error instanceof BatchUnsupportedError) return this.settleUnsubmitted(submission, 'unsupported', error.message);
      if (error instanceof BatchRejectedError)
        return this.settleUnsubmitted(submission, 'rejected', `${submission.provider} refused the batch: ${error.message}`);
      // Tried again a poll later, after looking for it by its key first.
      this.failedCreate.set(submission.key, Date.now());
      this.options.emit({ event: 'batch-error', key: submission.key, provider: submission.provider, message: redactText(messageOf(error)) });
      return new Set();
    }
  }

  /**
   * A batch that was never made: no Batch API at this provider (every request answered so: real
   * time, unless `required`), or the provider refused it (its calls fail with the provider's words).
   */
  private async settleUnsubmitted(submission: Submission, reason: 'unsupported' | 'rejected', message: string): Promise<Set<string>> {
    const text = redactText(message);
    const outcomes: Outcome[] = submission.requests.map((request) => ({ customId: request.id, ok: false, reason, message: text }));
    const runs = await applyResults(this.options.paths, this.options.currentDir, submission, outcomes);
    await this.save({ ...submission, state: reason === 'unsupported' ? 'unsupported' : 'failed', message: text, endedAt: new Date().toISOString() });
    if (reason === 'unsupported')
      this.options.emit({
        event: 'batch-unsupported',
        key: submission.key,
        provider: submission.provider,
        requests: submission.requests.length,
        message: text,
      });
    else this.options.emit({ event: 'batch-refused', key: submission.key, provider: submission.provider, requests: submission.requests.length, message: text });
    return runs;
  }

  /** Ask an open batch how it is; store its results once it has ended. */
  private async poll(submission: Submission & { batch: string }): Promise<Set<string>> {
    const api = await this.options.apiFor(submission.requests[0]!);
    try {
      const status = await api.status(submission.batch);
      if (status.state === 'open') {
        if (JSON.stringify(status.counts) !== JSON.stringify(submission.counts)) {
          const changed = { ...submission, counts: status.counts };
          await this.save(changed);
          this.options.emit({ event: 'batch-progress', key: submission.key, provider: submission.provider, batch: submission.batch, counts: status.counts });
          await this.options.onChanged?.(changed);
        }
        return new Set();
      }
      const message = status.message === undefined ? undefined : redactText(status.message);
      const outcomes: Iterable<Outcome> | AsyncIterable<Outcome> =
        status.state === 'failed'
          ? submission.requests.map((request) => ({
              customId: request.id,
              ok: false as const,
              reason: 'rejected' as const,
              message: `${submission.provider} failed the batch: ${message ?? 'no reason given'}`,
            }))
          : api.results(
              submission.batch,
              submission.requests.map((request) => request.id),
            );
      const runs = await applyResults(this.options.paths, this.options.currentDir, submission, outcomes);
      await this.save({ ...submission, state: status.state, counts: status.counts, endedAt: new Date().toISOString(), ...(message ? { message } : {}) });
      this.options.emit({
        event: 'batch-ended',
        key: submission.key,
        provider: submission.provider,
        batch: submission.batch,
        state: status.state,
        counts: status.counts,
        ...(message ? { message } : {}),
      });
      return runs;
    } catch (error) {
      this.options.emit({ event: 'batch-error', key: submission.key, provider: submission.provider, message: redactText(messageOf(error)) });
      return new Set();
    }
  }
}

/** One batch per provider (with its settings) and model. */
function groupByTarget(requests: PendingRequest[]): PendingRequest[][] {
  const groups = new Map<string, PendingRequest[]>();
  for (const request of requests.sort((a, b) => a.queuedAt.localeCompare(b.queuedAt))) {
    const key = JSON.stringify([request.provider, request.config, request.model]);
    const group = groups.get(key) ?? [];
    group.push(request);
    groups.set(key, group);
  }
  return [...groups.values()];
}
