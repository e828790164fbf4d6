import { defineTask, truncateToTokens, z } from 'pop';

const Fact = z.object({
  statement: z.string().min(10).describe('one sentence, in your own words'),
  evidence: z.string().min(10).describe('words quoted from the document that support it'),
});

/** Words of a text, lowercased, for comparing a quote with its source. */
const wordsOf = (/** @type {string} */ text) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

export default defineTask({
  description: 'Pull the key facts out of the seed document, each with the words that support it.',
  output: z.object({
    topic: z.string().min(3),
    facts: z.array(Fact).min(3).max(8),
  }),

  // Keep the prompt inside the model's budget: long documents are cut at a word boundary.
  preprocess: ({ seed }, ctx) => ({
    title: String(seed.title ?? 'Untitled'),
    document: truncateToTokens(String(seed.document), Number(ctx.config.maxDocumentTokens ?? 6000)),
  }),

  prompt: ({ title, document }) => ({
    system:
      `You extract the key facts from the document titled "${title}". Give 3 to 8 facts. ` +
      'For each, a one-sentence statement and the evidence: words quoted exactly from the document. ' +
      'Use only what the document says.',
    user: document,
  }),

  // Quality: no fact twice, and every piece of evidence really comes from the document.
  validate: ({ facts }, ctx) => {
    /** @type {Array<{ path: string, message: string }>} */
    const issues = [];
    const source = new Set(wordsOf(String(ctx.seed.document)));
    const seen = new Set();
    facts.forEach((fact, i) => {
      const key = fact.statement.trim().toLowerCase();
      if (seen.has(key)) issues.push({ path: `facts[${i}].statement`, message: 'repeats an earlier fact' });
      seen.add(key);
      const quoted = wordsOf(fact.evidence);
      const found = quoted.filter((word) => source.has(word)).length;
      if (quoted.length > 0 && found / quoted.length < 0.8) {
        issues.push({ path: `facts[${i}].evidence`, message: 'is not quoted from the document' });
      }
    });
    return issues;
  },
});
