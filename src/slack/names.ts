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
