import type { Db } from '../db/db.ts';
import { escapeCode, escapeMrkdwn } from '../slack/mrkdwn.ts';
import { allSections, type Block, type Runbook, type Section } from './model.ts';
import type { SearchHit } from './blocks.ts';

/** Plain text of blocks, for the search index. */
function plainOf(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'text':
        out.push(b.plain);
        break;
      case 'code':
        out.push(b.code);
        break;
      case 'list':
        for (const item of b.items) out.push(item.plain, plainOf(item.blocks));
        break;
      case 'table':
        out.push(b.header.join(' '), ...b.rows.map((r) => r.join(' ')));
        break;
      case 'quote':
        out.push(plainOf(b.blocks));
        break;
      case 'rule':
        break;
    }
  }
  return out.filter(Boolean).join('\n');
}

/** Indexes the sections of runbooks whose content changed, and drops runbooks that are gone; one transaction. */
export async function indexRunbooks(db: Db, runbooks: Runbook[]): Promise<number> {
  return db.transaction(async (tx) => {
    const known = new Map((await tx.query<{ runbook_id: string; checksum: string }>('select runbook_id, checksum from runbook_index')).map((r) => [r.runbook_id, r.checksum]));
    const ids = runbooks.map((r) => r.id);
    await tx.query('delete from runbook_sections where not (runbook_id = any($1::text[]))', [ids]);
    await tx.query('delete from runbook_index where not (runbook_id = any($1::text[]))', [ids]);
    let changed = 0;
    for (const r of runbooks) {
      if (known.get(r.id) === r.checksum) continue;
      changed++;
      const sections: Section[] = [r.root, ...allSections(r)];
      await tx.query('delete from runbook_sections where runbook_id = $1', [r.id]);
      // One insert per runbook: arrays unnested server-side keep it to one round trip.
      await tx.query(
        `insert into runbook_sections (runbook_id, section_key, heading, path, line, body)
         select $1, k, h, p, l, b from unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::text[]) as t(k, h, p, l, b)`,
        [r.id, sections.map((s) => s.key), sections.map((s) => s.title), sections.map((s) => s.path.join(' › ')), sections.map((s) => s.line), sections.map((s) => plainOf(s.blocks))],
      );
      await tx.query(
        `insert into runbook_index (runbook_id, checksum) values ($1, $2)
         on conflict (runbook_id) do update set checksum = excluded.checksum, indexed_at = now()`,
        [r.id, r.checksum],
      );
    }
    return changed;
  });
}

/** A query split into what must match and what must not (`-word`, `-"a phrase"`). */
export function splitExclusions(query: string): { include: string; exclude: string[] } {
  const exclude: string[] = [];
  const include = query.replace(/(^|\s)-("[^"]*"|\S+)/g, (_, sp: string, term: string) => {
    exclude.push(term);
    return sp;
  });
  return { include: include.replace(/\s+/g, ' ').trim(), exclude };
}

/**
 * Sections matching words (websearch syntax: "quoted phrases", -not, or), best first. Exclusions apply to the
 * whole query: websearch_to_tsquery binds `-x` to the nearest word, so "a or b -x" would still match a with x.
 */
export async function searchSections(db: Db, query: string, titles: (id: string) => string | undefined, limit = 10): Promise<SearchHit[]> {
  const { include, exclude } = splitExclusions(query);
  const rows = await db.query<{ runbook_id: string; section_key: string; path: string; snippet: string }>(
    `select runbook_id, section_key, path,
            ts_headline('english', body, q, 'StartSel=<<, StopSel=>>, MaxFragments=1, MaxWords=30, MinWords=12') as snippet
       from runbook_sections, websearch_to_tsquery('english', $1) q, websearch_to_tsquery('english', $3) x
      where tsv @@ q and (numnode(x) = 0 or not tsv @@ x)
      order by ts_rank(tsv, q) desc, runbook_id, line
      limit $2`,
    [include, limit, exclude.join(' or ')],
  );
  return rows.map((r) => ({
    runbookId: r.runbook_id,
    runbookTitle: titles(r.runbook_id) ?? r.runbook_id,
    sectionKey: r.section_key,
    path: r.path,
    snippet: highlight(r.snippet),
  }));
}

/**
 * ts_headline marks matches with << >>; they become bold once the rest is escaped. Words with formatting
 * marks (a crontab's `* * *`) go in a code span, so they are shown and copied as written and cannot pair with
 * the bold.
 */
function highlight(snippet: string): string {
  return snippet
    .replace(/\s+/g, ' ')
    .split(/<<|>>/)
    .map((part, i) => (i % 2 ? `*${escapeMrkdwn(part)}*` : literalMarks(part)))
    .join('');
}

const MARKED = /\*|^[_~`]|[_~`]$|`/;

/** Escaped text with each run of words that carry formatting marks in a code span. */
function literalMarks(text: string): string {
  const tokens = text.split(/(\s+)/);
  let out = '';
  for (let i = 0; i < tokens.length; i++) {
    if (!MARKED.test(tokens[i]!) || !tokens[i]!.trim()) {
      out += escapeMrkdwn(tokens[i]!);
      continue;
    }
    let j = i;
    while (j + 2 < tokens.length && MARKED.test(tokens[j + 2]!)) j += 2;
    // A code span cannot hold a backtick; the look-alike keeps the snippet readable.
    out += `\`${escapeCode(tokens.slice(i, j + 1).join('').replace(/`/g, 'ˋ'))}\``;
    i = j;
  }
  return out;
}
