import { readdirSync, readFileSync } from 'node:fs';

/**
 * The processes a process started, and theirs, found by parent pid in /proc (Linux). A process
 * that left its parent's group with setsid is still its child, but only while the parent lives:
 * an orphan is handed to init, so this must be asked before the process is stopped. Elsewhere
 * than Linux it finds nothing (the process group is still ended).
 */
export function findDescendants(root: number): ProcessId[] {
  const found: ProcessId[] = [];
  const queue = [root];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const child of childrenOf(pid)) {
      if (seen.has(child)) continue;
      seen.add(child);
      const start = startTimeOf(child);
      if (start !== undefined) found.push({ pid: child, start });
      queue.push(child);
    }
  }
  return found;
}

/** /proc/<pid>/task/<tid>/children: the children each thread started (Linux 3.5 and later). */
function childrenOf(pid: number): number[] {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const thread of threads) {
    try {
      for (const word of readFileSync(`/proc/${pid}/task/${thread}/children`, 'utf8').split(' ')) if (word) children.push(Number(word));
    } catch {
      // the thread or process is gone
    }
  }
  return children;
}

/** A process as found: its pid and its start time, so a pid reused since by another process is never signalled. */
export interface ProcessId {
  pid: number;
  start: string;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined when gone or a zombie. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": the fields after the last ')', state first.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** Signal each process that is still the one found (same pid, same start time). */
export function signalProcesses(processes: Iterable<ProcessId>, signal: NodeJS.Signals): void {
  for (const found of processes) {
    if (startTimeOf(found.pid) !== found.start) continue;
    try {
      process.kill(found.pid, signal);
    } catch {
      // ESRCH: gone meanwhile
    }
  }
}

/** Signal a whole process group (its leader's pid); nothing left in it is fine. */
export function signalGroup(leader: number | undefined, signal: NodeJS.Signals): void {
  if (leader === undefined) return;
  try {
    process.kill(-leader, signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}

/** Whether any of these processes is still running (a zombie counts as gone). */
export function anyAlive(processes: ProcessId[]): boolean {
  return processes.some((found) => startTimeOf(found.pid) === found.start);
}
