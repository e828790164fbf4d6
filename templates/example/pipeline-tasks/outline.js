import { defineTask, z } from 'pop';

export default defineTask({
  description: 'Group the extracted facts into the sections of a brief.',
  output: z.object({
    title: z.string().min(3).max(120),
    sections: z
      .array(
        z.object({
          heading: z.string().min(3).max(100),
          points: z.array(z.string().min(3)).min(1).max(4),
        }),
      )
      .min(3)
      .max(5),
  }),

  prompt: ({ seed, inputs }) => {
    const { topic, facts } = /** @type {{ topic: string, facts: Array<{ statement: string }> }} */ (inputs['extract-facts']);
    return {
      system:
        `Plan a brief about "${topic}" for ${String(seed.audience ?? 'a general reader')}. ` +
        'Give it a title and 3 to 5 sections, each with a heading and 1 to 4 points drawn from the facts. ' +
        'Each heading must be different.',
      user: facts.map((fact) => `- ${fact.statement}`).join('\n'),
    };
  },

  validate: ({ sections }) => {
    const headings = sections.map((section) => section.heading.trim().toLowerCase());
    return headings
      .map((heading, i) => (headings.indexOf(heading) !== i ? { path: `sections[${i}].heading`, message: 'repeats an earlier heading' } : undefined))
      .filter((issue) => issue !== undefined);
  },
});
