// The task registry: every task pipeline.json may name, and the shape seeds must have.
import { z } from 'pop';
import summarize from './summarize.js';

export const seedSchema = z.object({
  text: z.string().min(1, 'the text to summarize is required'),
});

export default { summarize };
