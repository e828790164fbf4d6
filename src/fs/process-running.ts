import { readFileSync } from 'node:fs';

/**
 * Whether a process is still running. A zombie (killed, not yet reaped by its parent) still has
 * its pid but holds nothing any more: it counts as gone.
 */
export function isProcessRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** /proc/<pid>/stat is "pid (comm) S ...": the state letter follows the last ')'. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  } catch (error) {
    // Gone between the two looks; where there is no /proc at all, the signal's answer stands.
    return process.platform === 'linux' && (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
