// Tenants and their tokens: loaded from a config file into Redis (the live table that
// admin endpoints change and every process reads), cached in memory for a second.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';

const sha256hex = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hash in hex (64 characters)');

export const tenantSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -, at most 63'),
    /** Shares: device time converges to weight / Σ weights among tenants with work. */
    weight: z.number().positive().max(1e6).default(1),
    maxRunning: z.number().int().min(0).default(1000),
    maxQueued: z.number().int().min(0).default(100_000),
    /** Regions this tenant's jobs may run in (empty = any). */
    regions: z.array(z.string()).default([]),
    /** GPU vendors this tenant's jobs may run on (empty = any). */
    vendors: z.array(z.string()).default([]),
    /** How this tenant's jobs take part in preemption (docs/scheduling.md). */
    preemption: z
      .object({
        /** false: its jobs are never preempted (they count against its quota as usual). */
        preemptible: z.boolean().default(true),
        /** Its jobs are never preempted before this run time (the installation's when absent). */
        minRuntimeSeconds: z.number().nonnegative().optional(),
        /** A queued job of a higher priority may preempt one of the tenant's own jobs. */
        withinTenant: z.boolean().default(false),
        /** Fraction of the matching slots the tenant is never preempted below. */
        guaranteedShare: z.number().min(0).max(1).default(0),
      })
      .strict()
      .default({ preemptible: true, withinTenant: false, guaranteedShare: 0 }),
    /** API requests per minute (over all scheduler replicas); 0: no limit; absent: USINE_RATE_LIMIT_PER_MINUTE. */
    rateLimitPerMinute: z.number().int().min(0).optional(),
    /** sha256 (hex) of the tenant's API tokens; the tokens themselves are never stored. */
    tokenSha256: z.array(sha256hex).default([]),
  })
  .strict();
export type Tenant = z.infer<typeof tenantSchema>;

export const workerClassSchema = z
  .object({
    vendor: z.string(),
    architecture: z.string().default(''),
    device: z.string().default(''),
    backend: z.string().default(''),
    features: z.array(z.string()).default([]),
    limits: z.record(z.string(), z.number()).default({}),
    region: z.string().default('local'),
  })
  .strict();

export const tenantsFileSchema = z
  .object({
    adminTokenSha256: z.array(sha256hex).default([]),
    tenants: z.array(tenantSchema).min(1),
    /** Device classes this installation has, beyond those seen from live workers. */
    workerClasses: z.array(workerClassSchema).default([]),
  })
  .strict();
export type TenantsFile = z.infer<typeof tenantsFileSchema>;

export const DEFAULT_TENANT: Tenant = tenantSchema.parse({ name: 'default' });

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(): string {
  return `usn_${randomBytes(24).toString('base64url')}`;
}

export function readTenantsFile(path: string): TenantsFile {
  let raw: unknown;
  try {
    raw = YAML.parse(fs.readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the tenants file ${path}: ${(e as Error).message}`);
  }
  const parsed = tenantsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid tenants file ${path}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

// KEYS: tenants, seeded. ARGV: name, json, name, json, … Writes each tenant whose json differs
// from the one last seeded.
const SEED = `
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[2], ARGV[i]) ~= ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  end
end
return 0
`;

export type Principal = { admin: true; tenant: null } | { admin: false; tenant: Tenant };

export class TenantStore {
  private cache = new Map<string, Tenant>();
  private byToken = new Map<string, string>();
  private loadedAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly adminHashes: string[] = [],
    private readonly maxAgeMs = 1000,
  ) {}

  /**
   * Writes the file's tenants into Redis: each tenant whose entry in the file changed since it
   * was last seeded (or was never seeded). An unchanged entry is left alone, so a replica that
   * restarts does not undo what an admin changed or removed through the API; an edited entry
   * in the file wins over the API's change. Atomic, so replicas starting together agree.
   */
  async seed(tenants: Tenant[]): Promise<void> {
    if (tenants.length === 0) return;
    const args = tenants.flatMap((t) => [t.name, JSON.stringify(t)]);
    await this.redis.eval(SEED, 2, this.keys.tenants, this.keys.tenantsSeeded, ...args);
    this.loadedAt = 0;
  }

  async refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.loadedAt < this.maxAgeMs) return;
    const all = await this.redis.hgetall(this.keys.tenants);
    const cache = new Map<string, Tenant>();
    const byToken = new Map<string, string>();
    for (const [name, json] of Object.entries(all)) {
      const t = tenantSchema.parse(JSON.parse(json));
      cache.set(name, t);
      for (const h of t.tokenSha256) byToken.set(h, name);
    }
    this.cache = cache;
    this.byToken = byToken;
    this.loadedAt = Date.now();
  }

  async list(): Promise<Tenant[]> {
    await this.refresh();
    return [...this.cache.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<Tenant | null> {
    await this.refresh();
    return this.cache.get(name) ?? null;
  }

  async put(t: Tenant): Promise<void> {
    await this.redis.hset(this.keys.tenants, t.name, JSON.stringify(t));
    await this.refresh(true);
  }

  async remove(name: string): Promise<boolean> {
    const n = await this.redis.hdel(this.keys.tenants, name);
    await this.refresh(true);
    return n > 0;
  }

  /** Mints a token for `name`; returns it (the only time it is seen) — only its hash is kept. */
  async mintToken(name: string): Promise<string | null> {
    const t = await this.get(name);
    if (!t) return null;
    const token = newToken();
    await this.put({ ...t, tokenSha256: [...t.tokenSha256, hashToken(token)] });
    return token;
  }

  /** Who holds `token`, or null. */
  async authenticate(token: string): Promise<Principal | null> {
    const h = hashToken(token);
    if (this.adminHashes.includes(h)) return { admin: true, tenant: null };
    await this.refresh();
    const name = this.byToken.get(h);
    return name ? { admin: false, tenant: this.cache.get(name)! } : null;
  }
}
