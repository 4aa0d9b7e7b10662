// The pure rules of /runbook ask: how a question becomes a search, and what of a model's answer may be shown.

/**
 * Ops words people use for the same thing. A question naming one member searches for all of them, so
 * "how do I revert the release" finds "Rollback Plan" and "fix" finds "Mitigation". Phrases are word runs.
 */
export const SYNONYMS: readonly (readonly string[])[] = [
  ['roll back', 'rollback', 'rolling back', 'revert', 'undo', 'downgrade', 'previous version', 'go back', 'bad release', 'bad deploy', 'breaks production', 'broke production'],
  ['restore', 'backup', 'backups', 'recover', 'recovery', 'disaster', 'pg_restore', 'snapshot', 'dump', 'dumps', 'pg_dump'],
  ['secret', 'secrets', 'password', 'passwords', 'credential', 'credentials', 'jwt', 'token', 'tokens'],
  ['fix', 'fixing', 'what do i do', 'what should i do', 'what to do', 'get more', 'should i raise', 'should i increase', 'rotate', 'how do i stop', 'mitigate', 'mitigation', 'resolve', 'remediate', 'remedy', 'solve', 'repair', 'workaround', 'stop it'],
  ['diagnose', 'diagnosis', 'debug', 'investigate', 'troubleshoot', 'root cause', 'find out why', 'figure out why', 'what is wrong', 'whats wrong'],
  ['impact', 'affect', 'affected', 'effect', 'consequence', 'consequences', 'what happens', 'what breaks', 'go wrong', 'lose data', 'data loss', 'data gone', 'is affected', 'what is the impact'],
  ['meaning', 'mean', 'means', 'what is this alert', 'alert for', 'why did', 'fire', 'fires', 'firing', 'triggered'],
  ['deploy', 'deployment', 'release', 'launch', 'go live', 'ship'],
  ['disk', 'disks', 'storage', 'filesystem', 'file system', 'space', 'volume', 'full'],
  ['certificate', 'certificates', 'cert', 'certs', 'ssl', 'tls', 'expire', 'expiry', 'expiring'],
  ['memory', 'oom', 'ram'],
  ['contact', 'contacts', 'escalate', 'who do i call', 'who to call', 'on-call', 'oncall', 'support', 'dba'],
  ['monitor', 'monitoring', 'metrics', 'dashboard', 'dashboards', 'observability', 'sentry'],
  ['load test', 'load testing', 'stress test', 'performance test', 'k6', 'benchmark'],
  ['database', 'db', 'postgres', 'postgresql'],
  ['leader', 'leaderless', 'election'],
  ['slow', 'latency', 'sluggish'],
  // "down" is an English stop word: the index stores it as "offline" in headings and runbook ids (migration 0007).
  ['down', 'offline', 'not running', 'unavailable'],
  ['config', 'configuration', 'configured', 'misconfigured'],
  ['autoscaler', 'autoscaling', 'hpa', 'horizontal pod autoscaler'],
];

// Question words the English text-search dictionary keeps but that say nothing about the answer.
const FILLER = new Set(['how', 'what', 'whats', 'why', 'when', 'where', 'which', 'who', 'do', 'does', 'did', 'should', 'can', 'could', 'would', 'need', 'happen', 'happens', 'get', 'make', 'we', 'i', 'us', 'our', 'there', 'someone', 'anything', 'thing', 'things', 'way', 'please', 'tell', 'me', 'show', 'know', 'use', 'using', 'it', 'has', 'have', 'is', 'are', 'yet', 'still', 'keep', 'keeps', 'about']);

/** Lower-case words of text (letters and digits), camelCase split, for query building. */
export function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** A concept: what it matches (all its synonyms), and the words the user wrote (their rarity sets its weight). */
export interface Concept {
  match: string;
  own: string;
}

/**
 * What a question searches for: concepts, each a to_tsquery text matching any of its word runs. A word is a
 * concept of its own; with `synonyms`, every synonym group the question names is one concept (all members),
 * and the words of the phrase that named it are not counted again.
 */
export function questionConcepts(question: string, opts: { synonyms: boolean } = { synonyms: true }): Concept[] {
  const own = words(question);
  const used = new Array<boolean>(own.length).fill(false);
  const concepts: Concept[] = [];
  if (opts.synonyms) {
    for (const group of SYNONYMS) {
      const named: string[][] = [];
      for (const member of group) {
        const m = words(member);
        for (let i = 0; i + m.length <= own.length; i++) {
          if (m.every((w, j) => own[i + j] === w)) {
            named.push(m);
            for (let j = 0; j < m.length; j++) used[i + j] = true;
          }
        }
      }
      if (named.length) concepts.push({ match: anyOfQuery(group.map(words)), own: anyOfQuery(named) });
    }
  }
  own.forEach((w, i) => {
    if (!used[i] && !FILLER.has(w)) concepts.push({ match: w, own: w });
  });
  const seen = new Set<string>();
  return concepts.filter((c) => c.match && !seen.has(c.match) && seen.add(c.match));
}

/**
 * A to_tsquery text that matches any of the runs ("roll back" as a phrase); words are [a-z0-9] only, so the
 * text cannot carry tsquery syntax. Empty when there is nothing to search for.
 */
export function anyOfQuery(runs: string[][]): string {
  const parts = new Set<string>();
  for (const run of runs) {
    const clean = run.filter((w) => /^[a-z0-9]+$/.test(w));
    if (clean.length) parts.add(clean.length > 1 ? `(${clean.join(' <-> ')})` : clean[0]!);
  }
  return [...parts].join(' | ');
}

// ───────────────────────────── what of a model's answer may be shown ─────────────────────────────

/** A retrieved section as the model sees it, labelled S1, S2… so citations can be checked. */
export interface SourceSection {
  label: string;
  runbookId: string;
  runbookTitle: string;
  sectionKey: string;
  /** Heading path, "Rollback Plan" or "Diagnosis › Slow disk". */
  path: string;
  /** The section's plain text (its code included). */
  text: string;
  /** Its code blocks exactly as the runbook has them. */
  code: string[];
}

/** What the model returns (validated by zod in answer.ts). */
export interface ModelAnswer {
  answer: string;
  citations: string[];
  commands: Array<{ source: string; command: string }>;
}

/** A command to show: the runbook's own line(s), and the section they come from. */
export interface VerifiedCommand {
  label: string;
  text: string;
}

/** The parts of a model answer that survive checking against the retrieved sections. */
export interface CheckedAnswer {
  answer: string;
  cited: SourceSection[];
  commands: VerifiedCommand[];
  /** Citations that named no retrieved section. */
  droppedCitations: string[];
  /** Commands (from the list or the prose) that are not in the runbook, and so not shown. */
  droppedCommands: number;
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * Finds command in a section's code: whole lines that, whitespace aside, equal it. Returns those lines as the
 * runbook has them, or undefined: what is shown is always the runbook's text, never the model's.
 */
export function findInCode(command: string, code: string[]): string | undefined {
  const wanted = command.split('\n').map(squash).filter(Boolean);
  if (!wanted.length) return undefined;
  for (const block of code) {
    const lines = block.split('\n');
    for (let i = 0; i + wanted.length <= lines.length; i++) {
      if (wanted.every((w, j) => squash(lines[i + j]!) === w)) return lines.slice(i, i + wanted.length).map((l) => l.trim()).join('\n');
    }
  }
  return undefined;
}

/** Accepts "S2", "[S2]", "s2" or a section's runbook id + key; anything else names no retrieved section. */
function resolveCitation(ref: string, sources: SourceSection[]): SourceSection | undefined {
  const label = /^\[?\s*(s\d+)\s*\]?$/i.exec(ref.trim())?.[1]?.toUpperCase();
  if (label) return sources.find((s) => s.label === label);
  return sources.find((s) => ref.trim() === `${s.runbookId}#${s.sectionKey}` || ref.trim() === `${s.runbookId} ${s.sectionKey}`);
}

/**
 * Checks a model's answer against what it was given: citations must name a retrieved section; commands must
 * be in a retrieved section's code (shown as the runbook has them); code in the prose that is not in the
 * runbooks is replaced by a note, so no invented command reaches Slack.
 */
export function checkAnswer(model: ModelAnswer, sources: SourceSection[]): CheckedAnswer {
  const cited: SourceSection[] = [];
  const droppedCitations: string[] = [];
  for (const ref of model.citations) {
    const s = resolveCitation(ref, sources);
    if (!s) droppedCitations.push(ref);
    else if (!cited.includes(s)) cited.push(s);
  }
  const allCode = sources.flatMap((s) => s.code);
  const commands: VerifiedCommand[] = [];
  let droppedCommands = 0;
  for (const c of model.commands) {
    const from = resolveCitation(c.source, sources);
    // The section named first, then any retrieved section: the model may mislabel where a real command is.
    const text = (from && findInCode(c.command, from.code)) ?? findInCode(c.command, allCode);
    const owner = from && findInCode(c.command, from.code) ? from : sources.find((s) => findInCode(c.command, s.code));
    if (!text || !owner) droppedCommands++;
    else if (!commands.some((v) => v.text === text)) commands.push({ label: owner.label, text });
  }
  const inRunbook = (code: string) => findInCode(code, allCode) !== undefined || sources.some((s) => squash(s.text).includes(squash(code)));
  const NOTE = '(a command that is not in the runbook, not shown)';
  let answer = model.answer.replace(/```[^\n]*\n?([\s\S]*?)```/g, (whole, code: string) => {
    if (findInCode(code, allCode)) return whole;
    droppedCommands++;
    return NOTE;
  });
  answer = answer.replace(/`([^`\n]+)`/g, (whole, code: string) => {
    if (inRunbook(code)) return whole;
    droppedCommands++;
    return NOTE;
  });
  return { answer: answer.trim(), cited, commands, droppedCitations, droppedCommands };
}

/** Secret values from the environment, and anything shaped like a Slack or OpenAI token, become [redacted]. */
export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 6) out = out.split(s).join('[redacted]');
  return out.replace(/\bxox[abpr]-[A-Za-z0-9-]+/g, '[redacted]').replace(/\bxapp-[A-Za-z0-9-]+/g, '[redacted]').replace(/\bsk-[A-Za-z0-9_-]{12,}/g, '[redacted]');
}
