import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/**
 * Where a module's syntax error is, as `file:line:column: message` with the offending line and a
 * caret under the column; undefined when the file parses. An import's SyntaxError names neither the
 * file nor the line, and V8 keeps the place to itself: `node --check` prints it, so it is asked.
 * The source goes in as a module on standard input: task modules are ES modules, and Node 20 finds
 * nothing wrong in a .js file outside a `"type": "module"` package.
 */
export async function locateSyntaxError(file: string): Promise<string | undefined> {
  const source = await readFile(file, 'utf8').catch(() => undefined);
  if (source === undefined) return undefined;
  const stderr = await checkModule(source);
  if (stderr === undefined) return undefined;
  // The report: "<file>:<line>", the source line, a caret line, a blank line, "SyntaxError: <message>", the stack.
  const lines = stderr.split('\n');
  const place = /:(\d+)$/.exec(lines[0] ?? '');
  const message = lines.find((line) => /^[A-Za-z]*Error: /.test(line))?.replace(/^SyntaxError: /, '');
  if (!place || message === undefined) return undefined;
  const offending = lines[1] ?? '';
  const caret = (lines[2] ?? '').indexOf('^');
  const column = caret >= 0 ? caret + 1 : offending.length + 1;
  const number = `${place[1]} | `;
  return `${file}:${place[1]}:${column}: ${message}\n    ${number}${offending}\n    ${' '.repeat(number.length + column - 1)}^`;
}

/** `node --check` of a module's source: its error report, or undefined when it parses. */
function checkModule(source: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '--check'], { stdio: ['pipe', 'ignore', 'pipe'], timeout: 30_000 });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? undefined : stderr));
    child.stdin.on('error', () => {});
    child.stdin.end(source);
  });
}
