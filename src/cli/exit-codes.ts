/** Exit codes, as documented in the README. */
export const EXIT = {
  ok: 0,
  /** `start --once`: at least one run failed. */
  runsFailed: 1,
  /** Bad flags, or a workspace that cannot start (pipeline.json, registry). */
  usage: 2,
  /** A bug in POP itself. */
  internal: 70,
} as const;
