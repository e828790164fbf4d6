/**
 * How long a queue job's lock lasts without renewal (30 s; POP_QUEUE_LOCK_MS shortens it, for
 * tests). A task process that hears nothing from its manager or worker for this long stops: by
 * then its job may be another worker's to retry.
 */
export function lockDurationMs(): number {
  const lock = Number(process.env.POP_QUEUE_LOCK_MS);
  return Number.isInteger(lock) && lock >= 200 ? lock : 30_000;
}
