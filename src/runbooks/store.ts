import type { Db } from '../db/db.ts';
import { escapeMrkdwn } from '../slack/mrkdwn.ts';
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

/** Sections matching words (websearch syntax: "quoted phrases", -not, or), best first. */
export async function searchSections(db: Db, query: string, titles: (id: string) => string | undefined, limit = 10): Promise<SearchHit[]> {
  const rows = await db.query<{ runbook_id: string; section_key: string; path: string; snippet: string }>(
    `select runbook_id, section_key, path,
            ts_headline('english', body, q, 'StartSel=<<, StopSel=>>, MaxFragments=1, MaxWords=30, MinWords=12') as snippet
       from runbook_sections, websearch_to_tsquery('english', $1) q
      where tsv @@ q
      order by ts_rank(tsv, q) desc, runbook_id, line
      limit $2`,
    [query, limit],
  );
  return rows.map((r) => ({
    runbookId: r.runbook_id,
    runbookTitle: titles(r.runbook_id) ?? r.runbook_id,
    sectionKey: r.section_key,
    path: r.path,
    snippet: highlight(r.snippet),
  }));
}

/** ts_headline marks matches with << >>; they become bold once the rest is escaped. */
function highlight(snippet: string): string {
  return snippet
    .replace(/\s+/g, ' ')
    .split(/<<|>>/)
    .map((part, i) => {
      // Formatting marks in a snippet would pair up with the highlight's bold; they are shown as look-alikes.
      const escaped = escapeMrkdwn(part.replace(/\*/g, '∗').replace(/`/g, 'ˋ'));
      return i % 2 ? `*${escaped}*` : escaped;
    })
    .join('');
}
