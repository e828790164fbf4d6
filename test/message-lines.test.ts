/** The channel's framing: one JSON value per line, however the bytes are cut, with a size limit. */
import { describe, expect, it } from 'vitest';
import { encodeMessage, MessageLineReader, type LineProblem } from '../src/util/message-lines.js';

function reader(maxBytes?: number) {
  const values: unknown[] = [];
  const problems: LineProblem[] = [];
  const lines = new MessageLineReader(
    (value) => values.push(value),
    (problem) => problems.push(problem),
    maxBytes,
  );
  return { lines, values, problems };
}

describe('MessageLineReader', () => {
  it('reads messages cut anywhere, several to a chunk, one byte at a time', () => {
    const wire = Buffer.from(encodeMessage({ type: 'stage', stage: 'prompt' }) + encodeMessage({ type: 'done', text: 'é ✓' }) + encodeMessage([1, 2]));
    for (const size of [1, 3, 7, wire.length]) {
      const { lines, values, problems } = reader();
      for (let at = 0; at < wire.length; at += size) lines.push(wire.subarray(at, at + size));
      expect(values).toEqual([{ type: 'stage', stage: 'prompt' }, { type: 'done', text: 'é ✓' }, [1, 2]]);
      expect(problems).toEqual([]);
    }
  });

  it('a line that is not JSON is reported once, and nothing after it is read', () => {
    const { lines, values, problems } = reader();
    lines.push(Buffer.from('{"ok":1}\nnot json\n{"ok":2}\n'));
    lines.push(Buffer.from('{"ok":3}\n'));
    expect(values).toEqual([{ ok: 1 }]);
    expect(problems).toEqual([{ kind: 'not-json', message: 'the channel carried a line that is not JSON: "not json"' }]);
  });

  it('a line growing past the limit is reported before its newline arrives, without keeping it', () => {
    const { lines, values, problems } = reader(100);
    lines.push(Buffer.from(`"${'x'.repeat(60)}`));
    expect(problems).toEqual([]);
    lines.push(Buffer.from('x'.repeat(60)));
    expect(problems).toEqual([{ kind: 'too-large', message: 'a message on the channel was larger than 100 bytes' }]);
    lines.push(Buffer.from('"\n{"after":true}\n'));
    expect(values).toEqual([]);
    expect(problems).toHaveLength(1);
  });

  it('a message of exactly the limit is accepted', () => {
    const { lines, values, problems } = reader(10);
    lines.push(Buffer.from('"12345678"\n'));
    expect(values).toEqual(['12345678']);
    expect(problems).toEqual([]);
  });
});
