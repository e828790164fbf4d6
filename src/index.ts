/** The package API for task modules: `import { defineTask, z } from 'pop'`. */
export { z } from 'zod';
export { defineTask, needing } from './runner/task-api.js';
export type {
  TaskDefinition,
  SingleTaskDefinition,
  FanOutTaskDefinition,
  ItemPosition,
  FailedItem,
  CallModelOptions,
  TaskContext,
  CritiqueContext,
  ItemTaskContext,
  FinalizeItemsContext,
  Message,
  PromptResult,
  Ingested,
  InferenceResult,
  ValidationIssue,
  QualityResult,
  Register,
  Seed,
  ValueOf,
  DefineTask,
} from './runner/task-api.js';
export type { TaskLogger } from './runner/task-log.js';
export { estimateTokens, truncateToTokens, chunkByTokens } from './runner/tokens.js';
export { extractJson } from './runner/extract-json.js';
