import type { FindRunError } from '../manager/runs/find-run.js';

/** Exit codes, as documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  /** `start --once`, `resume`, `rerun`: a run failed (`start --once`: or a seed was rejected); `validate`: problems found. */
  runsFailed: 1,
  /** Bad flags, not a workspace, or a workspace that cannot start (pipeline.json, registry). */
  usage: 2,
  /** No run with that id. */
  notFound: 3,
  /** Another process is working on that run. */
  busy: 4,
  /** The id given matches several runs: give more of it. */
  ambiguous: 5,
  /** A bug in POP itself. */
  internal: 70,
} as const;

/** The exit code for a run id that did not name exactly one run. */
export const exitForFindError = (error: FindRunError): number => (error.reason === 'ambiguous' ? EXIT.ambiguous : EXIT.notFound);
