/** A time budget written in the runbook: "(< 5 minutes)" is a limit, "**Time Required**: 30 minutes" an estimate. */
export interface Budget {
  minutes: number;
  kind: 'limit' | 'estimate';
  /** As written, for display. */
  text: string;
}

export type Priority = 'critical' | 'high' | 'medium' | 'low';

/** Where something sits in its file, for lint messages and search results. */
export interface Located {
  /** 1-based line in the source file. */
  line: number;
}

/** Inline text in both forms: Slack mrkdwn (escaped, ready to send) and plain (for search, keys and labels). */
export interface Inline {
  mrkdwn: string;
  plain: string;
}

export type Block =
  | ({ kind: 'text' } & Inline & Located)
  | ({ kind: 'code'; lang?: string; code: string } & Located)
  | ({ kind: 'list'; ordered: boolean; start: number; items: ListItem[] } & Located)
  | ({ kind: 'table'; header: string[]; rows: string[][] } & Located)
  | ({ kind: 'quote'; blocks: Block[] } & Located)
  | ({ kind: 'rule' } & Located);

export interface ListItem extends Inline, Located {
  task?: { checked: boolean; key: string };
  /** Nested content: sub-lists, code, further paragraphs. */
  blocks: Block[];
  budget?: Budget;
  priority?: Priority;
}

export interface Section extends Located {
  /** Slug of the heading path, unique in the runbook. */
  key: string;
  title: string;
  /** Heading depth (1–6); 0 for the runbook's root. */
  depth: number;
  /** Titles from the top-level section down to this one. */
  path: string[];
  blocks: Block[];
  children: Section[];
  budget?: Budget;
  priority?: Priority;
}

/** A `- [ ]` / `- [x]` item, with the key its state is stored under. */
export interface TaskItem extends Inline, Located {
  key: string;
  /** Whether the file itself has it ticked. */
  checked: boolean;
  /** Key of the section it belongs to ('' for the root). */
  sectionKey: string;
  sectionPath: string[];
}

export interface FrontMatter {
  title?: string;
  kind?: string;
  owner?: string;
  tags?: string[];
  /** `owner`: only the ticker and admins may untick a checklist item. */
  lock?: 'owner' | 'none';
  /** Go/no-go gates for /readiness: gate name → section keys, section titles or item keys that must all be ticked. */
  gates?: Record<string, string[]>;
  /** /readiness weights by section key: each item of that section (and below) counts this many times. */
  weights?: Record<string, number>;
  [key: string]: unknown;
}

export interface Diagnostic extends Located {
  severity: 'error' | 'warning';
  message: string;
}

export interface Runbook {
  /** Path below RUNBOOKS_DIR without `.md`. */
  id: string;
  /** Path of the source file, as given to the loader. */
  file: string;
  title: string;
  meta: FrontMatter;
  /** The root section (depth 0): text before the first heading, and every section as a child. */
  root: Section;
  tasks: TaskItem[];
  diagnostics: Diagnostic[];
  /** The Markdown after mojibake repair. */
  source: string;
  /** sha256 of source, to skip re-indexing unchanged runbooks. */
  checksum: string;
}

/** Every section of the runbook in document order, root excluded. */
export function allSections(runbook: Runbook): Section[] {
  const out: Section[] = [];
  const walk = (s: Section) => {
    for (const c of s.children) {
      out.push(c);
      walk(c);
    }
  };
  walk(runbook.root);
  return out;
}
