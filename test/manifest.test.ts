import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
// Named import: under NodeNext the default import of this CommonJS package types as the module, not the class.
import { Ajv } from 'ajv';

const manifestUrl = new URL('../manifest.yml', import.meta.url);
const schemaUrl = new URL('fixtures/slack/manifest.schema.1.0.0.json', import.meta.url);

const COMMANDS = ['/rollback', '/runbook', '/checklist', '/oncall', '/readiness'];

interface Manifest {
  features: {
    app_home?: { home_tab_enabled?: boolean; messages_tab_enabled?: boolean };
    bot_user?: { display_name: string };
    slash_commands?: { command: string; url?: string; description: string; usage_hint?: string }[];
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    interactivity?: { is_enabled: boolean; request_url?: string };
    event_subscriptions?: { request_url?: string; bot_events?: string[] };
    socket_mode_enabled?: boolean;
  };
}

async function loadManifest(): Promise<Manifest> {
  return parse(await readFile(manifestUrl, 'utf8')) as Manifest;
}

test('manifest.yml is valid against Slack manifest schema 1.0.0', async () => {
  const schema = JSON.parse(await readFile(schemaUrl, 'utf8')) as object;
  // strict: false because the schema uses non-standard keywords ("regex"); formats like "uri" need ajv-formats.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  const ok = validate(await loadManifest());
  assert.ok(ok, ajv.errorsText(validate.errors, { separator: '\n' }));
});

test('manifest declares exactly the five slash commands, each described', async () => {
  const { features } = await loadManifest();
  const commands = features.slash_commands ?? [];
  assert.deepEqual(commands.map((c) => c.command).sort(), [...COMMANDS].sort());
  for (const c of commands) {
    assert.ok(c.description.length > 0, `${c.command} has a description`);
    assert.ok(c.usage_hint && c.usage_hint.length > 0, `${c.command} has a usage hint`);
  }
});

test('every request URL points at /slack/events', async () => {
  const { features, settings } = await loadManifest();
  const urls = [
    ...(features.slash_commands ?? []).map((c) => c.url),
    settings.interactivity?.request_url,
    settings.event_subscriptions?.request_url,
  ];
  assert.equal(urls.length, COMMANDS.length + 2);
  for (const url of urls) {
    assert.ok(url !== undefined, 'URL present');
    assert.equal(new URL(url).pathname, '/slack/events', url);
  }
  assert.equal(settings.interactivity?.is_enabled, true);
});

test('App Home: home tab enabled and app_home_opened subscribed', async () => {
  const { features, settings } = await loadManifest();
  assert.equal(features.app_home?.home_tab_enabled, true);
  assert.equal(features.app_home?.messages_tab_enabled, true);
  assert.ok(settings.event_subscriptions?.bot_events?.includes('app_home_opened'));
  assert.equal(features.bot_user?.display_name, 'Preflight');
});

test('bot scopes cover commands and posting', async () => {
  const { oauth_config, settings } = await loadManifest();
  for (const scope of ['commands', 'chat:write', 'chat:write.public', 'users:read', 'im:write']) {
    assert.ok(oauth_config.scopes.bot.includes(scope), scope);
  }
  assert.equal(settings.socket_mode_enabled, false);
});
