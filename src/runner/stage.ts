import type { TaskFailure } from '../formats/task-failure.js';
import { AllModelsFailedError, CallParkedError } from './inference.js';
import type { TaskLogger } from './task-log.js';

export type Stage = 'ingestion' | 'pre-processing' | 'items' | 'prompt' | 'inference' | 'parsing' | 'validation' | 'critique' | 'finalization';

/** A stage function threw: carries the stage so the failure says where. */
export class StageError extends Error {
  constructor(
    readonly stage: Stage,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** Runs a stage's body: logs its start and tags whatever it throws with the stage's name. */
export interface StageRunner {
  <T>(name: Stage, body: () => T | Promise<T>): Promise<T>;
  /** The stage started last: an artifact that cannot be written (a BigInt, a cycle) fails it. */
  readonly current: Stage;
}

/** `artifacts`: the folder's writer, whose call count says which call a stage belongs to. */
export function stageRunner(log: TaskLogger, artifacts: { callsSoFar(): number }, onStage?: (stage: Stage, call: number) => void): StageRunner {
  let current: Stage = 'ingestion';
  const run = async <T>(name: Stage, body: () => T | Promise<T>): Promise<T> => {
    current = name;
    // Inference makes the next call; the stages after it work on the last one.
    const call = artifacts.callsSoFar() + (name === 'inference' ? 1 : 0);
    onStage?.(name, call);
    log.info({ event: 'stage-started', stage: name, call }, name);
    try {
      return await body();
    } catch (error) {
      if (error instanceof StageError || error instanceof AllModelsFailedError || error instanceof CallParkedError) throw error;
      throw new StageError(name, error);
    }
  };
  return Object.defineProperty(run, 'current', { get: () => current }) as StageRunner;
}

/** Write an artifact for the stage that made its content: a failure to write is that stage's. */
export async function writeFor(
  stage: StageRunner,
  artifacts: { write(name: string, content: unknown): Promise<string> },
  name: string,
  content: unknown,
): Promise<void> {
  try {
    await artifacts.write(name, content);
  } catch (error) {
    throw new StageError(stage.current, error);
  }
}

/** What was thrown out of the stages, as the failure tasks-status.json records. */
export function failureOf(error: unknown, artifact: string | undefined): TaskFailure {
  const open = artifact ? { artifact } : {};
  if (error instanceof AllModelsFailedError) {
    // A spending limit reached is no provider's fault, and says so.
    const overBudget = error.failures.length > 0 && error.failures.every((f) => f.reason === 'budget-exceeded');
    return {
      reason: overBudget ? 'budget-exceeded' : 'provider-failed',
      stage: 'inference',
      message: `every model failed: ${error.message}`,
      issues: error.failures.map((f) => `${f.provider}:${f.model}: ${f.reason}: ${f.message}`),
      ...open,
    };
  }
  const stageError = error instanceof StageError ? error : new StageError('finalization', error);
  const cause = stageError.cause;
  return {
    reason: 'task-threw',
    stage: stageError.stage,
    message: `${stageError.stage} threw: ${stageError.message}`,
    ...(cause instanceof Error && cause.stack ? { stack: cause.stack } : {}),
    ...open,
  };
}
