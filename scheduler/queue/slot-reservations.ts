// Slots freed by preemptions, kept for the tenants they were freed for: without this an
// ordinary dispatch round could hand the slot to a third tenant, and the preemption would
// have cost the victim its work for nothing.
import type { TenantLoad } from '../policy/fair-share.ts';
import type { PreemptionRequest } from '../state/preemptions.ts';

/** A slot kept for `tenant` until `until` (ms). */
export interface Reservation {
  tenant: string;
  until: number;
}

/** How long past the grace a reservation waits for its tenant's job to be taken. */
const RESERVATION_SLACK_MS = 15_000;

export class SlotReservations {
  private reservations: Reservation[] = [];

  /** How many slots are kept now (expired ones count until the next pick drops them). */
  get size(): number {
    return this.reservations.length;
  }

  /** Keeps the slot an accepted request frees for its preemptor's tenant. */
  add(request: PreemptionRequest): void {
    this.reservations.push({
      tenant: request.forTenant,
      until: request.requestedAt + request.graceSeconds * 1000 + RESERVATION_SLACK_MS,
    });
  }

  /**
   * Drops reservations that expired or whose tenant has no work this device could take now,
   * and puts picks for the kept ones first in `picks` (at most one per free slot, and per
   * queued job of the tenant). Returns the reservations picked for, in the order of their picks.
   */
  pick(loads: TenantLoad[], free: number, picks: TenantLoad[]): Reservation[] {
    const now = Date.now();
    this.reservations = this.reservations.filter((r) => {
      const l = loads.find((x) => x.name === r.tenant);
      return r.until > now && !!l && l.queued > 0 && l.running < l.maxRunning;
    });
    const picked: Reservation[] = [];
    for (const r of this.reservations) {
      const l = loads.find((x) => x.name === r.tenant)!;
      if (picked.length >= free || l.queued <= 0) continue; // the rest wait for the next slot
      l.running++;
      l.queued--;
      picks.push({ ...l });
      picked.push(r);
    }
    return picked;
  }

  /** A reservation is used up once its tenant's job is taken. */
  used(taken: Reservation[]): void {
    const used = new Set(taken);
    this.reservations = this.reservations.filter((r) => !used.has(r));
  }
}
