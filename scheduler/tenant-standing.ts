// Each tenant's standing now: jobs queued and running, decayed usage, and its fair-share
// target and usage share. One computation for the gauges (gauges.ts) and GET /v1/tenant, so
// the page, the API and the metrics show the same numbers.
import { shares, type TenantLoad } from './policy/fair-share.ts';
import { perTenant } from './queue/tenant-queues.ts';
import type { SchedulerContext } from './context.ts';
import { runningUsage } from './state/running-usage.ts';
import type { Tenant } from './state/tenants.ts';

export interface Standing extends TenantLoad {
  tenant: Tenant;
  /** Its weight over the weights of tenants with work (0..1). */
  targetShare: number;
  /** Its decayed usage over everyone's (0..1). */
  usageShare: number;
}

/** The standing of every tenant in the table, by name. */
export async function tenantStandings(ctx: Pick<SchedulerContext, 'tenants' | 'queues' | 'usage' | 'workers'>) {
  const { tenants, queues, usage, workers } = ctx;
  const now = Date.now();
  const [list, all, snap, live] = await Promise.all([
    tenants.list(),
    queues.list(),
    usage.snapshot(now),
    workers.live(now),
  ]);
  const counts = perTenant(all, await queues.counts(all));
  // Usage as dispatch counts it: the ledger's, plus what the running jobs have accrued so far.
  const accruing = runningUsage(live, now, usage.halfLifeSeconds);
  const loads: TenantLoad[] = list.map((t) => ({
    name: t.name,
    weight: t.weight,
    maxRunning: t.maxRunning,
    usage: (snap.usage.get(t.name) ?? 0) + (accruing.get(t.name) ?? 0),
    queued: counts.get(t.name)?.queued ?? 0,
    running: counts.get(t.name)?.running ?? 0,
  }));
  const share = shares(loads);
  return loads.map((l, i): Standing => ({
    ...l,
    tenant: list[i],
    targetShare: share.get(l.name)!.weightShare,
    usageShare: share.get(l.name)!.usageShare,
  }));
}
