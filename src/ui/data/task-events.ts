/**
 * Times from a task.log (JSON lines): the spans of each attempt, of the stages inside it (a stage
 * lasts until the next one starts), and of fan-out items (events carrying an `item`).
 */
export interface Span {
  label: string;
  kind: string;
  start: number;
  end: number;
}

export interface AttemptTimes {
  attempt: number;
  span: Span;
  stages: Span[];
}

export interface TaskTimes {
  attempts: AttemptTimes[];
  /** Fan-out items, each with the stages it went through. */
  items: { span: Span; stages: Span[] }[];
}

interface LogLine {
  time: number;
  event: string;
  attempt: number;
  stage?: string;
  item?: string;
  /** A model call: its model, and the escalation rung it was made on. */
  call?: { model: string; rung: number };
}

export interface LogEntry {
  time: string;
  level: string;
  event: string;
  fields: Record<string, unknown>;
}

/** Every JSON line of a log; other lines are kept as plain messages. */
export function parseLogLines(text: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      const { time, level, event, run: _run, task: _task, ...fields } = value;
      entries.push({ time: String(time ?? ''), level: String(level ?? ''), event: String(event ?? ''), fields });
    } catch {
      entries.push({ time: '', level: '', event: '', fields: { msg: line } });
    }
  }
  return entries;
}

const itemLabel = (item: unknown): string | undefined => {
  if (typeof item === 'number' || typeof item === 'string') return String(item);
  if (item && typeof item === 'object' && 'index' in item) return String((item as { index: unknown }).index);
  return undefined;
};

function timedLines(entries: LogEntry[]): LogLine[] {
  const lines: LogLine[] = [];
  for (const entry of entries) {
    const time = Date.parse(entry.time);
    if (Number.isNaN(time)) continue;
    const attempt = typeof entry.fields.attempt === 'number' ? entry.fields.attempt : 1;
    const line: LogLine = { time, event: entry.event, attempt };
    if (entry.event === 'stage-started' && typeof entry.fields.stage === 'string') line.stage = entry.fields.stage;
    const item = itemLabel(entry.fields.item);
    if (item !== undefined) line.item = item;
    if (entry.event === 'model-call' && typeof entry.fields.model === 'string')
      line.call = { model: entry.fields.model, rung: typeof entry.fields.rung === 'number' ? entry.fields.rung : 0 };
    lines.push(line);
  }
  return lines;
}

export function taskTimes(logText: string | undefined): TaskTimes {
  const lines = logText ? timedLines(parseLogLines(logText)) : [];
  const attempts = new Map<number, LogLine[]>();
  const items = new Map<string, LogLine[]>();
  for (const line of lines) {
    if (line.item !== undefined) items.set(line.item, [...(items.get(line.item) ?? []), line]);
    else attempts.set(line.attempt, [...(attempts.get(line.attempt) ?? []), line]);
  }
  return {
    attempts: [...attempts.entries()].sort(([a], [b]) => a - b).map(([attempt, group]) => ({ attempt, ...spans(`attempt ${attempt}`, 'attempt', group) })),
    items: [...items.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([item, group]) => spans(`item ${item}`, 'item', group)),
  };
}

/** The span of a group of log lines and the stages inside it: a stage lasts until the next starts. */
function spans(label: string, kind: string, group: LogLine[]): { span: Span; stages: Span[] } {
  const start = group[0]!.time;
  const end = group.at(-1)!.time;
  const starts = group.filter((line) => line.stage);
  const stages = starts.map((line, index) => ({ label: line.stage!, kind: `stage-${line.stage!}`, start: line.time, end: starts[index + 1]?.time ?? end }));
  // An inference bar names the model it called, and its escalation rung when it climbed.
  for (const stage of stages) {
    if (stage.label !== 'inference') continue;
    const call = group.find((line) => line.call && line.time >= stage.start && line.time <= stage.end)?.call;
    if (call) stage.label = `inference · ${call.model}${call.rung ? ` · rung ${call.rung}` : ''}`;
  }
  return { span: { label, kind, start, end }, stages };
}
