import type { Runbook } from '../runbooks/model.ts';
import { groupsOf, RUNBOOK_ACTOR, type Instance, type ItemState } from './domain.ts';

const CSV_COLUMNS = ['section', 'item', 'key', 'checked', 'checked_by', 'checked_at', 'owner', 'due_at', 'due'];

/** RFC 4180 quoting; a leading =, +, - or @ is prefixed so spreadsheets do not run it as a formula. */
function csvCell(value: string): string {
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One row per item: where it is, its text, and its state with who and when. */
export function exportCsv(runbook: Runbook, state: Map<string, ItemState>): string {
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
        checked ? (s?.checkedBy ?? RUNBOOK_ACTOR) : '',
        checked && s?.checkedAt ? s.checkedAt.toISOString() : '',
        s?.owner ?? '',
        s?.dueAt?.toISOString() ?? '',
        s?.dueText ?? '',
      ]);
    }
  }
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

/** The checklist as Markdown task lists, ready to paste into a launch report or commit back. */
export function exportMarkdown(instance: Instance, runbook: Runbook, state: Map<string, ItemState>): string {
  const out = [`# ${instance.name}`, '', `Checklist \`${instance.id}\` from runbook \`${runbook.id}\`${instance.launchDate ? `, launch ${instance.launchDate}` : ''}.`];
  for (const group of groupsOf(runbook)) {
    out.push('', `## ${group.title}`, '');
    for (const item of group.items) {
      const s = state.get(item.key);
      const checked = s ? s.checked : item.checked;
      const notes = [
        checked && s?.checkedBy && s.checkedBy !== RUNBOOK_ACTOR ? `ticked by ${s.checkedBy}${s.checkedAt ? ` at ${s.checkedAt.toISOString()}` : ''}` : '',
        s?.owner ? `owner ${s.owner}` : '',
        s?.dueAt ? `due ${s.dueAt.toISOString()}` : '',
      ].filter(Boolean);
      out.push(`- [${checked ? 'x' : ' '}] ${item.plain.replace(/\s+/g, ' ')}${notes.length ? ` _(${notes.join('; ')})_` : ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}
