/** Looks a Slack user up (users.info); undefined when Slack does not know them or cannot be asked. */
export type UserLookup = (id: string) => Promise<{ name: string } | undefined>;

/**
 * Users' Slack names by id, cached for a bounded time and number of users: names change rarely, and losing
 * the cache only costs a users.info call (Tier 4: https://api.slack.com/methods/users.info).
 */
export class UserNames {
  private cache = new Map<string, { name?: string; until: number }>();

  constructor(
    private readonly lookup: UserLookup,
    private readonly opts: { ttlMs?: number; max?: number; now?: () => number } = {},
  ) {}

  /** The user's name, or undefined (not an id, unknown, or Slack unreachable). */
  async name(id: string): Promise<string | undefined> {
    if (!/^[UW][A-Z0-9]{2,}$/.test(id)) return undefined;
    const now = (this.opts.now ?? Date.now)();
    const hit = this.cache.get(id);
    if (hit && hit.until > now) return hit.name;
    const name = await this.lookup(id).then((u) => u?.name, () => undefined);
    // Oldest entry out first: a Map keeps insertion order.
    if (this.cache.size >= (this.opts.max ?? 1000)) this.cache.delete(this.cache.keys().next().value!);
    this.cache.delete(id);
    this.cache.set(id, { name, until: now + (this.opts.ttlMs ?? 3600_000) });
    return name;
  }

  /** Names of many ids at once, as a map (ids without a name are left out). */
  async names(ids: Iterable<string>): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const found = await Promise.all(unique.map(async (id) => [id, await this.name(id)] as const));
    return new Map(found.filter((f): f is readonly [string, string] => f[1] !== undefined));
  }
}

/** "bob (UBOB)" when the name is known, else the id alone. */
export function nameAndId(id: string, names: Map<string, string>): string {
  const name = names.get(id);
  return name ? `${name} (${id})` : id;
}

/** What names need of a Web API client (Bolt's, or the CLI's). */
interface UsersClient {
  users: { info(args: { user: string }): Promise<{ user?: { name?: string } }> };
}

const byClient = new WeakMap<UsersClient, UserNames>();

/**
 * Slack names of ids through a client's users.info, cached per client; waits at most `ms`, after which ids not
 * yet named stay ids (a slow Slack must not hold an answer that has 3 s).
 */
export async function namesVia(client: UsersClient, ids: string[], ms = 1000): Promise<Map<string, string>> {
  let names = byClient.get(client);
  if (!names) {
    names = new UserNames(async (id) => {
      const name = (await client.users.info({ user: id })).user?.name;
      return name ? { name } : undefined;
    });
    byClient.set(client, names);
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Map<string, string>>((resolve) => (timer = setTimeout(() => resolve(new Map()), ms)));
  try {
    return await Promise.race([names.names(ids), late]);
  } finally {
    clearTimeout(timer);
  }
}
