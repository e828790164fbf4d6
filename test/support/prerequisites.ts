/**
 * Tests that need something of the system (Chromium, redis-server, the right to mount): without it
 * they are skipped locally, saying what to install, and fail under CI=true, where a skipped test
 * would hide that the suite did not run.
 */
import { describe, it, type TestContext } from 'vitest';

export const UNDER_CI = process.env.CI === 'true' || process.env.CI === '1';

/** Why a test cannot run here, with the command that fixes it. */
export const missingMessage = (what: string, install: string) => `${what} is missing: ${install}`;

/**
 * `describe` when the prerequisite is there; else, under CI, one failing test that names the
 * install command, and locally a skipped suite whose name says why.
 */
export function describeWith(prerequisite: { present: boolean; what: string; install: string }, name: string, body: () => void): void {
  if (prerequisite.present) return void describe(name, body);
  const message = missingMessage(prerequisite.what, prerequisite.install);
  if (UNDER_CI) {
    return void describe(name, () => {
      it(`needs ${prerequisite.what}`, () => {
        throw new Error(`${message} (CI=true: a missing prerequisite fails the run)`);
      });
    });
  }
  process.stderr.write(`skipped "${name}": ${message}\n`);
  describe.skip(`${name} (skipped: ${message})`, body);
}

/** Inside a test that found out at run time that it cannot run: skip it locally, fail under CI. */
export function cannotRunHere(context: TestContext, reason: string, install: string): never {
  const message = `${reason}: ${install}`;
  if (UNDER_CI) throw new Error(`${message} (CI=true: a missing prerequisite fails the run)`);
  process.stderr.write(`skipped "${context.task.name}": ${message}\n`);
  return context.skip(message) as never;
}
