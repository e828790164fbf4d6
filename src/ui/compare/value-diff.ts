/** A structural diff of two JSON values: the paths where they differ, and how. */
export type ValueChange =
  | { path: string; kind: 'added'; after: unknown }
  | { path: string; kind: 'removed'; before: unknown }
  | { path: string; kind: 'changed'; before: unknown; after: unknown };

/** Past this many changes the rest are left out (a wholesale change says enough). */
const MAX_CHANGES = 200;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const childPath = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

export function diffValues(before: unknown, after: unknown, path = '$', changes: ValueChange[] = []): ValueChange[] {
  if (changes.length >= MAX_CHANGES) return changes;
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    for (let index = 0; index < length; index++) {
      const at = childPath(path, index);
      if (index >= before.length) changes.push({ path: at, kind: 'added', after: after[index] });
      else if (index >= after.length) changes.push({ path: at, kind: 'removed', before: before[index] });
      else diffValues(before[index], after[index], at, changes);
    }
    return changes;
  }
  if (isObject(before) && isObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const at = childPath(path, key);
      if (!(key in before)) changes.push({ path: at, kind: 'added', after: after[key] });
      else if (!(key in after)) changes.push({ path: at, kind: 'removed', before: before[key] });
      else diffValues(before[key], after[key], at, changes);
    }
    return changes;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) changes.push({ path, kind: 'changed', before, after });
  return changes;
}
