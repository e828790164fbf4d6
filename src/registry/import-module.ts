/**
 * How task modules are imported. Node's own `import()` by default; the runner started from its
 * startup snapshot replaces it, because code restored from a snapshot has no `import()` of its own.
 */
type Importer = (url: string) => Promise<unknown>;

let importer: Importer = (url) => import(url);

export function useModuleImporter(replacement: Importer): void {
  importer = replacement;
}

export function importModule(url: string): Promise<unknown> {
  return importer(url);
}
