// The chaos suite's faults. Each runs on a cluster of its own shape while noop jobs flow, and
// reports one row. `short` (the test suite's version) shortens waits, never skips a check.
import { apiDuring, Flow, settle, type ApiDuringFault, type Outcome } from './flow.ts';
import { ChaosCluster, sleep, type ClusterShape } from './harness.ts';

export interface FaultRow extends Outcome {
  name: string;
  apiDuringFault: ApiDuringFault;
  /** What else was seen: the train job's resume, the lease's move, the job error. */
  note: string;
}

export interface FaultRun {
  cluster: ChaosCluster;
  short: boolean;
  progress: (line: string) => void;
}

export interface Fault {
  name: string;
  /** What it does, for --help and the table. */
  title: string;
  shape: ClusterShape;
  run(r: FaultRun): Promise<FaultRow>;
}

interface JobView {
  id: string;
  state: string;
  worker?: string | null;
  error?: string | null;
  progress?: { step?: number; resumedFrom?: number } | null;
  result?: { steps?: number; resumedFrom?: number } | null;
}

async function api<T>(url: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(url + path, {
    method: body ? 'POST' : 'GET',
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

async function until<T>(what: string, f: () => Promise<T | null | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`chaos: ${what} did not happen within ${ms / 1000} s`);
    await sleep(200);
  }
}

const trainSpec = (steps: number, checkpointEvery: number) => ({
  type: 'train',
  attempts: 3,
  params: {
    model: { vocabSize: 13, contextLength: 12, layers: 1, dModel: 32, heads: 2, dFF: 64 },
    data: { source: 'task', task: { kind: 'sort', length: 4 } },
    steps,
    batchSize: 16,
    schedule: { lr: 0.01, warmupSteps: 3 },
    seed: 7,
    evalEvery: checkpointEvery,
    evalExamples: 32,
    checkpointEvery,
  },
});

/**
 * The common shape of a fault: jobs flow for a moment, `inject` does the fault and returns when
 * it ended (the process is back, or at once for a kill with no restart), then the flow settles.
 */
async function underFlow(
  r: FaultRun,
  name: string,
  inject: () => Promise<void>,
  flowOpts = { batch: 10, everyMs: 100, sleepMs: 50 },
): Promise<FaultRow> {
  const flow = new Flow(() => r.cluster.url, flowOpts).start();
  await sleep(r.short ? 1000 : 3000);
  const from = Date.now();
  r.progress(`${name}: fault injected (${flow.acked.length} jobs acknowledged so far)`);
  await inject();
  const healAt = Date.now();
  r.progress(`${name}: fault over after ${((healAt - from) / 1000).toFixed(1)} s; waiting for jobs to flow again`);
  const { lostIds: _lostIds, ...out } = await settle(r.cluster, flow, healAt, r.short ? 30_000 : 90_000);
  return { name, ...out, apiDuringFault: apiDuring(flow.answers, from, healAt), note: '' };
}

const workerKillTrain: Fault = {
  name: 'worker-kill-train',
  title: 'a worker SIGKILLed mid-train job: it resumes from its checkpoint on another worker',
  shape: { schedulers: 1, workers: 2, env: { USINE_WORKER_LOCK_SECONDS: '2' } },
  async run(r) {
    const url = r.cluster.url;
    const steps = r.short ? 30 : 60;
    const { id } = await api<{ id: string }>(url, '/v1/jobs', trainSpec(steps, 5));
    const flow = new Flow(() => url, { batch: 5, everyMs: 200, sleepMs: 20 }).start();
    const running = await until(
      'the train job passing its second checkpoint',
      async () => {
        const v = await api<JobView>(url, `/v1/jobs/${id}`);
        return v.state === 'running' && Number(v.progress?.step ?? 0) >= 11 ? v : null;
      },
      120_000,
    );
    const victim = Number(running.worker!.slice(1));
    const from = Date.now();
    r.progress(`worker-kill-train: SIGKILL w${victim} at step ${running.progress?.step}`);
    await r.cluster.workers[victim]!.stop('SIGKILL');
    r.cluster.workers[victim] = null;
    const resumed = await until(
      'the train job resuming on another worker',
      async () => {
        const v = await api<JobView>(url, `/v1/jobs/${id}`);
        return v.state !== 'queued' && v.worker && v.worker !== running.worker && v.progress?.resumedFrom ? v : null;
      },
      60_000,
    );
    const resumeSeconds = (Date.now() - from) / 1000;
    r.progress(`worker-kill-train: resumed from step ${resumed.progress?.resumedFrom} on ${resumed.worker}`);
    const out = await settle(r.cluster, flow, from, 30_000);
    const done = await until(
      'the train job ending',
      async () => {
        const v = await api<JobView>(url, `/v1/jobs/${id}`);
        return ['succeeded', 'failed'].includes(v.state) ? v : null;
      },
      r.short ? 60_000 : 180_000,
    );
    const counts = await r.cluster.counters();
    const trainDone = Number(counts?.completions[id] ?? 0);
    return {
      name: this.name,
      submitted: out.submitted + 1,
      succeeded: out.succeeded + (done.state === 'succeeded' ? 1 : 0),
      lost: out.lost + (done.state === 'succeeded' ? 0 : 1),
      duplicated: out.duplicated + (trainDone > 1 ? 1 : 0),
      reran: out.reran,
      recoverySeconds: Math.round(resumeSeconds * 10) / 10,
      apiDuringFault: apiDuring(flow.answers, from, from + 1000),
      note:
        `train killed at step ${running.progress?.step} on ${running.worker}, resumed from step ` +
        `${done.result?.resumedFrom ?? resumed.progress?.resumedFrom} on ${done.worker ?? resumed.worker}, ` +
        `${done.state} with ${done.result?.steps ?? '?'}/${steps} steps`,
    };
  },
};

const workerStop: Fault = {
  name: 'worker-stop',
  title: 'a worker SIGSTOPped past its job lock, then resumed: no completion twice',
  shape: { schedulers: 1, workers: 2 },
  async run(r) {
    const w = r.cluster.workers[0]!;
    const row = await underFlow(
      r,
      this.name,
      async () => {
        // Frozen while it runs jobs: those are the ones whose lock expires.
        await until(
          'w0 running jobs',
          async () => {
            const { workers } = await api<{ workers: { name: string; running: string[] }[] }>(
              r.cluster.url,
              '/v1/workers',
            );
            return workers.find((x) => x.name === 'w0' && x.running.length > 0) ?? null;
          },
          10_000,
        );
        w.proc.kill('SIGSTOP');
        // Three lock durations: the lock expires, the job is found stalled and runs elsewhere.
        await sleep(r.short ? 8000 : 12_000);
        w.proc.kill('SIGCONT');
      },
      // Within the slots left while w0 is frozen (4): about 4 device-seconds a second.
      { batch: 1, everyMs: 250, sleepMs: 1000 },
    );
    return { ...row, note: 'worker w0 frozen for 3+ lock durations (lock 3 s), then resumed' };
  },
};

const schedulerKill: Fault = {
  name: 'scheduler-kill',
  title: 'the only scheduler SIGKILLed, restarted after 1 s (as a supervisor would)',
  shape: { schedulers: 1, workers: 1 },
  async run(r) {
    const row = await underFlow(r, this.name, async () => {
      await r.cluster.schedulers[0]!.stop('SIGKILL');
      await sleep(1000);
      await r.cluster.startScheduler(0);
    });
    return { ...row, note: 'API refused while no scheduler listened (no other replica)' };
  },
};

const oneOfTwoSchedulers: Fault = {
  name: 'one-of-two-schedulers',
  title: 'the scheduler holding the dispatch lease SIGKILLed; the other serves alone',
  shape: { schedulers: 2, workers: 1 },
  async run(r) {
    let leaseSeconds = -1;
    const row = await underFlow(r, this.name, async () => {
      // An object, not the index: until() takes a falsy 0 for "not yet".
      const { leader } = await until(
        'a lease holder',
        async () => {
          const i = await r.cluster.leader();
          return i >= 0 ? { leader: i } : null;
        },
        30_000,
      );
      const t0 = Date.now();
      await r.cluster.schedulers[leader]!.stop('SIGKILL');
      r.cluster.schedulers[leader] = null;
      await until(
        'the lease moving to the survivor',
        async () => ((await r.cluster.leader()) >= 0 ? true : null),
        30_000,
      );
      leaseSeconds = (Date.now() - t0) / 1000;
    });
    return { ...row, note: `lease moved to the survivor in ${leaseSeconds.toFixed(1)} s` };
  },
};

const redisKill: Fault = {
  name: 'redis-kill',
  title: 'Redis SIGKILLed, restarted after 1 s on its AOF (appendfsync everysec)',
  shape: { schedulers: 1, workers: 1 },
  async run(r) {
    const row = await underFlow(r, this.name, async () => {
      await r.cluster.signalRedis('SIGKILL');
      await sleep(1000);
      await r.cluster.startRedis();
    });
    // Redis writes the AOF before it answers: a killed process loses nothing the OS holds; a
    // crash of the machine could lose up to the last second (everysec).
    return { ...row, note: 'AOF with appendfsync everysec; a process kill, not a machine crash' };
  },
};

const redisStop: Fault = {
  name: 'redis-stop',
  title: 'Redis frozen with SIGSTOP for 30 s (short: 5 s), then SIGCONT',
  shape: { schedulers: 1, workers: 1 },
  async run(r) {
    const seconds = r.short ? 5 : 30;
    const row = await underFlow(r, this.name, async () => {
      await r.cluster.signalRedis('SIGSTOP');
      await sleep(seconds * 1000);
      await r.cluster.signalRedis('SIGCONT');
    });
    return { ...row, note: `Redis frozen (SIGSTOP) for ${seconds} s: connections stay open, nothing answers` };
  },
};

const artifactsFull: Fault = {
  name: 'artifacts-full',
  title: 'the artifact folder full (a filled 64 KiB tmpfs; a read-only folder when not root)',
  shape: { schedulers: 1, workers: 1, fullArtifacts: true },
  async run(r) {
    const url = r.cluster.url;
    let train: JobView | null = null;
    const row = await underFlow(r, this.name, async () => {
      const { id } = await api<{ id: string }>(url, '/v1/jobs', { ...trainSpec(10, 5), attempts: 1 });
      train = await until(
        'the train job ending',
        async () => {
          const v = await api<JobView>(url, `/v1/jobs/${id}`);
          return ['succeeded', 'failed'].includes(v.state) ? v : null;
        },
        120_000,
      );
    });
    const t = train as JobView | null;
    return {
      ...row,
      note: `artifacts: ${r.cluster.artifactsFull}; train job ${t?.state}: ${(t?.error ?? '').slice(0, 120)}`,
    };
  },
};

const deviceLost: Fault = {
  name: 'device-lost',
  title: "a worker's device lost mid-flow (SIGUSR2 to a lossy worker); it exits 3 and is restarted",
  shape: { schedulers: 1, workers: 2, lossy: [0] },
  async run(r) {
    let code: number | null = null;
    const row = await underFlow(
      r,
      this.name,
      async () => {
        const w = r.cluster.workers[0]!;
        const exited = new Promise<number | null>((res) => w.proc.once('exit', (c) => res(c)));
        w.proc.kill('SIGUSR2');
        code = await exited;
        r.cluster.workers[0] = null;
        await r.cluster.startWorker(0);
      },
      // Within one worker's 4 slots, so the jobs in flight on w0 at the loss matter, not a backlog.
      { batch: 2, everyMs: 200, sleepMs: 300 },
    );
    return { ...row, note: `the worker exited with ${code} after its device loss and was restarted` };
  },
};

const sentinelFailover: Fault = {
  name: 'sentinel',
  title: 'a Sentinel failover: the primary SIGKILLed (a replica, 3 sentinels); the replica promoted',
  // replica durability: each answer says whether a replica had the jobs, so a loss can be checked against it.
  shape: { schedulers: 1, workers: 1, sentinel: true, env: { USINE_SUBMIT_DURABILITY: 'replica' } },
  async run(r) {
    const set = r.cluster.sentinels!;
    const flow = new Flow(() => r.cluster.url, { batch: 10, everyMs: 100, sleepMs: 50 }).start();
    await sleep(r.short ? 1000 : 3000);
    const from = Date.now();
    r.progress(`sentinel: SIGKILL the primary on ${set.port} (${flow.acked.length} jobs acknowledged so far)`);
    await set.primary.stop('SIGKILL');
    // The fault lasts until the sentinels name a new primary (down after 1 s, then the election).
    const promoted = await until(
      'the sentinels promoting the replica',
      async () => {
        const port = await set.primaryPort();
        return port !== set.port ? port : null;
      },
      30_000,
    );
    const healAt = Date.now();
    const failoverSeconds = (healAt - from) / 1000;
    r.progress(`sentinel: ${promoted} promoted after ${failoverSeconds.toFixed(1)} s; waiting for jobs to flow again`);
    const { lostIds, ...out } = await settle(r.cluster, flow, healAt, r.short ? 30_000 : 90_000);
    const warned = lostIds.filter((id) => flow.primaryOnly.has(id)).length;
    // After the kill the new primary has no replica: its answers say primary-only, as they should.
    const warnedBefore = flow.acked.filter((j) => j.at < from && flow.primaryOnly.has(j.id)).length;
    return {
      name: this.name,
      ...out,
      apiDuringFault: apiDuring(flow.answers, from, healAt),
      note:
        `primary ${set.port} killed; the sentinels promoted ${promoted} after ${failoverSeconds.toFixed(1)} s; ` +
        `USINE_SUBMIT_DURABILITY=replica: ${flow.primaryOnly.size} acknowledged jobs answered primary-only ` +
        `(${warnedBefore} before the kill), ` +
        `${warned} of the ${lostIds.length} lost had been`,
    };
  },
};

export const FAULTS: Fault[] = [
  workerKillTrain,
  workerStop,
  schedulerKill,
  oneOfTwoSchedulers,
  redisKill,
  redisStop,
  artifactsFull,
  deviceLost,
  sentinelFailover,
];

/** Runs one fault on a fresh cluster at `basePort` (which it stops after). */
export async function runFault(f: Fault, basePort: number, short: boolean, progress: (l: string) => void) {
  const redis = f.shape.sentinel ? 'a Redis primary, a replica and 3 sentinels' : 'Redis';
  progress(`${f.name}: starting ${redis}, ${f.shape.schedulers} scheduler(s), ${f.shape.workers} worker(s)`);
  const cluster = new ChaosCluster(basePort, f.shape);
  try {
    await cluster.start();
    return await f.run({ cluster, short, progress });
  } finally {
    await cluster.stop();
  }
}
