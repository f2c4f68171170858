// Jobs flowing through the API while a fault runs: a batch of noop jobs submitted every
// `everyMs` (requests overlap, so a hung request does not stop the flow), each answer timed.
// What a fault row reports is computed here from what was acknowledged and what the workers
// counted (USINE_CHAOS_COUNTERS).
import type { ChaosCluster } from './harness.ts';
import { sleep } from './harness.ts';

/** One API request's fate: an HTTP answer (with its status), a refused connection, or none within the limit. */
export interface Answer {
  at: number;
  ms: number;
  status: number | 'refused' | 'hung';
}

/** A request with no answer after this long counts as hung. */
export const HUNG_MS = 5000;

export class Flow {
  readonly acked: { id: string; at: number }[] = [];
  readonly answers: Answer[] = [];
  /** Acknowledged jobs whose submit answered `usine-durability: primary-only` (no replica confirmed them). */
  readonly primaryOnly = new Set<string>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly url: () => string,
    private readonly o: { batch: number; everyMs: number; sleepMs: number } = { batch: 10, everyMs: 100, sleepMs: 50 },
  ) {}

  start(): this {
    this.loop = (async () => {
      while (!this.stopped) {
        if (this.inFlight.size < 20) {
          const p = this.submit().finally(() => this.inFlight.delete(p));
          this.inFlight.add(p);
        }
        await sleep(this.o.everyMs);
      }
    })();
    return this;
  }

  private async submit(): Promise<void> {
    const t0 = Date.now();
    const jobs = Array.from({ length: this.o.batch }, () => ({ type: 'noop', params: { sleepMs: this.o.sleepMs } }));
    let status: Answer['status'];
    try {
      const r = await fetch(`${this.url()}/v1/jobs/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jobs }),
        signal: AbortSignal.timeout(HUNG_MS),
      });
      status = r.status;
      const body = (await r.json().catch(() => ({}))) as { ids?: string[] };
      if (r.ok && body.ids) for (const id of body.ids) this.acked.push({ id, at: Date.now() });
      if (r.ok && body.ids && r.headers.get('usine-durability') === 'primary-only')
        for (const id of body.ids) this.primaryOnly.add(id);
    } catch (e) {
      status = (e as Error).name === 'TimeoutError' ? 'hung' : 'refused';
    }
    this.answers.push({ at: t0, ms: Date.now() - t0, status });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.all(this.inFlight);
  }
}

export interface ApiDuringFault {
  requests: number;
  /** Fraction of requests with an HTTP answer (any status, 503 included) within 1 s. */
  answeredWithin1s: number;
  status503: number;
  /** Connections refused (no scheduler listening at the address). */
  refused: number;
  /** Requests with no answer within HUNG_MS. */
  hung: number;
}

/** How the API answered the requests sent between `from` and `to`. */
export function apiDuring(answers: Answer[], from: number, to: number): ApiDuringFault {
  const a = answers.filter((x) => x.at >= from && x.at <= to);
  const answered = a.filter((x) => typeof x.status === 'number' && x.ms <= 1000).length;
  return {
    requests: a.length,
    answeredWithin1s: a.length ? Math.round((1000 * answered) / a.length) / 1000 : 1,
    status503: a.filter((x) => x.status === 503).length,
    refused: a.filter((x) => x.status === 'refused').length,
    hung: a.filter((x) => x.status === 'hung').length,
  };
}

export interface Outcome {
  submitted: number;
  succeeded: number;
  lost: number;
  /** Jobs whose completion BullMQ accepted more than once. */
  duplicated: number;
  /** Jobs whose processor ran to its end more than once (at-least-once: a stale worker's result is refused). */
  reran: number;
  /** From the fault's end to the first completion of a job submitted after it; null: none within the bound. */
  recoverySeconds: number | null;
}

/**
 * Lost: acknowledged, and neither counted as completed by a worker nor `succeeded` in the API
 * when the bound ran out. Keeps the flow running after the fault ended (`healAt`) until a job submitted since then
 * completes, stops it, then waits (at most `boundMs` in all) for every acknowledged job.
 */
export async function settle(
  cluster: ChaosCluster,
  flow: Flow,
  healAt: number,
  boundMs: number,
): Promise<Outcome & { lostIds: string[] }> {
  const end = Date.now() + boundMs;
  let recovered: number | null = null;
  let counts = await cluster.counters();
  while (Date.now() < end) {
    counts = (await cluster.counters()) ?? counts;
    const done = counts?.completions ?? {};
    if (recovered === null) {
      const first = flow.acked.find((j) => j.at >= healAt && done[j.id]);
      if (first) {
        recovered = Date.now();
        await flow.stop();
      }
    } else if (flow.acked.every((j) => done[j.id])) break;
    await sleep(250);
  }
  await flow.stop();
  counts = (await cluster.counters()) ?? counts;
  const done = { ...(counts?.completions ?? {}) };
  const runs = counts?.executions ?? {};
  const ids = flow.acked.map((j) => j.id);
  // A worker killed between BullMQ's accepting a completion and its counting it: ask the API.
  for (const id of ids.filter((x) => !done[x]).slice(0, 200)) {
    const v = await fetch(`${cluster.url}/v1/jobs/${id}`, { signal: AbortSignal.timeout(2000) })
      .then((r) => (r.ok ? (r.json() as Promise<{ state: string }>) : null))
      .catch(() => null);
    if (v?.state === 'succeeded') done[id] = 1;
  }
  const succeeded = ids.filter((id) => done[id]).length;
  return {
    submitted: ids.length,
    succeeded,
    lost: ids.length - succeeded,
    duplicated: ids.filter((id) => Number(done[id] ?? 0) > 1).length,
    reran: ids.filter((id) => Number(runs[id] ?? 0) > 1).length,
    recoverySeconds: recovered === null ? null : Math.round((recovered - healAt) / 100) / 10,
    lostIds: ids.filter((id) => !done[id]),
  };
}
