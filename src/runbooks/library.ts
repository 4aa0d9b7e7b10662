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

/** One runbook; or, when none matches, the closest few; or, when several match equally, all of them (`ambiguous`). */
export type Resolution = { runbook: Runbook } | { suggestions: Runbook[]; ambiguous?: boolean };

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
      if (hits.length > 1) return { suggestions: hits.slice(0, 10), ambiguous: true };
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

const numberCache = new WeakMap<Runbook, Map<string, string>>();

/** Outline numbers of a runbook's sections by key: "2" for the second top-level section, "2.3" for its third child. */
export function sectionNumbers(runbook: Runbook): Map<string, string> {
  let numbers = numberCache.get(runbook);
  if (numbers) return numbers;
  numbers = new Map();
  const walk = (s: Section, prefix: string) => s.children.forEach((c, i) => {
    const n = `${prefix}${i + 1}`;
    numbers!.set(c.key, n);
    walk(c, `${n}.`);
  });
  walk(runbook.root, '');
  numberCache.set(runbook, numbers);
  return numbers;
}

/** Finds a section by its outline number (as listed), key, exact title or title words; else the closest few. */
export function findSection(runbook: Runbook, query: string): { section: Section } | { suggestions: Section[]; ambiguous?: boolean } {
  const sections = allSections(runbook);
  const q = query.trim().toLowerCase();
  if (/^\d+(\.\d+)*\.?$/.test(q)) {
    const numbers = sectionNumbers(runbook);
    const hit = sections.find((s) => numbers.get(s.key) === q.replace(/\.$/, ''));
    if (hit) return { section: hit };
  }
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
      return { suggestions: top.slice(0, 5), ambiguous: true };
    }
  }
  return { suggestions: closest(q, sections, (s) => [s.title]) };
}

function normalise(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/**
 * The few candidates whose names are nearest to query by edit distance, comparing the query with each whole
 * name and with each run of as many words of it, so "rolback" finds "Rollback Plan"; candidates too far off
 * to be a typo are left out.
 */
export function closest<T>(query: string, items: T[], names: (item: T) => string[], limit = 3): T[] {
  const q = normalise(query);
  if (!q) return [];
  const qWords = q.split(' ').length;
  const allowed = Math.max(1, Math.floor(q.length / 3));
  return items
    .map((item) => ({ item, d: Math.min(...names(item).map((n) => nameDistance(q, qWords, n))) }))
    .filter((x) => x.d <= allowed)
    .sort((a, b) => a.d - b.d)
    .slice(0, limit)
    .map((x) => x.item);
}

function nameDistance(q: string, qWords: number, name: string): number {
  const n = normalise(name);
  if (!n) return Infinity;
  if (n === q) return 0;
  // A name that holds the query whole (a prefix, a word of a title) is one step away.
  if (n.includes(q)) return 0.5;
  const words = n.split(' ');
  let best = levenshtein(q, n);
  for (let i = 0; i + qWords <= words.length; i++) best = Math.min(best, levenshtein(q, words.slice(i, i + qWords).join(' ')) + 0.25);
  return best;
}

/** Levenshtein distance. */
export function levenshtein(a: string, b: string): number {
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

const vocabularies = new WeakMap<Runbook, Set<string>>();

/** Every word of a runbook's titles and text, lower case, for spelling suggestions. */
function vocabulary(runbook: Runbook): Set<string> {
  let words = vocabularies.get(runbook);
  if (!words) {
    words = new Set(runbook.source.toLowerCase().match(/\p{L}[\p{L}\p{N}]{2,}/gu) ?? []);
    vocabularies.set(runbook, words);
  }
  return words;
}

/**
 * The query with each word that appears in no runbook replaced by the nearest word that does (one edit for
 * short words, two for longer), or undefined when no word was changed.
 */
export function respell(query: string, runbooks: Runbook[]): string | undefined {
  const known = runbooks.map(vocabulary);
  const has = (w: string) => known.some((v) => v.has(w));
  let changed = false;
  const out = query.replace(/(^|[\s"(-])(\p{L}{3,})/gu, (whole, lead: string, word: string) => {
    const w = word.toLowerCase();
    if (w === 'or' || has(w)) return whole;
    const max = w.length >= 6 ? 2 : 1;
    let best: string | undefined;
    let bestD = max + 1;
    for (const v of known) for (const candidate of v) {
      if (Math.abs(candidate.length - w.length) > max) continue;
      const d = levenshtein(w, candidate);
      if (d < bestD || (d === bestD && best !== undefined && candidate < best)) {
        best = candidate;
        bestD = d;
      }
    }
    if (!best) return whole;
    changed = true;
    return `${lead}${best}`;
  });
  return changed ? out : undefined;
}
