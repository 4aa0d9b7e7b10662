// Every time Preflight shows: in Slack with Slack's date formatting (each reader's own zone,
// https://api.slack.com/reference/surfaces/formatting#date-formatting), elsewhere in one plain format.

/** The one plain format for times outside Slack (the console, exports): "2026-12-05 23:59 UTC". */
export function plainTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}

/** A time in Slack mrkdwn: each reader sees it in their own zone; clients that cannot show it get plainTime. */
export function slackDate(date: Date, format = '{date_short_pretty} {time}'): string {
  return `<!date^${Math.floor(date.getTime() / 1000)}^${format}|${plainTime(date)}>`;
}
