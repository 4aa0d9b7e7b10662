import type { App } from '@slack/bolt';
import type { Deps } from '../deps.ts';
import { register as registerChecklists } from '../checklist/listeners.ts';
import { register as registerRunbooks } from '../runbooks/listeners.ts';

/** Every capability, registered in one place (slackapi/node-tasks-app listeners/index.js). */
export function registerAll(app: App, deps: Deps): void {
  registerRunbooks(app, deps);
  registerChecklists(app, deps);
}
