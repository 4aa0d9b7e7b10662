import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Logger } from '../log.ts';
import { allSections, type Runbook, type Section } from './model.ts';
import { parseRunbook } from './parse.ts';

/** Every `.md` file below dir, recursively, sorted; dot-folders and node_modules are skipped. */
export function markdownFiles(dir: string): string[] {
  return walk(dir).files.sort();
}

/** dir and every folder below it that markdownFiles looks in. */
function runbookFolders(dir: string): string[] {
  return walk(dir).folders;
}

function walk(dir: string): { files: string[]; folders: string[] } {
  const files: string[] = [];
  const folders: string[] = [];
  const visit = (d: string) => {
    folders.push(d);
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(d, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile() && entry.name.toLowerCase().endsWith('.md')) files.push(path);
    }
  };
  visit(dir);
  return { files, folders };
}

/** A runbook's id: its path below the runbooks folder, with `/` separators and no `.md`. */
export function runbookId(dir: string, file: string): string {
  return relative(dir, file).split(sep).join('/').replace(/\.md$/i, '');
}

export type Resolution = { runbook: Runbook } | { suggestions: Runbook[] };

/** The loaded runbooks, kept current as files change. Emits `change` with the ids reloaded. */
export class RunbookLibrary extends EventEmitter<{ change: [ids: string[]] }> {
  private byId = new Map<string, Runbook>();
  private watchers = new Map<string, FSWatcher>();
  private watching = false;
  private pending?: NodeJS.Timeout;
  /** Front-matter errors already logged, so a reload of other files does not repeat them. */
  private logged = new Set<string>();
  loaded = false;

  constructor(readonly dir: string, private readonly log?: Logger) {
    super();
  }

  /** Reads and parses every runbook; returns them in id order. */
  load(): Runbook[] {
    const next = new Map<string, Runbook>();
    for (const file of markdownFiles(this.dir)) {
      const id = runbookId(this.dir, file);
      const runbook = parseRunbook(id, file, readFileSync(file, 'utf8'));
      const repaired = runbook.diagnostics.filter((d) => d.message.startsWith('mojibake'));
      // One line per file: the details are lint's job (`preflight lint --fix` rewrites the file).
      if (repaired.length) this.log?.warn({ file, repairs: repaired.length, firstLine: repaired[0]!.line }, 'repaired mojibake (UTF-8 read as Mac Roman) while loading; run preflight lint --fix');
      for (const d of runbook.diagnostics.filter((d) => d.severity === 'error' && d.message.startsWith('front matter'))) {
        const key = `${file}:${d.line}:${d.message}`;
        if (this.logged.has(key)) continue;
        this.logged.add(key);
        this.log?.error({ file, line: d.line, problem: d.message }, 'runbook served without its front matter; run preflight lint');
      }
      next.set(id, runbook);
    }
    this.byId = next;
    this.loaded = true;
    return this.all();
  }

  all(): Runbook[] {
    return [...this.byId.values()];
  }

  get(id: string): Runbook | undefined {
    return this.byId.get(id);
  }

  /** Finds a runbook by id, case-insensitive id, file name, unique id prefix or title; else the closest few. */
  resolve(query: string): Resolution {
    const q = query.trim().replace(/\.md$/i, '');
    const exact = this.byId.get(q);
    if (exact) return { runbook: exact };
    const lower = q.toLowerCase();
    const all = this.all();
    const tiers: Array<(r: Runbook) => boolean> = [
      (r) => r.id.toLowerCase() === lower,
      (r) => r.id.toLowerCase().endsWith(`/${lower}`),
      (r) => r.title.toLowerCase() === lower,
      (r) => r.id.toLowerCase().startsWith(lower) || (r.id.split('/').pop() ?? '').toLowerCase().startsWith(lower),
      (r) => r.title.toLowerCase().startsWith(lower),
    ];
    for (const tier of tiers) {
      const hits = all.filter(tier);
      if (hits.length === 1) return { runbook: hits[0]! };
      if (hits.length > 1) return { suggestions: hits.slice(0, 5) };
    }
    return { suggestions: closest(lower, all, (r) => [r.id, r.id.split('/').pop() ?? '', r.title]) };
  }

  /** Reloads on any change below dir, debounced; a bad file is logged, never fatal. */
  watch(): void {
    this.watching = true;
    this.watchFolders();
  }

  /**
   * One watcher per folder, kept in step with the folders on disk. Not `recursive: true`: on Linux, Node's
   * recursive watch follows each file's inode, so a file replaced by rename (git checkout, an editor's atomic
   * save) is never seen to change again; a folder's own watcher sees every write, create, rename and delete in it.
   */
  private watchFolders(): void {
    let folders: Set<string>;
    try {
      folders = new Set(runbookFolders(this.dir));
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'runbook folders not readable; watching what was there');
      return;
    }
    for (const [folder, watcher] of this.watchers) {
      if (folders.has(folder)) continue;
      watcher.close();
      this.watchers.delete(folder);
    }
    for (const folder of folders) {
      if (this.watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, () => {
          clearTimeout(this.pending);
          this.pending = setTimeout(() => this.reload(), 150);
        });
        watcher.on('error', (err) => {
          this.log?.warn({ err: err.message, folder }, 'runbook watcher failed');
          watcher.close();
          this.watchers.delete(folder);
        });
        this.watchers.set(folder, watcher);
      } catch (err) {
        // The folder went away between listing and watching; the next change lists again.
        this.log?.warn({ err: (err as Error).message, folder }, 'runbook folder not watched');
      }
    }
  }

  private reload(): void {
    // Folders first, so a file written into a new folder after this load is still seen.
    if (this.watching) this.watchFolders();
    try {
      const before = new Map(this.byId);
      this.load();
      const changed = [...new Set([...before.keys(), ...this.byId.keys()])].filter((id) => before.get(id)?.checksum !== this.byId.get(id)?.checksum);
      if (changed.length) {
        this.log?.info({ changed }, 'runbooks reloaded');
        this.emit('change', changed);
      }
    } catch (err) {
      this.log?.error({ err }, 'runbook reload failed; keeping the previous set');
    }
  }

  close(): void {
    this.watching = false;
    clearTimeout(this.pending);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}

/** Finds a section by key, number (1-based, document order), exact title or title words. */
export function findSection(runbook: Runbook, query: string): { section: Section } | { suggestions: Section[] } {
  const sections = allSections(runbook);
  const q = query.trim().toLowerCase();
  const n = Number(q);
  if (Number.isInteger(n) && n >= 1 && n <= sections.length) return { section: sections[n - 1]! };
  const tiers: Array<(s: Section) => boolean> = [
    (s) => s.key === q,
    (s) => s.title.toLowerCase() === q,
    (s) => normalise(s.title) === normalise(q),
    (s) => normalise(s.title).includes(normalise(q)),
    (s) => normalise(q).split(' ').every((w) => normalise(s.path.join(' ')).includes(w)),
  ];
  for (const tier of tiers) {
    const hits = sections.filter(tier);
    // The shallowest match wins: "rollback" means the Rollback Plan, not every step below it.
    if (hits.length) {
      const depth = Math.min(...hits.map((h) => h.depth));
      const top = hits.filter((h) => h.depth === depth);
      if (top.length === 1) return { section: top[0]! };
      return { suggestions: top.slice(0, 5) };
    }
  }
  return { suggestions: closest(q, sections, (s) => [s.title]) };
}

function normalise(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/** The few candidates whose names are nearest to query (edit distance over the best-matching name). */
export function closest<T>(query: string, items: T[], names: (item: T) => string[], limit = 3): T[] {
  return items
    .map((item) => ({ item, d: Math.min(...names(item).map((n) => distance(query, n.toLowerCase()))) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, limit)
    .map((x) => x.item);
}

/** Levenshtein distance, with the cost of a shared prefix/substring discounted so "backup" finds "backup-strategy". */
function distance(a: string, b: string): number {
  if (b.includes(a)) return b.length - a.length === 0 ? 0 : 1;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
