import { isUnavailable } from '../db/db.ts';

/** Bad input from a user: its message is shown to them as is, and nothing was changed. */
export class UserError extends Error {}

export const DATABASE_UNAVAILABLE = '⚠️ The database is unavailable right now, so nothing was changed. Preflight reconnects by itself: try again in a moment.';

/** The message a user sees for an error: their own mistake in full, an outage plainly, anything else vaguely. */
export function errorText(err: unknown): string {
  if (err instanceof UserError) return err.message;
  if (isUnavailable(err)) return DATABASE_UNAVAILABLE;
  return '⚠️ Something went wrong and nothing was changed. It has been logged; try again, or tell whoever runs Preflight.';
}
