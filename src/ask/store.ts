import type { Db } from '../db/db.ts';
import { questionConcepts } from './domain.ts';

/** A section ranked for a question. */
export interface Retrieved {
  runbookId: string;
  sectionKey: string;
  heading: string;
  path: string;
  body: string;
  score: number;
}

/** Which of retrieval's improvements are on; the bench measures each (all on is what ask uses). */
export interface RetrievalOptions {
  /** Scores each of the question's words by its rarity (idf) and where it matches: heading, heading path and runbook, body. Off: ts_rank over /runbook search's vector, any word matching. */
  fields: boolean;
  /** Bonus when the whole question matches as websearch_to_tsquery (quoted phrases, -not, or). */
  websearch: boolean;
  /** pg_trgm word_similarity of the heading path to the question. */
  trigram: boolean;
  /** Ops synonyms (roll back/revert, restore/backup, fix/mitigation…) as one concept each. */
  synonyms: boolean;
}

export const FULL_RETRIEVAL: RetrievalOptions = { fields: true, websearch: true, trigram: true, synonyms: true };

/** How much a concept counts where it matches: the section's own heading, its path and runbook, its body. */
const FIELD_WEIGHTS = { heading: 1.0, path: 0.8, body: 0.35 };

const trgmSchemas = new WeakMap<Db, Promise<string | undefined>>();

/** Where pg_trgm is installed (quoted schema name), or undefined when it is not; asked once per Db. */
export function trigramSchema(db: Db): Promise<string | undefined> {
  let found = trgmSchemas.get(db);
  if (!found) {
    found = db
      .query<{ nspname: string }>(`select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`)
      .then((rows) => (rows[0] ? `"${rows[0].nspname.replace(/"/g, '""')}"` : undefined))
      .catch(() => undefined);
    trgmSchemas.set(db, found);
  }
  return found;
}

/** A concept's query restricted to one weight of ask_tsv (A heading, B path and runbook, D body): `word:A`. */
function inField(query: string, weight: 'A' | 'B' | 'D'): string {
  return query.replace(/[a-z0-9]+/g, (w) => `${w}:${weight}`);
}

type Row = { runbook_id: string; section_key: string; heading: string; path: string; body: string; score: number };

/** The sections that best answer a question, best first, over the sections index that /runbook search uses. */
export async function retrieve(db: Db, question: string, limit = 5, opts: RetrievalOptions = FULL_RETRIEVAL): Promise<Retrieved[]> {
  const concepts = questionConcepts(question, { synonyms: opts.synonyms });
  if (!concepts.length) return [];
  const any = concepts.map((c) => `(${c.match})`).join(' | ');
  const trgm = opts.trigram ? await trigramSchema(db) : undefined;
  // Every value is a parameter; the only spliced text is the extension's schema, read from the catalog.
  const similarity = trgm ? `${trgm}.word_similarity(lower(replace(s.path, ' › ', ' ')), lower($1))` : '0';
  const bonus = `(case when $3 and s.ask_tsv @@ websearch_to_tsquery('english', $1) then 0.5 else 0 end + 1.5 * ${similarity})`;
  const rows = opts.fields
    ? await db.query<Row>(
        `with c as (
           select to_tsquery('english', m) as q, to_tsquery('english', o) as own, to_tsquery('english', ma) as qa, to_tsquery('english', mb) as qb, to_tsquery('english', md) as qd
             from unnest($5::text[], $9::text[], $10::text[], $11::text[], $12::text[]) as u(m, o, ma, mb, md)
         ), w as materialized (
           -- idf: a word in few sections says more than one in every section
           select qa, qb, qd, ln((select count(*) from runbook_sections)::float8 / (1 + (select count(*) from runbook_sections x where x.ask_tsv @@ own))) as idf from c
         )
         select s.runbook_id, s.section_key, s.heading, s.path, s.body,
                ((select coalesce(sum(w.idf * ((s.ask_tsv @@ w.qa)::int * $6::float8 + (s.ask_tsv @@ w.qb)::int * $7::float8 + (s.ask_tsv @@ w.qd)::int * $8::float8)), 0) from w)
                 + ${bonus})::float8 as score
           from runbook_sections s
          where (s.section_key <> '' or s.body <> '') and s.ask_tsv @@ to_tsquery('english', $2)
          order by score desc, s.runbook_id, s.line
          limit $4`,
        [question, any, opts.websearch, limit, concepts.map((c) => c.match), FIELD_WEIGHTS.heading, FIELD_WEIGHTS.path, FIELD_WEIGHTS.body, concepts.map((c) => c.own), ...(['A', 'B', 'D'] as const).map((w) => concepts.map((c) => inField(c.match, w)))],
      )
    : await db.query<Row>(
        `select s.runbook_id, s.section_key, s.heading, s.path, s.body,
                (ts_rank(s.tsv, to_tsquery('english', $2)) + ${bonus})::float8 as score
           from runbook_sections s
          where (s.section_key <> '' or s.body <> '') and (s.tsv @@ to_tsquery('english', $2)${trgm ? ` or ${similarity} > 0.5` : ''})
          order by score desc, s.runbook_id, s.line
          limit $4`,
        [question, any, opts.websearch, limit],
      );
  return rows.map((r) => ({ runbookId: r.runbook_id, sectionKey: r.section_key, heading: r.heading, path: r.path, body: r.body, score: Number(r.score) }));
}
