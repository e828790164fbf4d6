import { chunkByTokens, defineTask, z } from 'pop';

const Fact = z.object({
  statement: z.string().min(10).describe('one sentence, in your own words'),
  evidence: z.string().min(10).describe('words quoted from this part of the document that support it'),
});

/** Words of a text, lowercased, for comparing a quote with its source. */
const wordsOf = (/** @type {string} */ text) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/** A statement reduced to its words: two facts that say the same thing the same way are one. */
const keyOf = (/** @type {string} */ statement) => wordsOf(statement).join(' ');

// Map-reduce over a long document: the document in parts (map, one model call per part, in
// parallel), then every part's facts merged in document order with repeats dropped (reduce).
export default defineTask({
  description: 'Pull the key facts out of the seed document part by part, each with the words that support it, then merge them.',
  output: z.object({
    facts: z.array(Fact).min(1).max(5),
  }),

  // The items: parts of about `chunkTokens` tokens, cut at paragraph or sentence breaks. A short
  // document is one part; a long one is never cut short.
  each: ({ seed }, ctx) => chunkByTokens(String(seed.document), Number(ctx.config.chunkTokens ?? 1500)),

  prompt: (part, ctx) => ({
    system:
      `You extract the key facts from part ${ctx.item.index + 1} of ${ctx.item.count} of the document titled ` +
      `"${String(ctx.seed.title ?? 'Untitled')}". Give 1 to 5 facts. For each, a one-sentence statement and the ` +
      'evidence: words quoted exactly from this part. Use only what this part says.',
    user: part,
  }),

  // Quality, per part: no fact twice, and every piece of evidence really comes from the document.
  validate: ({ facts }, ctx) => {
    /** @type {Array<{ path: string, message: string }>} */
    const issues = [];
    const source = new Set(wordsOf(String(ctx.seed.document)));
    const seen = new Set();
    facts.forEach((fact, i) => {
      const key = keyOf(fact.statement);
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

  // Reduce: the parts' facts in document order, each statement once.
  finalize: (parts, ctx) => {
    const seen = new Set();
    const facts = parts
      .flatMap((part) => part.facts)
      .filter((fact) => {
        const key = keyOf(fact.statement);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    return { topic: String(ctx.seed.title ?? facts[0]?.statement ?? 'Untitled'), parts: parts.length, facts };
  },
});
