import assert from 'node:assert/strict';

// Slack parses `<…>` and `&…;` in every mrkdwn text, inside code spans too:
// https://api.slack.com/reference/surfaces/formatting#escaping. Only these `<…>` forms are meant.
const ALLOWED_TOKEN = /^<(?:@[UW][A-Z0-9]+(?:\|[^<>]*)?|#C[A-Z0-9]+(?:\|[^<>]*)?|!date\^\d+\^[^<>|]*(?:\^[^<>|]*)?\|[^<>]*|(?:https?|mailto):[^<>\s|]+(?:\|[^<>]*)?)>/;

/** Every place in mrkdwn where a literal `<`, `>` or `&` is left unescaped (or a special mention would ping). */
export function unescaped(mrkdwn: string): string[] {
  const problems: string[] = [];
  for (let i = 0; i < mrkdwn.length; i++) {
    const c = mrkdwn[i];
    const around = JSON.stringify(mrkdwn.slice(Math.max(0, i - 20), i + 20));
    if (c === '<') {
      const token = ALLOWED_TOKEN.exec(mrkdwn.slice(i));
      if (!token) problems.push(`unescaped < at ${i}: ${around}`);
      else i += token[0].length - 1;
    } else if (c === '>') {
      // A quote marker at the start of a line is mrkdwn, not a literal.
      const lineStart = i === 0 || mrkdwn[i - 1] === '\n';
      if (!lineStart) problems.push(`unescaped > at ${i}: ${around}`);
    } else if (c === '&' && !/^&(?:amp|lt|gt);/.test(mrkdwn.slice(i))) {
      problems.push(`unescaped & at ${i}: ${around}`);
    }
  }
  return problems;
}

/** Every mrkdwn text in blocks (plain_text is not parsed, so it is left out), with where it sits. */
export function mrkdwnTexts(blocks: unknown, path = 'blocks'): Array<{ where: string; text: string }> {
  const out: Array<{ where: string; text: string }> = [];
  if (Array.isArray(blocks)) blocks.forEach((b, i) => out.push(...mrkdwnTexts(b, `${path}[${i}]`)));
  else if (blocks && typeof blocks === 'object') {
    const o = blocks as Record<string, unknown>;
    if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push({ where: path, text: o.text });
    for (const [k, v] of Object.entries(o)) if (typeof v === 'object') out.push(...mrkdwnTexts(v, `${path}.${k}`));
  }
  return out;
}

/** Fails when any mrkdwn text of a reply (its blocks, and its top-level text) has an unescaped `<`, `>` or `&`. */
export function assertEscaped(label: string, reply: { text?: string; blocks?: unknown }): void {
  const texts = [...mrkdwnTexts(reply.blocks), ...(reply.text ? [{ where: 'text', text: reply.text }] : [])];
  assert.ok(texts.length, `${label}: has text to check`);
  for (const { where, text } of texts) assert.deepEqual(unescaped(text), [], `${label} (${where}) is escaped for Slack:\n${text}`);
}
