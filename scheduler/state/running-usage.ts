// What the running jobs have accrued so far, per tenant: the `runningUsage` the fair-share policy
// adds to the ledger's decayed usage (policy/fair-share.ts says why usage is charged as jobs run).
// It comes from the live workers' heartbeats, which list each running attempt with its start;
// the ledger gets the same figure, accrued(ran), when the attempt ends (queue/accounting-buffer.ts),
// so a tenant's usage does not jump when its job ends.
import { accrued } from '../policy/fair-share.ts';
import type { WorkerRecord } from '../../shared/worker-view.ts';

/**
 * Tenant → Σ accrued(ran) over the running jobs `live` workers report (decayed device-seconds),
 * `ran` counted up to the worker's last heartbeat (or `now`, if earlier): what the heartbeat
 * vouches for. Counted up to `now`, a record read up to a second earlier (the dispatch round's
 * worker table) kept 100 ms jobs running, and accruing, ten times as long as they ran. Workers too
 * old to list their jobs contribute nothing; a start after that time (clock skew) counts nothing.
 */
export function runningUsage(live: readonly WorkerRecord[], now: number, halfLifeSeconds: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of live) {
    const upTo = Math.min(now, Date.parse(w.lastHeartbeat) || now);
    for (const j of w.jobs ?? [])
      out.set(j.tenant, (out.get(j.tenant) ?? 0) + accrued((upTo - j.startedAt) / 1000, halfLifeSeconds));
  }
  return out;
}
