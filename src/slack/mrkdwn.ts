// Slack mrkdwn escaping: https://api.slack.com/reference/surfaces/formatting#escaping
// Only &, < and > need escaping; with them escaped no `<!channel>`, `<@U…>` or `<!subteam…>` can form.

const SPECIAL_MENTION = /@(channel|here|everyone)\b/gi;

/** Escapes text for mrkdwn and defuses written @channel/@here/@everyone, so runbook or user text pings nobody. */
export function escapeMrkdwn(text: string): string {
  return escapeCode(text).replace(SPECIAL_MENTION, '@\u200b$1');
}

/** Escapes text shown inside code (inline or fenced): &, < and > only, so every character stays as written. */
export function escapeCode(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Plain-text fields (headers, button labels, option text) are not parsed for mentions, but @channel is defused anyway. */
export function safePlain(text: string): string {
  return text.replace(SPECIAL_MENTION, '@\u200b$1');
}

/** A link in mrkdwn; `|` and `>` in the URL would end it early, so they are percent-encoded. */
export function mrkdwnLink(url: string, label?: string): string {
  const safeUrl = url.replace(/[|>]/g, encodeURIComponent).replace(/</g, '%3C').replace(/&/g, '&amp;');
  return label ? `<${safeUrl}|${label.replace(/\|/g, '¦')}>` : `<${safeUrl}>`;
}

/** Slack date formatting lives in dates.ts; re-exported for the callers that import it from here. */
export { slackDate } from './dates.ts';

/** A user mention from a Slack user id (only well-formed ids; anything else is shown escaped). */
export function userMention(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}
