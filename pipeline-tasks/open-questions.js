import { defineTask, z } from 'pop';

/** @typedef {{ topic: string, facts: Array<{ statement: string, evidence: string }> }} Facts */

// Runs beside the outline: both need only the merged facts.
export default defineTask({
  description: 'List the questions the document leaves open for its audience, from the merged facts.',
  output: z.object({
    questions: z
      .array(
        z.object({
          question: z.string().min(10).describe('a question the document raises but does not settle'),
          why: z.string().min(10).describe('why it matters to the audience'),
        }),
      )
      .min(2)
      .max(3),
  }),

  prompt: ({ seed, inputs }) => {
    const { topic, facts } = /** @type {Facts} */ (inputs['extract-facts']);
    return {
      system:
        `You advise ${String(seed.audience ?? 'a general reader')} on "${topic}". From the facts below, ` +
        'list 2 or 3 questions the document leaves open, each with why it matters. Each question must be different.',
      // Each fact with its evidence beneath it: what the document says, in its own words.
      user: facts.map((fact) => `- ${fact.statement}\n  ${fact.evidence}`).join('\n'),
    };
  },

  validate: ({ questions }) => {
    const asked = questions.map((entry) => entry.question.trim().toLowerCase());
    return asked
      .map((question, i) => (asked.indexOf(question) !== i ? { path: `questions[${i}].question`, message: 'repeats an earlier question' } : undefined))
      .filter((issue) => issue !== undefined);
  },
});
