import { defineTask } from 'pop';

/** @typedef {{ title: string, sections: Array<{ heading: string, points: string[] }> }} Outline */
/** @typedef {{ questions: Array<{ question: string, why: string }> }} OpenQuestions */

/** `a point` → `A point.`: the outline read as sentences. */
const endSentence = (/** @type {string} */ text) => `${text.charAt(0).toUpperCase()}${text.slice(1).replace(/[\s.,;:]*$/, '')}.`;

/** A question as asked, or a sentence ended like one. */
const asQuestion = (/** @type {string} */ text) => (text.trim().endsWith('?') ? text.trim() : endSentence(text));

const countWords = (/** @type {string} */ text) => (text.match(/\S+/g) ?? []).length;

// A text task: no output schema, so the reply is taken as it is and checked for length. It needs
// both branches: the outline and the open questions.
export default defineTask({
  description: 'Write the brief from the outline, as Markdown, with the open questions after it.',

  prompt: ({ seed, inputs }, ctx) => {
    const outline = /** @type {Outline} */ (inputs.outline);
    const maxWords = Number(ctx.config.maxWords ?? 250);
    return {
      system:
        `Write a brief titled "${outline.title}" for ${String(seed.audience ?? 'a general reader')}, ` +
        `at most ${maxWords} words of plain prose, following the outline. No headings, no lists.`,
      user: outline.sections.map((section) => `${section.heading}: ${section.points.map(endSentence).join(' ')}`).join('\n'),
    };
  },

  validate: (text, ctx) => {
    const words = countWords(text);
    const maxWords = Number(ctx.config.maxWords ?? 250);
    if (words < 15) return `the brief has ${words} words; write at least 15`;
    if (words > maxWords) return `the brief has ${words} words; cut it to at most ${maxWords}`;
    return [];
  },

  // Besides output.json, leave the brief where a person can open it: brief.md.
  finalize: async (text, ctx) => {
    const outline = /** @type {Outline} */ (ctx.inputs.outline);
    const { questions } = /** @type {OpenQuestions} */ (ctx.inputs['open-questions']);
    const open = questions.map((entry) => `- ${asQuestion(entry.question)} ${endSentence(entry.why)}`).join('\n');
    const markdown = `# ${outline.title}\n\n${text.trim()}\n\n## Open questions\n\n${open}\n`;
    await ctx.writeArtifact('brief.md', markdown);
    return { title: outline.title, markdown, words: countWords(text), openQuestions: questions.length };
  },
});
