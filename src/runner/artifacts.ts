import { readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempPathFor, writeFileAtomic } from '../fs/atomic-write.js';
import { redact, stringifyRedacted } from '../secrets/known-secrets.js';

/** Told when an artifact had an API key (or a piece of one) taken out, and whose. */
export type OnRedacted = (artifact: string, variables: string[]) => void;

/** The artifacts of one model call: response, parsed, validation, critique. */
const PER_CALL = ['04-response', '05-parsed', '06-validation', '07-critique'];

/**
 * Names and writes a task's artifacts. Nothing is overwritten: a second call writes
 * `04-response.2.json`, and a retried process attempt numbers on from what earlier attempts left.
 * Every artifact is redacted before it is written: a key in it becomes `[redacted:VARIABLE]`.
 */
export class ArtifactWriter {
  /** The last file written: the one to open when what follows fails. */
  lastWritten: string | undefined;

  private constructor(
    readonly dir: string,
    private readonly taken: Set<string>,
    private lastCall: number,
    private readonly onRedacted: OnRedacted,
  ) {}

  static async open(dir: string, onRedacted: OnRedacted = () => {}): Promise<ArtifactWriter> {
    const names = new Set(await readdir(dir).catch(() => [] as string[]));
    let lastCall = 0;
    for (const name of names) {
      const match = /^(\d\d-[a-z]+)(?:\.(\d+))?\.json$/.exec(name);
      if (match && PER_CALL.includes(match[1]!)) lastCall = Math.max(lastCall, Number(match[2] ?? 1));
    }
    return new ArtifactWriter(dir, names, lastCall, onRedacted);
  }

  /** How many model calls this folder has seen (this attempt's and earlier ones'). */
  callsSoFar(): number {
    return this.lastCall;
  }

  /** The number of the next model call; per-call artifacts carry it. */
  nextCall(): number {
    return ++this.lastCall;
  }

  /** `base.ext` if free, else `base.2.ext`, `base.3.ext`, ... */
  freeName(base: string, ext: string): string {
    for (let n = 1; ; n++) {
      const name = n === 1 ? `${base}.${ext}` : `${base}.${n}.${ext}`;
      if (!this.taken.has(name)) return name;
    }
  }

  callName(base: string, call: number, ext = 'json'): string {
    return call === 1 ? `${base}.${ext}` : `${base}.${call}.${ext}`;
  }

  async write(name: string, content: string | unknown): Promise<string> {
    this.taken.add(name);
    this.lastWritten = name;
    const path = join(this.dir, name);
    const clean = typeof content === 'string' ? redact(content) : stringifyRedacted(content, 2);
    if (clean.names.length) this.onRedacted(name, clean.names);
    await writeFile(path, typeof content === 'string' ? clean.text : `${clean.text}\n`);
    return name;
  }

  /** output.json is state the manager relies on, so it is written atomically and fsynced. */
  async writeOutput(value: unknown): Promise<void> {
    this.taken.add('output.json');
    const clean = stringifyRedacted(value, 2);
    if (clean.names.length) this.onRedacted('output.json', clean.names);
    await writeFileAtomic(join(this.dir, 'output.json'), `${clean.text}\n`);
  }

  /**
   * An item's output.json: atomic (temp file, rename) but not fsynced. Only a later attempt of the
   * task reads it, and it checks what it reads: a file a power cut left empty or torn is simply not
   * reused. An fsync per item would hold one of libuv's four file threads for as long as the disk
   * takes, and a fan-out's other writes would queue behind it.
   */
  async writeItemOutput(value: unknown): Promise<void> {
    this.taken.add('output.json');
    this.lastWritten = 'output.json';
    const path = join(this.dir, 'output.json');
    const clean = stringifyRedacted(value, 2);
    if (clean.names.length) this.onRedacted('output.json', clean.names);
    const temp = tempPathFor(path);
    await writeFile(temp, `${clean.text}\n`);
    await rename(temp, path);
  }
}
