import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { Validator } from '../../src/console/fakeSlack.ts';
import * as L from '../../src/slack/limits.ts';

/** Test data the project carries (test/fixtures/README.md says where each came from). */
export const FIXTURES = new URL('../fixtures/', import.meta.url);

const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
const blocksSchema = ajv.compile(JSON.parse(readFileSync(new URL('slack/blocks.schema.json', FIXTURES), 'utf8')));
const viewSchema = ajv.compile(JSON.parse(readFileSync(new URL('slack/views.schema.json', FIXTURES), 'utf8')));

type Json = Record<string, unknown>;

function textOf(t: unknown): string {
  return t && typeof t === 'object' && typeof (t as Json).text === 'string' ? ((t as Json).text as string) : '';
}

const len = (s: string) => [...s].length;

/** The length limits Slack enforces that the generated schemas do not (test/fixtures/slack/README.md). */
function limitProblems(blocks: unknown[], maxBlocks: number): string[] {
  const problems: string[] = [];
  if (blocks.length > maxBlocks) problems.push(`${blocks.length} blocks > ${maxBlocks}`);
  const blockIds = new Set<string>();
  const check = (ok: boolean, what: string) => ok || problems.push(what);
  const element = (el: Json, where: string) => {
    if (typeof el.action_id === 'string') check(el.action_id.length <= L.ACTION_ID, `${where}: action_id longer than ${L.ACTION_ID}`);
    if (el.type === 'button') {
      check(len(textOf(el.text)) <= L.BUTTON_TEXT, `${where}: button text longer than ${L.BUTTON_TEXT}`);
      check(typeof el.value !== 'string' || el.value.length <= L.BUTTON_VALUE, `${where}: button value longer than ${L.BUTTON_VALUE}`);
    }
    const options = (el.options as Json[] | undefined) ?? [];
    if (el.type === 'checkboxes') check(options.length <= L.CHECKBOX_OPTIONS, `${where}: ${options.length} checkbox options > ${L.CHECKBOX_OPTIONS}`);
    if (el.type === 'static_select') check(options.length <= L.SELECT_OPTIONS, `${where}: ${options.length} select options > ${L.SELECT_OPTIONS}`);
    if (el.type === 'overflow') check(options.length <= 5, `${where}: overflow with more than 5 options`);
    for (const o of options) {
      check(len(textOf(o.text)) <= L.OPTION_TEXT, `${where}: option text longer than ${L.OPTION_TEXT}: ${textOf(o.text)}`);
      check(len(textOf(o.description)) <= L.OPTION_TEXT, `${where}: option description longer than ${L.OPTION_TEXT}`);
      check(typeof o.value !== 'string' || o.value.length <= L.OPTION_VALUE, `${where}: option value longer than ${L.OPTION_VALUE}`);
    }
    const initial = (el.initial_options as Json[] | undefined) ?? [];
    for (const i of initial) check(options.some((o) => o.value === i.value && textOf(o.text) === textOf(i.text)), `${where}: initial option ${String(i.value)} is not one of the options`);
  };
  blocks.forEach((raw, i) => {
    const b = raw as Json;
    const where = `block ${i} (${String(b.type)})`;
    if (typeof b.block_id === 'string') {
      check(b.block_id.length <= L.ACTION_ID, `${where}: block_id too long`);
      check(!blockIds.has(b.block_id), `${where}: duplicate block_id ${b.block_id}`);
      blockIds.add(b.block_id);
    }
    if (b.type === 'section') {
      check(len(textOf(b.text)) <= L.SECTION_TEXT, `${where}: text ${len(textOf(b.text))} > ${L.SECTION_TEXT}`);
      check(!b.text || len(textOf(b.text)) > 0, `${where}: empty text`);
      const fields = (b.fields as Json[] | undefined) ?? [];
      check(fields.length <= 10, `${where}: more than 10 fields`);
      for (const f of fields) check(len(textOf(f)) <= 2000, `${where}: field longer than 2000`);
      if (b.accessory) element(b.accessory as Json, where);
    }
    if (b.type === 'header') check(len(textOf(b.text)) <= L.HEADER_TEXT, `${where}: header longer than ${L.HEADER_TEXT}`);
    if (b.type === 'context') {
      const els = (b.elements as Json[]) ?? [];
      check(els.length <= L.CONTEXT_ELEMENTS, `${where}: more than ${L.CONTEXT_ELEMENTS} elements`);
      for (const e of els) check(len(textOf(e)) <= L.CONTEXT_TEXT, `${where}: context text too long`);
    }
    if (b.type === 'actions') {
      const els = (b.elements as Json[]) ?? [];
      check(els.length <= L.ACTIONS_ELEMENTS, `${where}: more than ${L.ACTIONS_ELEMENTS} elements`);
      const ids = els.map((e) => e.action_id);
      check(new Set(ids).size === ids.length, `${where}: duplicate action_id in one block`);
      els.forEach((e, j) => element(e, `${where} element ${j}`));
    }
    if (b.type === 'input' && b.element) element(b.element as Json, where);
  });
  return problems;
}

/** What Slack would refuse: schema (invalid_blocks) and length limits. */
export const validateSlack: Validator = (kind, value) => {
  if (kind === 'blocks') {
    const ok = blocksSchema(value);
    const problems = ok ? [] : (blocksSchema.errors ?? []).slice(0, 3).map((e) => `schema: ${e.instancePath} ${e.message}`);
    return [...problems, ...limitProblems(value as unknown[], L.MESSAGE_BLOCKS)];
  }
  const ok = viewSchema(value);
  const problems = ok ? [] : (viewSchema.errors ?? []).slice(0, 3).map((e) => `schema: ${e.instancePath} ${e.message}`);
  return [...problems, ...limitProblems(((value as Json).blocks as unknown[]) ?? [], L.VIEW_BLOCKS)];
};
