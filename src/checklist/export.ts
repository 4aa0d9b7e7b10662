import type { Runbook } from '../runbooks/model.ts';
import { plainTime } from '../slack/dates.ts';
import { nameAndId } from '../slack/names.ts';
import { groupsOf, RUNBOOK_ACTOR, type Instance, type ItemState } from './domain.ts';

const CSV_COLUMNS = ['section', 'item', 'key', 'checked', 'checked_by', 'checked_at', 'owner', 'due_at', 'due'];

/** RFC 4180 quoting; a leading =, +, - or @ is prefixed so spreadsheets do not run it as a formula. */
function csvCell(value: string): string {
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Who ticked an item, for an export: "bob (UBOB)", or "in the runbook" for items ticked in the file. */
function tickedBy(s: ItemState | undefined, names: Map<string, string>): string {
  return !s?.checkedBy || s.checkedBy === RUNBOOK_ACTOR ? 'in the runbook' : nameAndId(s.checkedBy, names);
}

/** A due rule as a cell: "+3d" would read as a formula (and be quoted); "now+3d" says the same plainly. */
function dueRule(text: string | undefined): string {
  return text ? text.replace(/^([+-])/, 'now$1') : '';
}

/** One row per item: where it is, its text, and its state with who and when (times in ISO 8601, for spreadsheets). */
export function exportCsv(runbook: Runbook, state: Map<string, ItemState>, names: Map<string, string> = new Map()): string {
  const rows = [CSV_COLUMNS];
  for (const group of groupsOf(runbook)) {
    for (const item of group.items) {
      const s = state.get(item.key);
      const checked = s ? s.checked : item.checked;
      rows.push([
        group.title,
        item.plain.replace(/\s+/g, ' '),
        item.key,
        checked ? 'yes' : 'no',
        checked ? tickedBy(s, names) : '',
        // Items ticked in the file have no real time: the row's creation time would be a fake one.
        checked && s?.checkedAt && s.checkedBy !== RUNBOOK_ACTOR ? s.checkedAt.toISOString() : '',
        s?.owner ? nameAndId(s.owner, names) : '',
        s?.dueAt?.toISOString() ?? '',
        dueRule(s?.dueText),
      ]);
    }
  }
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

/** The checklist as Markdown task lists, ready to paste into a launch report or commit back. */
export function exportMarkdown(instance: Instance, runbook: Runbook, state: Map<string, ItemState>, names: Map<string, string> = new Map()): string {
  const out = [`# ${instance.name}`, '', `Checklist \`${instance.id}\` from runbook \`${runbook.id}\`${instance.launchDate ? `, launch ${instance.launchDate}` : ''}.`];
  for (const group of groupsOf(runbook)) {
    out.push('', `## ${group.title}`, '');
    for (const item of group.items) {
      const s = state.get(item.key);
      const checked = s ? s.checked : item.checked;
      const notes = [
        checked ? (s?.checkedBy && s.checkedBy !== RUNBOOK_ACTOR ? `ticked by ${nameAndId(s.checkedBy, names)}${s.checkedAt ? ` at ${plainTime(s.checkedAt)}` : ''}` : 'ticked in the runbook') : '',
        s?.owner ? `owner ${nameAndId(s.owner, names)}` : '',
        s?.dueAt && !checked ? `due ${plainTime(s.dueAt)}` : '',
      ].filter(Boolean);
      out.push(`- [${checked ? 'x' : ' '}] ${item.plain.replace(/\s+/g, ' ')}${notes.length ? ` _(${notes.join('; ')})_` : ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}
