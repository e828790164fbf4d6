import { defineTask, z } from 'pop';

export default defineTask({
  description: 'Summarize the seed text in two sentences, with keywords.',

  // The value the task must produce: sent to the model as JSON Schema, checked on every reply.
  output: z.object({
    summary: z.string().min(1),
    keywords: z.array(z.string()).min(3),
  }),

  // What to ask: a string, { system, user }, or a list of messages.
  prompt: ({ seed }) => ({
    system: 'Summarize the text in two sentences and list at least three keywords.',
    user: String(seed.text),
  }),

  // Quality check after the schema check: nothing to accept, or the problems.
  validate: ({ summary }) => (summary.length > 600 ? 'the summary is longer than 600 characters' : []),
});
