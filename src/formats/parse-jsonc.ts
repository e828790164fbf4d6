import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { err, ok, type Result } from '../result.js';

/** `line 3, column 14` (both from 1) of a character offset. */
export function lineColumnOf(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
}

/**
 * Parse pipeline.json, which may hold `//` and `/* *\/` comments and trailing commas (JSONC, as
 * editors treat it). The error says where, as line and column, and what was expected there.
 */
export function parseJsonc(text: string): Result<unknown, string> {
  const clean = text.replace(/^\uFEFF/, '');
  const errors: ParseError[] = [];
  const value: unknown = parse(clean, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  const first = errors[0];
  if (first) return err(`not valid JSON at ${lineColumnOf(clean, first.offset)}: ${describeCode(printParseErrorCode(first.error))}`);
  return ok(value);
}

/** The offset of the first error in strict JSON (no comments, no trailing commas), if any. */
export function firstJsonErrorAt(text: string): number | undefined {
  const errors: ParseError[] = [];
  parse(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
  return errors[0]?.offset;
}

/** jsonc-parser names its errors in PascalCase (`CommaExpected`): make them words. */
function describeCode(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** For code on a hot path: plain JSON.parse first, the JSONC parser only when that fails. */
export function parsePipelineText(text: string): Result<unknown, string> {
  try {
    return ok(JSON.parse(text) as unknown);
  } catch {
    return parseJsonc(text);
  }
}
