// `npm run bench:scale`: how dispatch cost grows with tenants (T), requirement classes (C)
// and workers (W). Each cell runs the scheduler's dispatch round (--dispatch grants) or none
// (local: every puller plans) and W in-process FairPullers on a Redis of the bench's own
// (started on a free port, emptied between cells), no-op jobs spread over T×C queues, and
// measures throughput, submit→start, Redis CPU and commands per job, the reads of a dispatch round,
// and what W idle pullers cost Redis. One table over the grid, each row against T=1, W=1.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { integer, number, withUsageErrors } from '../kernels/cli.ts';
import { BenchProcesses, runCell, type CellResult, type DispatchMode } from './bench-scale/cell.ts';
import { onInterrupt } from './support/on-interrupt.ts';
import { ownRedis } from './support/own-redis.ts';

const list = (value: string): number[] => {
  const xs = value.split(',').map((s) => integer(1)(s.trim()));
  return [...new Set(xs)];
};

const program = new Command('npm run bench:scale --')
  .description(
    'Dispatch cost against the number of tenants and workers: for every (dispatch mode, tenants, workers), ' +
      "W fair-share pullers (the worker's dispatch loop, without WebGPU or HTTP) in processes of their own and, " +
      "in grants mode, the scheduler's dispatch round in another, share one Redis of the bench's own; no-op jobs " +
      'are spread over T tenants of mixed weights and C requirement classes. Per cell: throughput, submit-to-start ' +
      'p50/p99 of a probe tenant during the load and at a steady half load after it, Redis CPU µs and commands ' +
      "per job, dispatch rounds per job, the Redis reads and duration of a round, the pullers' event-loop delay, " +
      'and the idle cost (Redis commands/s with W pullers and nothing queued). ' +
      'A cell stops after --max-seconds even with jobs left (flagged "unfinished").',
  )
  .option('--tenants <list>', 'tenant counts, comma-separated', list, [1, 10, 100, 1000])
  .option('--workers <list>', 'pullers (workers), comma-separated', list, [1, 8, 32])
  .option(
    '--dispatch <list>',
    "who plans, comma-separated: 'grants' (the scheduler's dispatch round) and/or 'local' (every puller)",
    (v: string) => {
      const xs = [...new Set(v.split(',').map((s) => s.trim()))];
      for (const x of xs) if (x !== 'grants' && x !== 'local') throw new InvalidArgumentError(`unknown mode '${x}'`);
      return xs as DispatchMode[];
    },
    ['grants'] as DispatchMode[],
  )
  .option('--classes <n>', 'requirement classes (queues per tenant)', integer(1), 1)
  .option('--jobs <n>', 'no-op jobs per cell', integer(1), 20_000)
  .option('--concurrency <n>', 'device slots per puller', integer(1), 100)
  .option('--batch <n>', 'jobs per submit', integer(1), 1000)
  .option(
    '--warmup-jobs <n>',
    'jobs through an uncounted T=1 cell first, on every puller process (0: none)',
    integer(0),
    5000,
  )
  .option(
    '--repeat <n>',
    "run the whole grid n times, cells interleaved, and print each cell's median over the runs " +
      "(one run's ratio moves by ±0.1 on a shared machine)",
    integer(1),
    1,
  )
  .option('--max-seconds <s>', "time bound of a cell's load phase", number, 20)
  .option('--idle-seconds <s>', 'length of the idle measurement per cell', number, 3)
  // 15 s: about 600 probes, so that the p99 is not the second-worst of 200 (a single stall moved it by tens of ms).
  .option('--steady-seconds <s>', 'length of the steady phase at half the load phase throughput (0: none)', number, 15)
  .option('--half-life <s>', 'fair-share usage half-life, seconds', number, 900)
  .option('--catch-up <s>', 'fair-share catch-up bound, device-seconds per unit of weight', number, 60)
  .option(
    '--puller-processes <n>',
    'processes the pullers run in: one per puller up to this many, then shared out (default: the CPU count; ' +
      'more processes than cores spend the cores on switching between them)',
    integer(1),
  )
  .option(
    '--breakdown',
    "print each cell's CPU µs per job by process (Redis, round, pullers, submitter) and Redis commands per job by name",
  )
  .option(
    '--cpu-prof <dir>',
    "write a V8 CPU profile of the round's and each pullers' process to <dir> (open in Chrome DevTools)",
  )
  .option(
    '--json <file>',
    'write the figures as JSON ({ "scale": [ ...one object per cell and run ], "summary": [ ...medians per cell ] })',
  )
  .addHelpText(
    'after',
    `
The grid runs T=1, W=1 first for each dispatch mode: every row's "vs" column is its
throughput over the T=1, W=1 row of its own mode. '--dispatch grants,local' compares the
central round with every worker planning for itself, in one run.
Submit-to-start: a probe tenant weighing as much as all the others submits one job at a
time; fair share puts it first, so its wait is the dispatch path's, not the backlog's. During
the load every process on a small machine also queues for CPU; the steady half-load figure
is the path's alone. Idle commands/s exclude heartbeats (the pullers run without the worker
process around them).

Examples:
  npm run bench:scale
  npm run bench:scale -- --tenants 1,100 --workers 1,8 --jobs 5000 --json scale.json
  npm run bench:scale -- --dispatch grants,local --tenants 1,1000 --workers 1,8`,
  );
withUsageErrors(program).parse();
const o = program.opts<{
  tenants: number[];
  workers: number[];
  dispatch: DispatchMode[];
  classes: number;
  jobs: number;
  concurrency: number;
  batch: number;
  warmupJobs: number;
  maxSeconds: number;
  idleSeconds: number;
  steadySeconds: number;
  halfLife: number;
  catchUp: number;
  json?: string;
  breakdown?: boolean;
  cpuProf?: string;
  repeat: number;
  pullerProcesses?: number;
}>();

const redis = await ownRedis('bench-scale');
const redisUrl = redis.url;
const procs = new BenchProcesses(
  Math.min(Math.max(...o.workers), o.pullerProcesses ?? os.cpus().length),
  o.cpuProf && path.resolve(o.cpuProf),
);
procs.start();
const cleanup = async () => {
  procs.stop();
  await redis.stop();
};
onInterrupt(cleanup);

// T=1, W=1 first: the reference row.
const tenantsSorted = [...o.tenants].sort((a, b) => a - b);
const workersSorted = [...o.workers].sort((a, b) => a - b);
const grid = o.dispatch.flatMap((mode) => tenantsSorted.flatMap((t) => workersSorted.map((w) => ({ mode, t, w }))));
const cells = Array.from({ length: o.repeat }, (_, run) => grid.map((c) => ({ ...c, run }))).flat();
/** Every row is compared with the T=1, W=1 row of the same dispatch mode and run, else the run's first. */
const baseOf = (r: Run) =>
  results.find((x) => x.run === r.run && x.dispatch === r.dispatch && x.tenants === 1 && x.workers === 1) ??
  results.find((x) => x.run === r.run && x.tenants === 1 && x.workers === 1) ??
  results.find((x) => x.run === r.run)!;
/** The T=1 row with as many workers, same mode and run (when the grid has one). */
const sameWorkersOf = (r: Run) =>
  results.find((x) => x.run === r.run && x.dispatch === r.dispatch && x.tenants === 1 && x.workers === r.workers);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
function row(r: CellResult, base: CellResult | undefined): string[] {
  return [
    r.dispatch,
    String(r.tenants),
    String(r.workers),
    f0(r.jobsPerSec) + (r.finished ? '' : ` (${r.jobsDone}/${r.jobs}, unfinished)`),
    base ? (r.jobsPerSec / base.jobsPerSec).toFixed(2) + '×' : '–',
    `${f0(r.submitToStartMs.p50)} / ${f0(r.submitToStartMs.p99)}`,
    `${f0(r.steadySubmitToStartMs.p50)} / ${f0(r.steadySubmitToStartMs.p99)}`,
    f0(r.redisMicrosPerJob),
    f1(r.redisCommandsPerJob),
    (r.rounds / Math.max(1, r.jobsDone)).toFixed(2),
    f1(r.planReadsPerRound),
    Number.isFinite(r.roundMs.p50) ? `${f0(r.roundMs.p50)} / ${f0(r.roundMs.p99)}` : '–',
    f0(r.loopLagMs.p99),
    f0(r.idleRedisCommandsPerSec),
  ];
}
const header = [
  'dispatch',
  'tenants',
  'workers',
  'jobs/s',
  'vs T=1,W=1',
  'submit→start p50 / p99 ms',
  'at ½ load p50 / p99 ms',
  'Redis µs/job',
  'cmds/job',
  'rounds/job',
  'plan reads/round',
  'round ms p50 / p99',
  'pullers lag p99 ms',
  'idle cmds/s',
];
function markdown(rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cols: string[]) => `| ${cols.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

type Run = CellResult & { run: number };
const results: Run[] = [];
try {
  console.log(
    `bench:scale — ${o.jobs} no-op jobs per cell (at most ${o.maxSeconds} s), ${o.classes} class(es), ` +
      `${o.concurrency} slots per puller, tenants ${tenantsSorted.join(',')} × workers ${workersSorted.join(',')}, ` +
      `${os.cpus().length} CPUs, Redis on port ${new URL(redisUrl).port}`,
  );
  const showBar = process.stdout.isTTY;
  // Fresh code runs its first thousands of jobs unoptimised: that must not land on the reference row.
  if (o.warmupJobs > 0) {
    // Through every pullers' process, so that none meets its first jobs in a measured cell.
    await runCell(
      {
        redisUrl,
        tenants: 1,
        classes: o.classes,
        workers: procs.pullerProcesses,
        concurrency: o.concurrency,
        jobs: o.warmupJobs,
        batch: o.batch,
        maxSeconds: o.maxSeconds,
        idleSeconds: 0.5,
      },
      procs,
    );
  }
  for (const [i, { mode, t, w, run }] of cells.entries()) {
    const bar = showBar
      ? new cliProgress.SingleBar(
          {
            format: `cell ${i + 1}/${cells.length} ${mode} T=${t} W=${w} {bar} {value}/{total} jobs`,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
    bar?.start(o.jobs, 0);
    const r = await runCell(
      {
        redisUrl,
        tenants: t,
        classes: o.classes,
        workers: w,
        concurrency: o.concurrency,
        jobs: o.jobs,
        batch: o.batch,
        maxSeconds: o.maxSeconds,
        idleSeconds: o.idleSeconds,
        steadySeconds: o.steadySeconds,
        halfLifeSeconds: o.halfLife,
        catchUpSeconds: o.catchUp,
        dispatch: mode,
        onProgress: (n) => bar?.update(n),
      },
      procs,
    );
    bar?.stop();
    results.push({ ...r, run });
    const base = baseOf(results.at(-1)!);
    const unfinished = r.finished ? '' : ` (unfinished: ${r.jobsDone}/${r.jobs} in ${o.maxSeconds} s)`;
    const vs =
      base === r ? '' : ` — ${(r.jobsPerSec / base.jobsPerSec).toFixed(2)}× T=${base.tenants},W=${base.workers}`;
    const lat = r.submitToStartMs;
    console.log(
      `${o.repeat > 1 ? `run ${run + 1} ` : ''}${mode} T=${t} W=${w}: ${f0(r.jobsPerSec)} jobs/s${unfinished}, ${r.rounds} rounds, ` +
        `submit→start p50 ${f0(lat.p50)} ms p99 ${f0(lat.p99)} ms (${lat.samples} probes), ` +
        `at ${f0(r.steadySubmitToStartMs.jobsPerSec)} jobs/s p50 ${f0(r.steadySubmitToStartMs.p50)} ms ` +
        `p99 ${f0(r.steadySubmitToStartMs.p99)} ms (${r.steadySubmitToStartMs.samples} probes), ` +
        `Redis ${f0(r.redisMicrosPerJob)} µs/job, ${f1(r.redisCommandsPerJob)} cmds/job, ` +
        `${f1(r.planReadsPerRound)} plan reads/round, round p50 ${f0(r.roundMs.p50)} ms p99 ${f0(r.roundMs.p99)} ms, ` +
        `pullers' event-loop lag p99 ${f0(r.loopLagMs.p99)} ms, idle ${f0(r.idleRedisCommandsPerSec)} cmds/s, ` +
        `${r.redisClients} Redis clients${vs}`,
    );
    if (o.breakdown) {
      const c = r.cpuMicrosPerJob;
      console.log(
        `  CPU µs/job: Redis ${f0(c.redis)}, round ${f0(c.round)}, pullers ${f0(c.pullers)}, ` +
          `submitter ${f0(c.submitter)}, total ${f0(c.redis + c.round + c.pullers + c.submitter)}`,
      );
      // Each figure by name, most first, leaving out the small ones.
      const byName = (figures: Record<string, number>, least: number) =>
        Object.entries(figures)
          .filter(([, n]) => n >= least)
          .map(([name, n]) => `${name} ${f1(n)}`)
          .join(', ');
      console.log(`  commands/job: ${byName(r.commandsPerJob, 0.05)}`);
      console.log(
        "  Redis µs/job inside commands (a script's calls count in it and under their names): " +
          byName(r.redisMicrosPerJobByCommand, 0.5),
      );
    }
  }
  console.log(`\nagainst the T=1, W=1 row of the same dispatch mode in this run:\n`);
  console.log(markdown(results.map((r) => row(r, baseOf(r)))));
  const summary = grid.map(({ mode, t, w }) => {
    const runs = results.filter((r) => r.dispatch === mode && r.tenants === t && r.workers === w);
    const ratios = runs.map((r) => r.jobsPerSec / baseOf(r).jobsPerSec);
    const sameW = runs.flatMap((r) => {
      const b = sameWorkersOf(r);
      return b ? [r.jobsPerSec / b.jobsPerSec] : [];
    });
    return {
      dispatch: mode,
      tenants: t,
      workers: w,
      runs: runs.length,
      jobsPerSec: median(runs.map((r) => r.jobsPerSec)),
      vsBase: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
      vsSameWorkers: sameW.length ? { median: median(sameW), min: Math.min(...sameW), max: Math.max(...sameW) } : null,
      steadyP99Ms: median(runs.map((r) => r.steadySubmitToStartMs.p99)),
    };
  });
  if (o.repeat > 1) {
    console.log(`\nmedians over ${o.repeat} runs (min–max of the ratios):\n`);
    const range = (x: { median: number; min: number; max: number } | null) =>
      x ? `${x.median.toFixed(2)}× (${x.min.toFixed(2)}–${x.max.toFixed(2)})` : '–';
    for (const c of summary)
      console.log(
        `${c.dispatch} T=${c.tenants} W=${c.workers}: ${f0(c.jobsPerSec)} jobs/s, vs T=1,W=1 ${range(c.vsBase)}, ` +
          `vs T=1,W=${c.workers} ${range(c.vsSameWorkers)}, ½-load p99 ${f0(c.steadyP99Ms)} ms`,
      );
  }
  if (o.json) {
    const scale = results.map((r) => ({
      run: r.run,
      dispatch: r.dispatch,
      tenants: r.tenants,
      classes: r.classes,
      workers: r.workers,
      concurrency: r.concurrency,
      jobs: r.jobs,
      jobsDone: r.jobsDone,
      finished: r.finished,
      jobsPerSec: r.jobsPerSec,
      vsBase: r.jobsPerSec / baseOf(r).jobsPerSec,
      submitToStartMs: r.submitToStartMs,
      steadySubmitToStartMs: r.steadySubmitToStartMs,
      redisMicrosPerJob: r.redisMicrosPerJob,
      redisCommandsPerJob: r.redisCommandsPerJob,
      commandsPerJob: r.commandsPerJob,
      redisMicrosPerJobByCommand: r.redisMicrosPerJobByCommand,
      cpuMicrosPerJob: r.cpuMicrosPerJob,
      rounds: r.rounds,
      planReadsPerRound: r.planReadsPerRound,
      roundMs: r.roundMs,
      loopLagMs: r.loopLagMs,
      idleRedisCommandsPerSec: r.idleRedisCommandsPerSec,
      redisClients: r.redisClients,
    }));
    fs.writeFileSync(o.json, JSON.stringify({ scale, summary }, null, 2) + '\n');
  }
} finally {
  await cleanup();
}
// Pullers' BullMQ queue workers leave timers behind on a forced stop; the run is over.
process.exit(0);
