// Names of usine's own Redis keys (BullMQ's live under the same prefix, per queue).
export class Keys {
  constructor(readonly prefix: string) {}
  /** Hash: tenant name → tenant JSON (the live tenant table). */
  get tenants() {
    return `${this.prefix}:tenants`;
  }
  /** Counter with expiry: a tenant's API requests in the current minute window (rate-limit.ts). */
  rate(tenant: string, window: number) {
    return `${this.prefix}:rate:${tenant}:${window}`;
  }
  /** Hash name → JSON: each tenant as the tenants file last seeded it (TenantStore.seed). */
  get tenantsSeeded() {
    return `${this.prefix}:tenants:seeded`;
  }
  /** Hash: `u:<tenant>` decayed device-seconds, `t:<tenant>` when last decayed, `mean` job seconds. */
  get usage() {
    return `${this.prefix}:usage`;
  }
  /** Hash per hour: `<tenant>|seconds`, `|jobs`, `|flops`, `|joules` (estimated; for `usine usage`). */
  usageHour(hour: number) {
    return `${this.prefix}:usage:h:${hour}`;
  }
  /** Hash: queue name → {tenant, cls, requirements} of every job queue ever used. */
  get queues() {
    return `${this.prefix}:queues`;
  }
  /** Set: names of the job queues that may hold work (queued or running); see queue/active-queues.ts. */
  get active() {
    return `${this.prefix}:active`;
  }
  /** Hash: worker id → live worker JSON (heartbeats). */
  get workers() {
    return `${this.prefix}:workers`;
  }
  /** Hash: device class key → caps JSON of every worker class seen (what admission checks against). */
  get workerClasses() {
    return `${this.prefix}:worker-classes`;
  }
  /** Hash: job id → a job held back until the job it depends on succeeds. */
  get pending() {
    return `${this.prefix}:pending`;
  }
  /** String, short-lived: which scheduler releases this held job (one acts). */
  releasing(id: string) {
    return `${this.prefix}:releasing:${id}`;
  }
  /** String: a cancelled-while-queued job's final view (the BullMQ job is removed). */
  cancelled(id: string) {
    return `${this.prefix}:cancelled:${id}`;
  }
  /** Sorted set: ids of the jobs with a final view under `cancelled(id)`, by when it was written (for listing). */
  get finalViews() {
    return `${this.prefix}:final-views`;
  }
  /** Stream of job events from workers (started, retry, finished) for the scheduler's metrics. */
  get events() {
    return `${this.prefix}:events`;
  }
  /** Pub/sub: jobs were submitted or requeued (workers wake up); the message is their queues, comma-separated. */
  get wakeChannel() {
    return `${this.prefix}:wake`;
  }
  /** Pub/sub: cancel this running job id. */
  get cancelChannel() {
    return `${this.prefix}:cancel`;
  }
  /** Hash: running job id → PreemptionRequest JSON, from the decision until the job is back in its queue. */
  get preemptions() {
    return `${this.prefix}:preemptions`;
  }
  /** Pub/sub: a preemption was requested; the message is the victim job's id (the request is in `preemptions`). */
  get preemptChannel() {
    return `${this.prefix}:preempt`;
  }
  /** List per requirement class: tenant names in fair-share order, one per slot to fill (state/grants.ts). */
  grants(cls: string) {
    return `${this.prefix}:grants:${cls}`;
  }
  /** String with expiry: present while a scheduler's dispatch round writes grants (workers then take, not plan). */
  get grantsLive() {
    return `${this.prefix}:grants-live`;
  }
  /** Pub/sub: the round wrote new grants; the message is the plan's front (GrantNews JSON). */
  get grantsChannel() {
    return `${this.prefix}:grants-new`;
  }
  /** Pub/sub: a worker took grants (the round refills the lists); the message is how many. */
  get grantsTakenChannel() {
    return `${this.prefix}:grants-taken`;
  }
  /** String with expiry: which scheduler replica holds the lease for a shared duty (`dispatch`). */
  lease(duty: string) {
    return `${this.prefix}:lease:${duty}`;
  }
}
