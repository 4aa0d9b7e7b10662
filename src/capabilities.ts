import type { App } from '@slack/bolt';
import { register as registerChecklists } from './checklist/listeners.ts';
import type { Deps } from './deps.ts';
import { register as registerRollback } from './rollback/listeners.ts';
import { register as registerOncall } from './oncall/listeners.ts';
import { register as registerReadiness } from './readiness/listeners.ts';
import { register as registerRunbooks } from './runbooks/listeners.ts';

/**
 * Every capability, registered in one place (slackapi/node-tasks-app listeners/index.js). Each `register`
 * adds its listeners to the app, its jobs to `deps.jobs` and its part of App Home to `deps.home`.
 */
export function registerCapabilities(app: App, deps: Deps): void {
  registerRunbooks(app, deps);
  registerChecklists(app, deps);
  registerRollback(app, deps);
  registerOncall(app, deps);
  registerReadiness(app, deps);
}
