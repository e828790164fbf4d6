// The task registry: every task pipeline.json may name, and the shape seeds must have.
import { z } from 'pop';
import extractFacts from './extract-facts.js';
import openQuestions from './open-questions.js';
import outline from './outline.js';
import writeBrief from './write-brief.js';

export const seedSchema = z.object({
  title: z.string().optional(),
  document: z.string().min(1, 'the document to brief is required'),
  audience: z.string().optional(),
});

export default {
  'extract-facts': extractFacts,
  outline,
  'open-questions': openQuestions,
  'write-brief': writeBrief,
};
