import type { Completion, CompletionRequest, Provider } from './types.js';
import { hash32 } from '../util/seeded-random.js';
import { PhrasePicker, randomFrom } from './prompt-words.js';
import { MockTooLargeError, valueForSchema } from './mock-value.js';
import { ProviderError } from './types.js';
import { estimateTokens } from '../util/estimate-tokens.js';

/**
 * The built-in offline model. Deterministic: the same messages give the same reply. With a schema
 * it answers with JSON that fits it, its strings whole sentences of the first user message (and
 * short fields such as titles the opening words of one); without one, an extract of its sentences
 * in their order, so what a pipeline of mock tasks writes reads as an extractive summary. `mock.failFirst` makes the first calls answer badly.
 */
const MIN_SUMMARY_WORDS = 40;
const MAX_SUMMARY_SENTENCES = 6;

export class MockProvider implements Provider {
  async complete(request: CompletionRequest): Promise<Completion> {
    const conversation = JSON.stringify(request.messages);
    const lastUser = [...request.messages].reverse().find((message) => message.role === 'user');
    // Quote the first user message (the task's own prompt), not the feedback of a refinement.
    const source = request.messages.find((message) => message.role === 'user') ?? lastUser;
    const words = new PhrasePicker(source?.content ?? '', randomFrom(conversation));
    const failing =
      request.mock !== undefined &&
      (request.call <= request.mock.failFirst || failsOnThisModel(request.mock, request.spec ?? `mock:${request.model}`, request.model, source?.content ?? ''));

    let text: string;
    if (request.schema) {
      const value = valueOrRefusal(request.schema, words, request.model);
      if (failing && request.mock?.failure === 'invalid-value') text = JSON.stringify(breakValue(value), null, 2);
      else if (failing) text = cutOff(JSON.stringify(value, null, 2));
      else text = JSON.stringify(value, null, 2);
    } else {
      text = failing ? '' : summaryOf(words);
    }
    return {
      text,
      model: `mock:${request.model}`,
      usage: { inputTokens: estimateTokens(conversation), outputTokens: estimateTokens(text) },
      latencyMs: 0,
      finishReason: failing ? 'mock-failure' : 'stop',
    };
  }
}

/**
 * `failShare` of prompts, picked by a hash of their content (so the same prompt fails every time,
 * on every refinement), answered badly by `failModel` alone: a stronger model answers them well.
 */
function failsOnThisModel(mock: NonNullable<CompletionRequest['mock']>, spec: string, model: string, prompt: string): boolean {
  if (!mock.failShare || !mock.failModel) return false;
  if (mock.failModel !== spec && mock.failModel !== model) return false;
  return hash32(prompt) / 0x100000000 < mock.failShare;
}

/** A schema asking for more than the mock builds is a refused request, as a real provider's would be. */
function valueOrRefusal(schema: Record<string, unknown>, words: PhrasePicker, model: string): unknown {
  try {
    return valueForSchema(schema, words);
  } catch (error) {
    if (!(error instanceof MockTooLargeError)) throw error;
    throw new ProviderError({
      reason: 'bad-request',
      provider: 'mock',
      model,
      message: `the mock refused the request: ${error.message}, more than it builds for a reply`,
    });
  }
}

/** A plain-text reply: whole sentences of the prompt in their order, about a paragraph's worth. */
function summaryOf(words: PhrasePicker): string {
  const sentences = words.extract(MAX_SUMMARY_SENTENCES);
  const kept: string[] = [];
  let count = 0;
  for (const sentence of sentences) {
    if (count >= MIN_SUMMARY_WORDS && kept.length >= 2) break;
    kept.push(sentence);
    count += sentence.split(/\s+/).length;
  }
  return kept.join(' ');
}

/** A reply cut off mid-JSON, as a model hitting its token limit sends. */
function cutOff(json: string): string {
  return json.slice(0, Math.max(1, Math.floor(json.length * 0.6)));
}

/** Well-formed JSON that breaks the schema: every field renamed, so required ones are missing. */
function breakValue(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [`${key}_`, inner]));
  }
  return { unexpected: value };
}
