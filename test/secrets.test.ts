/**
 * API keys never reach a file POP writes, its logs or what it prints: the official SDKs against a
 * local server that echoes the key it was sent into its replies and its error messages, through
 * the real CLI. A key comes from the environment, another from the workspace's .env under a
 * variable only pipeline.json names. Every file of the workspace and every output is searched
 * for any piece of either key.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { MIN_FRAGMENT_LENGTH, Redactor } from '../src/secrets/redactor.js';
import {
  fromRequest,
  jsonReply,
  logLines,
  notJson,
  onlyRun,
  popEnv,
  runPopWithEnv,
  sentKey,
  startFakeLlm,
  statusReply,
  type Behaviour,
  type FakeLlm,
} from './support/fake-llm-server.js';
import { makeWorkspace, readValid, registryModule, type Workspace } from './support/workspace.js';

const JSON_OUTPUT = `z.object({ answer: z.string().min(1), confidence: z.number().min(0).max(1) })`;

/** Task code that finds a key the way a careless task could: in the workspace's .env file. */
const READ_CREDENTIAL = `const credential = () => /^TASK_CREDENTIAL=(.*)$/m.exec(readFileSync(new URL('../.env', import.meta.url), 'utf8'))[1];`;

/**
 * Answers as JSON; then, carelessly, prints, logs and writes the key it can see. Secret variables
 * are kept out of task processes, so it reads one from the workspace's .env file, which it can.
 */
const CARELESS_TASK = `import { readFileSync } from 'node:fs';
import { defineTask, z } from 'pop';
${READ_CREDENTIAL}
export default defineTask({
  output: ${JSON_OUTPUT},
  prompt: ({ seed }) => ({ system: 'Answer as JSON.', user: String(seed.q) }),
  finalize: async (value, ctx) => {
    if (process.env.OPENAI_API_KEY !== undefined) throw new Error('a provider key reached the task process');
    if (process.env.TASK_CREDENTIAL !== undefined) throw new Error('a secret variable reached the task process');
    const key = credential();
    console.log('calling with', key);
    console.error('Authorization: Bearer ' + key);
    ctx.log.info({ event: 'careless', header: 'Bearer ' + key, piece: key.slice(0, 20) }, 'key ' + key);
    await ctx.writeArtifact('notes.md', 'key: ' + key + '\\n');
    return value;
  },
});
`;

/** Reads the first task's answer (through the default ingestion) and asks about it. */
const DOWNSTREAM_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: ${JSON_OUTPUT},
  prompt: ({ inputs }) => ({ system: 'Answer as JSON.', user: 'Is this right? ' + inputs.first.answer }),
});
`;

/** Every piece of `key` `length` characters long. */
function piecesOf(key: string, length: number): string[] {
  return Array.from({ length: key.length - length + 1 }, (_, start) => key.slice(start, start + length));
}

/** Every file under the workspace but the user's own .env and the `pop` link, with its text. */
async function workspaceFiles(ws: Workspace): Promise<Array<{ path: string; text: string }>> {
  const entries = await readdir(ws.root, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => relative(ws.root, join(entry.parentPath, entry.name)));
  const ours = files.filter((path) => path !== '.env' && !path.startsWith('node_modules'));
  return Promise.all(ours.map(async (path) => ({ path, text: await readFile(join(ws.root, path), 'utf8') })));
}

/** Where any piece of a key (of `length` characters) turns up, as "file: piece". */
function leaks(texts: Array<{ path: string; text: string }>, keys: string[], length: number): string[] {
  const found: string[] = [];
  for (const { path, text } of texts) {
    for (const key of keys) for (const piece of piecesOf(key, length)) if (text.includes(piece)) found.push(`${path}: ${piece}`);
  }
  return found;
}

/** What `status` and `runs` print, in every form, for the workspace's runs. */
async function cliOutputs(ws: Workspace, env: Record<string, string>, runId: string): Promise<Array<{ path: string; text: string }>> {
  const commands = [['status'], ['status', runId], ['status', runId, '--json'], ['runs', '--json']];
  return Promise.all(
    commands.map(async (args) => {
      const result = await runPopWithEnv(ws, args, env);
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      return { path: `pop ${args.join(' ')}`, text: result.stdout + result.stderr };
    }),
  );
}

function pipeline(fake: FakeLlm, tasks: unknown[]): Record<string, unknown> {
  return {
    name: 'secrets',
    tasks,
    providers: {
      oai: { type: 'openai', baseURL: fake.openaiBaseURL, apiKeyEnv: 'OPENAI_API_KEY', maxRetries: 0 },
      // A variable only pipeline.json names, with a value of no known shape: redacted because it is configured.
      anth: { type: 'anthropic', baseURL: fake.anthropicBaseURL, apiKeyEnv: 'LOCAL_LLM_TOKEN', maxRetries: 0 },
    },
  };
}

describe('a server that echoes the key it was sent', () => {
  it('leaves no piece of a key in any file, log or output of a two-task run, and the artifacts say what was taken out', async () => {
    const envKey = `sk-proj-${randomBytes(20).toString('hex')}`;
    const dotenvKey = `tok_${randomBytes(20).toString('hex')}`;
    const taskKey = `sk-task-${randomBytes(20).toString('hex')}`;
    const fake = await startFakeLlm();
    // Echoes the credential headers whole, and pieces of the key as a truncating proxy would.
    fake.always(
      fromRequest((request) => {
        const key = sentKey(request);
        const headers = `authorization=${request.headers.authorization ?? ''} x-api-key=${request.headers['x-api-key'] ?? ''}`;
        return jsonReply({ answer: `you sent ${headers}; cut: ${key.slice(0, 20)}…; tail: …${key.slice(-14)}`, confidence: 0.5 });
      }),
    );
    const ws = await makeWorkspace({
      'pipeline.json': pipeline(fake, [
        { name: 'first', model: 'oai:gpt-echo' },
        { name: 'second', model: 'anth:claude-echo' },
      ]),
      'pipeline-tasks/index.js': registryModule(['first', 'second']),
      'pipeline-tasks/first.js': CARELESS_TASK,
      'pipeline-tasks/second.js': DOWNSTREAM_TASK,
      'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
      '.env': `LOCAL_LLM_TOKEN=${dotenvKey}\nTASK_CREDENTIAL=${taskKey}\n`,
    });
    const env = popEnv({ OPENAI_API_KEY: envKey });

    const result = await runPopWithEnv(ws, ['start', '--once'], env);
    expect(result.exitCode, result.stderr).toBe(0);
    // Both keys were sent, so both could have come back.
    expect(fake.requestsFor('gpt-echo')[0]?.headers.authorization).toBe(`Bearer ${envKey}`);
    expect(sentKey(fake.requestsFor('claude-echo')[0]!)).toBe(dotenvKey);

    const runDir = await onlyRun(ws, 'complete');
    const texts = [
      ...(await workspaceFiles(ws)),
      { path: 'manager stdout', text: result.stdout },
      { path: 'manager stderr', text: result.stderr },
      ...(await cliOutputs(ws, env, relative(ws.complete, runDir))),
    ];
    expect(texts.map((file) => file.path)).toEqual(
      expect.arrayContaining(['pipeline-complete/runs.jsonl', expect.stringMatching(/second\/01-ingestion\.json$/)]),
    );
    expect(leaks(texts, [envKey, dotenvKey, taskKey], MIN_FRAGMENT_LENGTH)).toEqual([]);

    // Where the keys were, the artifacts name the variable they were taken out for.
    const first = join(runDir, 'tasks', 'first');
    const second = join(runDir, 'tasks', 'second');
    const marker = '[redacted:OPENAI_API_KEY]';
    const response = JSON.parse(await readFile(join(first, '04-response.json'), 'utf8')) as { text: string };
    expect(response.text).toContain(`authorization=Bearer ${marker} x-api-key=;`);
    expect(response.text).toContain(`cut: ${marker}…; tail: …${marker}`);
    const output = JSON.parse(await readFile(join(first, 'output.json'), 'utf8')) as { value: { answer: string } };
    expect(output.value.answer).toContain(`Bearer ${marker}`);
    expect(await readFile(join(first, '05-parsed.json'), 'utf8')).toContain(marker);
    const taskMarker = '[redacted:TASK_CREDENTIAL]';
    expect(await readFile(join(first, 'notes.md'), 'utf8')).toBe(`key: ${taskMarker}\n`);
    const consoleLog = await readFile(join(first, 'console.log'), 'utf8');
    expect(consoleLog).toContain(`calling with ${taskMarker}`);
    expect(consoleLog).toContain(`Authorization: Bearer ${taskMarker}`);
    const firstLog = await logLines(join(first, 'task.log'));
    expect(firstLog).toContainEqual(expect.objectContaining({ event: 'secrets-redacted', variables: ['OPENAI_API_KEY'] }));
    expect(firstLog).toContainEqual(
      expect.objectContaining({ event: 'careless', header: `Bearer ${taskMarker}`, piece: taskMarker, msg: `key ${taskMarker}` }),
    );
    expect(firstLog).toContainEqual(expect.objectContaining({ event: 'secrets-redacted', artifact: 'notes.md', variables: ['TASK_CREDENTIAL'] }));

    // The second task's ingestion refers to the first one's (redacted) output rather than copying it.
    expect(JSON.parse(await readFile(join(second, '01-ingestion.json'), 'utf8'))).toEqual({
      seed: { $ref: '../../seed.json' },
      inputs: { first: { $ref: '../../tasks/first/output.json#/value' } },
    });
    const downstream = JSON.parse(await readFile(join(second, '04-response.json'), 'utf8')) as { text: string };
    expect(downstream.text).toMatch(
      /you sent authorization=(Bearer )?(\[redacted:LOCAL_LLM_TOKEN\])? x-api-key=(\[redacted:LOCAL_LLM_TOKEN\])?; cut: \[redacted:LOCAL_LLM_TOKEN\]…/,
    );
  });
});

describe('a key in an error message near where POP cuts it', () => {
  it('leaves no piece of the key when the key straddles the 300-character cut of an error or the 80-character cut of a preview', async () => {
    const envKey = `sk-proj-${randomBytes(20).toString('hex')}`;
    const dotenvKey = `tok_${randomBytes(20).toString('hex')}`;
    const fake = await startFakeLlm();
    // "e<N>": a 400 whose message has the key at offset N; "p<N>": a 200 that is no completion,
    // whose JSON text has the key at offset N (its preview is cut at 80).
    const behaviour = (model: string, key: string): Behaviour => {
      const offset = Number(model.slice(1));
      if (model.startsWith('e')) return statusReply(400, `${'x'.repeat(offset)}${key} is not allowed to use this model`);
      const note = `${'x'.repeat(offset - '{"note":"'.length)}${key}`;
      return notJson(JSON.stringify({ note }), 'application/json');
    };
    fake.always(fromRequest((request) => behaviour(request.model ?? '', sentKey(request))));
    const models = [
      ...[250, 270, 280, 285, 290, 296, 299].map((offset) => `oai:e${offset}`),
      ...[50, 60, 70, 75, 79].map((offset) => `oai:p${offset}`),
      ...[280, 292].map((offset) => `anth:e${offset}`),
      ...[62, 77].map((offset) => `anth:p${offset}`),
    ];
    const ws = await makeWorkspace({
      'pipeline.json': pipeline(fake, [{ name: 'ask', task: 'first', model: models }]),
      'pipeline-tasks/index.js': registryModule(['first']),
      'pipeline-tasks/first.js': CARELESS_TASK,
      'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
      '.env': `LOCAL_LLM_TOKEN=${dotenvKey}\n`,
    });
    const env = popEnv({ OPENAI_API_KEY: envKey });

    const result = await runPopWithEnv(ws, ['start', '--once'], env);
    expect(result.exitCode).toBe(1);
    expect(fake.requests).toHaveLength(models.length);

    const runDir = await onlyRun(ws, 'current');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    const error = status.tasks.ask?.error;
    expect(error).toMatchObject({ reason: 'provider-failed', stage: 'inference' });
    // Every model failed with the key in its words, cut where POP cuts them.
    expect(error?.issues).toHaveLength(models.length);
    expect(error?.issues?.[0]).toMatch(/^oai:e250: bad-request: .*the server said: x{250}\[redacted:OPENAI_API_KEY\] is not/);
    expect(error?.issues?.[2]).toMatch(/^oai:e280: bad-request: .*the server said: x{280}\[redacted:OPENAI_API…$/);
    expect(error?.issues?.[6]).toMatch(/^oai:e299: bad-request: .*the server said: x{299}\[…$/);
    expect(error?.issues?.[7]).toMatch(/^oai:p50: bad-response: .*got object "\{\\"note\\":\\"x{41}\[redacted:OPENAI_API_KEY\]\\"\}"$/);
    expect(error?.issues?.[10]).toMatch(/^oai:p75: bad-response: .*got object "\{\\"note\\":\\"x{66}\[reda"$/);
    expect(error?.issues?.[12]).toMatch(/^anth:e280: bad-request: .*the server said: x{280}\[redacted:LOCAL_LLM_…$/);

    const texts = [
      ...(await workspaceFiles(ws)),
      { path: 'manager stdout', text: result.stdout },
      { path: 'manager stderr', text: result.stderr },
      ...(await cliOutputs(ws, env, relative(ws.current, runDir))),
    ];
    expect(texts.map((file) => file.path)).toEqual(
      expect.arrayContaining([expect.stringMatching(/tasks-status\.json$/), expect.stringMatching(/run\.log$/), expect.stringMatching(/task\.log$/)]),
    );
    // Not even a short piece: the texts were redacted before they were cut.
    expect(leaks(texts, [envKey, dotenvKey], 8)).toEqual([]);
  });
});

describe('a task whose error carries a key', () => {
  it('reaches tasks-status.json, run.log, the manager log and status output without it', async () => {
    const envKey = `sk-proj-${randomBytes(20).toString('hex')}`;
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'secrets', tasks: [{ name: 'ask', model: 'mock:default' }] },
      'pipeline-tasks/index.js': registryModule(['ask']),
      // The error goes to the manager as the task threw it; the manager's writers must take the key out.
      'pipeline-tasks/ask.js': `import { readFileSync } from 'node:fs';
import { defineTask } from 'pop';
${READ_CREDENTIAL}
export default defineTask({
  prompt: () => {
    const error = new Error('the server refused Bearer ' + credential());
    error.stack = error.stack + '\\n    at key ' + credential().slice(0, 24);
    throw error;
  },
});
`,
      'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
      '.env': `TASK_CREDENTIAL=${envKey}\n`,
    });
    const env = popEnv();

    const result = await runPopWithEnv(ws, ['start', '--once'], env);
    expect(result.exitCode, result.stderr).toBe(1);
    const runDir = await onlyRun(ws, 'current');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask?.error).toMatchObject({
      reason: 'task-threw',
      stage: 'prompt',
      message: 'prompt threw: the server refused Bearer [redacted:TASK_CREDENTIAL]',
    });
    expect(status.tasks.ask?.error?.stack).toContain('at key [redacted:TASK_CREDENTIAL]');
    expect(result.events).toContainEqual(
      expect.objectContaining({ event: 'task-failed', message: 'prompt threw: the server refused Bearer [redacted:TASK_CREDENTIAL]' }),
    );
    const runLog = await logLines(join(runDir, 'run.log'));
    expect(runLog).toContainEqual(
      expect.objectContaining({ event: 'run-failed', message: 'prompt threw: the server refused Bearer [redacted:TASK_CREDENTIAL]' }),
    );

    const texts = [
      ...(await workspaceFiles(ws)),
      { path: 'manager stdout', text: result.stdout },
      { path: 'manager stderr', text: result.stderr },
      ...(await cliOutputs(ws, env, relative(ws.current, runDir))),
    ];
    expect(leaks(texts, [envKey], MIN_FRAGMENT_LENGTH)).toEqual([]);
  });
});

describe('the end of what a task printed, kept for its error', () => {
  it('is redacted before it is cut, so no piece of a key is left at its start', async () => {
    const envKey = `sk-proj-${randomBytes(20).toString('hex')}`;
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'secrets', tasks: [{ name: 'ask', model: 'mock:default' }] },
      'pipeline-tasks/index.js': registryModule(['ask']),
      // Straight to the file descriptor, around process.stderr, so console.log itself keeps the key
      // (docs/security.md says so). The last 2000 characters, kept as the error's stderrTail, would start
      // with the key's last 8 characters if they were cut before being redacted.
      'pipeline-tasks/ask.js': `import { readFileSync, writeSync } from 'node:fs';
import { defineTask } from 'pop';
${READ_CREDENTIAL}
export default defineTask({
  prompt: () => {
    writeSync(2, 'x'.repeat(3000) + credential() + 'y'.repeat(1991) + '\\n');
    process.exit(3);
  },
});
`,
      'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
      '.env': `TASK_CREDENTIAL=${envKey}\n`,
    });
    const env = popEnv();

    const result = await runPopWithEnv(ws, ['start', '--once'], env);
    expect(result.exitCode, result.stderr).toBe(1);
    const runDir = await onlyRun(ws, 'current');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask?.error).toMatchObject({ reason: 'exit-non-zero', exitCode: 3, stderrTail: expect.stringMatching(/^DENTIAL\]y{1991}$/) });

    const texts = [
      ...(await workspaceFiles(ws)).filter((file) => !file.path.endsWith('console.log')),
      { path: 'manager stdout', text: result.stdout },
      { path: 'manager stderr', text: result.stderr },
      ...(await cliOutputs(ws, env, relative(ws.current, runDir))),
    ];
    expect(leaks(texts, [envKey], 8)).toEqual([]);
  });
});

describe('the redactor', () => {
  const key = `sk-proj-${randomBytes(24).toString('hex')}`;
  const redactor = new Redactor([
    { name: 'OPENAI_API_KEY', value: key },
    { name: 'PLACEHOLDER', value: 'ollama' },
  ]);

  it('takes out every piece of a key of at least MIN_FRAGMENT_LENGTH characters, wherever it starts and ends', () => {
    for (let start = 0; start < key.length; start++) {
      for (let end = start + MIN_FRAGMENT_LENGTH; end <= key.length; end++) {
        const { text, names } = redactor.redact(`before ${key.slice(start, end)} after`);
        expect(text).toBe('before [redacted:OPENAI_API_KEY] after');
        expect(names).toEqual(['OPENAI_API_KEY']);
      }
    }
    // A shorter leftover is kept: too little of the key to matter, and it could be any text.
    expect(redactor.redact(`a ${key.slice(5, 5 + MIN_FRAGMENT_LENGTH - 1)} b`).names).toEqual([]);
  });

  it('leaves values too short to be keys alone, and JSON text still parses', () => {
    expect(redactor.redact('model ollama:llama3.1').text).toBe('model ollama:llama3.1');
    const names = new Set<string>();
    const json = redactor.stringify({ [key]: [`Bearer ${key}`, key.slice(0, 30)], ok: 'ollama' }, 2, names);
    expect(JSON.parse(json)).toEqual({ '[redacted:OPENAI_API_KEY]': ['Bearer [redacted:OPENAI_API_KEY]', '[redacted:OPENAI_API_KEY]'], ok: 'ollama' });
    expect([...names]).toEqual(['OPENAI_API_KEY']);
    const line = JSON.stringify({ msg: `key "${key}" and ${key.slice(10)}` });
    expect(JSON.parse(redactor.redact(line).text)).toEqual({ msg: 'key "[redacted:OPENAI_API_KEY]" and [redacted:OPENAI_API_KEY]' });
  });

  it('names the longest key when one key contains another', () => {
    const both = new Redactor([
      { name: 'SHORT_KEY', value: key.slice(0, 30) },
      { name: 'LONG_KEY', value: key },
    ]);
    expect(both.redact(`x ${key} y ${key.slice(0, 30)} z`).text).toBe('x [redacted:LONG_KEY] y [redacted:SHORT_KEY] z');
  });
});
