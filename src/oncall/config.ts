import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { IANAZone } from 'luxon';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { WEEKDAYS, type Rotation } from './rotation.ts';

/** The file rotations live in, inside RUNBOOKS_DIR. */
export const ONCALL_FILE = 'oncall.yml';

/** A problem in oncall.yml, at a 1-based line. */
export interface OncallDiagnostic {
  file: string;
  line: number;
  severity: 'error' | 'warning';
  message: string;
}

const USER_ID = /^[UW][A-Z0-9]{2,}$/;

const rotationSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lowercase letters, digits, - or _ (it is used in URLs)'),
    name: z.string().min(1).optional(),
    timezone: z.string().superRefine((zone, ctx) => {
      if (!IANAZone.isValidZone(zone)) ctx.addIssue({ code: 'custom', message: `unknown time zone "${zone}" (use an IANA zone such as Europe/Berlin)` });
    }),
    handoff: z
      .object({
        every: z.enum(['hour', 'day', 'week']),
        interval: z.number().int().min(1).max(52).default(1),
        day: z.enum(WEEKDAYS).optional(),
        time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM on a 24-hour clock, e.g. "09:00"'),
      })
      .strict(),
    start: z.string().regex(/^\d{4}-\d\d-\d\d$/, 'must be a date, YYYY-MM-DD').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'is not a real date'),
    members: z.array(z.string().regex(USER_ID, 'must be a Slack user id such as U0A1B2C3 (not a name or @mention)')).default([]),
    channel: z.string().regex(/^[CG][A-Z0-9]+$/, 'must be a channel id such as C0ONCALL').optional(),
    usergroup: z.string().regex(/^S[A-Z0-9]+$/, 'must be a user group id such as S0ONCALL').optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.handoff.every === 'week' && !r.handoff.day) ctx.addIssue({ code: 'custom', path: ['handoff', 'day'], message: 'weekly handoffs need a day (monday … sunday)' });
    if (r.handoff.every !== 'week' && r.handoff.day) ctx.addIssue({ code: 'custom', path: ['handoff', 'day'], message: `day only applies to weekly handoffs (every: ${r.handoff.every})` });
  });

const fileSchema = z.object({ rotations: z.array(rotationSchema) }).strict();

/** Parses oncall.yml text: the rotations when valid, and every problem with its line. */
export function parseOncall(text: string, file = ONCALL_FILE): { rotations?: Rotation[]; diagnostics: OncallDiagnostic[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const lineAt = (offset: number | undefined) => (offset === undefined ? 1 : lines.linePos(offset).line);
  const diagnostics: OncallDiagnostic[] = doc.errors.map((e) => ({ file, line: lineAt(e.pos[0]), severity: 'error' as const, message: e.message.split('\n')[0]! }));
  if (diagnostics.length) return { diagnostics };
  const raw = (doc.toJS() ?? {}) as { rotations?: Array<{ id?: unknown }> };
  // Duplicate ids are checked on the raw file too, so they are reported alongside schema errors.
  const seen = new Map<string, number>();
  (Array.isArray(raw.rotations) ? raw.rotations : []).forEach((r, i) => {
    if (typeof r?.id !== 'string') return;
    const line = lineAt(nodeAt(doc.contents, ['rotations', i, 'id'])?.range?.[0]);
    const first = seen.get(r.id);
    if (first !== undefined) diagnostics.push({ file, line, severity: 'error', message: `rotations.${i}.id: duplicate rotation id "${r.id}" (first at line ${first})` });
    else seen.set(r.id, line);
  });
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      diagnostics.push({ file, line: lineAt(nodeAt(doc.contents, issue.path)?.range?.[0]), severity: 'error', message: `${issue.path.join('.') || 'file'}: ${issue.message}` });
    }
    return { diagnostics: diagnostics.sort((a, b) => a.line - b.line) };
  }
  const rotations: Rotation[] = parsed.data.rotations.map((r, i) => {
    const line = lineAt(nodeAt(doc.contents, ['rotations', i, 'id'])?.range?.[0]);
    if (!r.members.length) diagnostics.push({ file, line, severity: 'warning', message: `rotation "${r.id}" has no members: nobody is on call` });
    return { ...r, name: r.name ?? r.id };
  });
  diagnostics.sort((a, b) => a.line - b.line);
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  return { rotations, diagnostics };
}

/** The YAML node at a zod issue path, or the deepest one that exists (for its line). */
function nodeAt(node: unknown, path: PropertyKey[]): Node | undefined {
  let current = node as Node | undefined;
  for (const key of path) {
    let next: unknown;
    if (isMap(current)) next = current.items.find((p) => (p.key as { value?: unknown } | null)?.value === key)?.value ?? current.items.find((p) => (p.key as { value?: unknown } | null)?.value === key)?.key;
    else if (isSeq(current)) next = current.items[Number(key)];
    if (!next) return current;
    current = next as Node;
  }
  return current;
}

/** Lints `oncall.yml` in dir (absent: nothing to say). */
export function lintOncall(dir: string): OncallDiagnostic[] {
  const file = join(dir, ONCALL_FILE);
  if (!existsSync(file)) return [];
  return parseOncall(readFileSync(file, 'utf8'), file).diagnostics;
}

/** The loaded rotations, reloaded when oncall.yml changes; a bad file keeps the last good rotations. */
export class Rotations {
  private current: Rotation[] = [];
  private watcher?: FSWatcher;
  private pending?: NodeJS.Timeout;
  private listeners: Array<() => void> = [];

  constructor(readonly dir: string, private readonly log?: Logger) {}

  /** Reads the file; returns false (keeping the previous rotations) when it is invalid. */
  load(): boolean {
    const file = join(this.dir, ONCALL_FILE);
    if (!existsSync(file)) {
      this.current = [];
      return true;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, file }, 'oncall.yml unreadable; keeping the last good rotations');
      return false;
    }
    const { rotations, diagnostics } = parseOncall(text, file);
    if (!rotations) {
      this.log?.warn({ problems: diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`) }, 'oncall.yml is invalid; keeping the last good rotations');
      return false;
    }
    this.current = rotations;
    for (const l of this.listeners) l();
    return true;
  }

  all(): Rotation[] {
    return this.current;
  }

  get(id: string): Rotation | undefined {
    return this.current.find((r) => r.id === id);
  }

  /** Called after each successful load. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Watches the folder for changes to oncall.yml (editors replace files, so the folder is watched). */
  watch(): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.dir, (_event, name) => {
        if (name && name !== ONCALL_FILE) return;
        clearTimeout(this.pending);
        this.pending = setTimeout(() => this.load(), 100);
      });
      this.watcher.unref();
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'cannot watch oncall.yml; changes apply at the next start');
    }
  }

  close(): void {
    clearTimeout(this.pending);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
