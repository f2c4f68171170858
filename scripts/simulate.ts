// `npm run simulate`: the fair-share policy on a simulated centre (scripts/simulate/core.ts
// says what the simulation simplifies). Prints share errors over sliding windows, the longest
// wait of a tenant with queued work against its bound, and the plan's compute time.
import fs from 'node:fs';
import { Command } from 'commander';
import { integer, number, withUsageErrors } from '../kernels/cli.ts';
import { seededRandom } from '../kernels/random.ts';
import { simulate } from './simulate/core.ts';
import { policyHook, preemptionPlanMs } from './simulate/preemption.ts';
import { ROUNDING_MIN_RUNTIME_SECONDS } from '../scheduler/policy/preemption.ts';
import {
  heavyTailedDuration,
  minutesDuration,
  paretoTenants,
  MEAN_DURATION_SECONDS,
  MINUTES_MEAN_SECONDS,
} from './simulate/scenario.ts';

const program = new Command('npm run simulate --')
  .description(
    'Simulates the fair-share policy (the real pickSlots and decay) on D devices and T tenants over some ' +
      'hours: Poisson arrivals per tenant, heavy-tailed run times (most minutes, some hours, 1 % days), Pareto ' +
      "weights (a few big tenants, many small). Reports each tenant's share error against its weight share over " +
      'sliding windows, the longest wait of a tenant with queued work against its fair turn plus the longest job, ' +
      "and the plan's compute time per dispatch round.",
  )
  .option('--devices <n>', 'devices in the centre', integer(1), 10_000)
  .option('--tenants <n>', 'tenants', integer(1), 1000)
  .option('--hours <h>', 'simulated hours', number, 24)
  .option('--seed <n>', 'seed of the workload and arrivals', integer(0), 1)
  .option(
    '--load <x>',
    'offered work over capacity; days-long jobs fill a centre slowly, so a backlog needs above 1',
    number,
    2,
  )
  .option('--half-life <s>', 'fair-share usage half-life, seconds (USINE_FAIR_SHARE_HALF_LIFE_SECONDS)', number, 900)
  .option('--catch-up <s>', 'catch-up bound, device-seconds per weight (USINE_FAIR_SHARE_CATCH_UP_SECONDS)', number, 60)
  .option('--tick <s>', 'simulation step: finished jobs free devices and a round fills them once per tick', number, 60)
  .option('--window-hours <h>', 'width of the sliding windows of the share error (step: 1 h)', number, 6)
  .option('--late <fraction>', 'fraction of tenants that start submitting at a random time of the run', number, 0.1)
  .option(
    '--durations <kind>',
    'job run times: heavy (minutes, hours, 1 % days) or minutes (1 min + exp. 10 min)',
    'heavy',
  )
  .option('--preemption <on|off>', 'preemption for fair share (the real policy, scheduler/policy/preemption.ts)', 'off')
  .option(
    '--min-runtime <s>',
    'with --preemption on: no job is preempted before it has run this long (USINE_PREEMPTION_MIN_RUNTIME_SECONDS)',
    number,
    120,
  )
  .option(
    '--rounding-runtime <s>',
    'with --preemption on: a swap for less than a whole slot on each side (rounding a share) takes only jobs ' +
      'that have run this long (rule 7 of scheduler/policy/preemption.ts)',
    number,
    ROUNDING_MIN_RUNTIME_SECONDS,
  )
  .option(
    '--restart <s>',
    'with --preemption on: work a preemption loses (reloading the checkpoint), seconds',
    number,
    60,
  )
  .option(
    '--accounting <end|running>',
    'usage charged as jobs run, decayed, as the scheduler does (TenantLoad.runningUsage, ' +
      'scheduler/policy/fair-share.ts), or only when a job ends (as it did before)',
    'running',
  )
  .option(
    '--dispatch-shares <on|off>',
    'dispatch serves first the tenants owed a whole device (a slot or more under their water-filled share), ' +
      "then all by key (planDispatch's and pickSlots's capacity; off: by key alone, as before)",
    'on',
  )
  .option('--json <file>', 'write the figures as JSON')
  .addHelpText(
    'after',
    `
A tenant counts in a window's share error when it had queued work at every tick of the
window; its target is its weight over the weights of the tenants counted in that window.

Two waits are reported. "Longest wait with queued work": the longest time a tenant had queued
work and started nothing, whatever it held (bound: fair turn + longest job + 1 tick). "Longest
wait under its share": the same, counting only the time it also held fewer devices than its
water-filled fair share allows (one more would keep it within it), the wait #14 bounds (bound:
fair turn + preemption delay, i.e. the minimum run time, + 1 tick; without preemption, + the
longest job). A tenant at its share running its own long jobs while more of its work waits is
using its turn, not waiting for it.

Examples:
  npm run simulate -- --devices 10000 --tenants 1000 --hours 24
  npm run simulate -- --devices 100 --tenants 20 --hours 48 --half-life 7200 --json sim.json`,
  );
withUsageErrors(program).parse();
const o = program.opts<{
  accounting: string;
  devices: number;
  tenants: number;
  hours: number;
  seed: number;
  load: number;
  halfLife: number;
  catchUp: number;
  tick: number;
  windowHours: number;
  durations: string;
  late: number;
  preemption: string;
  dispatchShares: string;
  minRuntime: number;
  roundingRuntime: number;
  restart: number;
  json?: string;
}>();
if (o.preemption !== 'on' && o.preemption !== 'off') {
  console.error(`--preemption: expected on or off, not ${o.preemption} (see npm run simulate -- --help)`);
  process.exit(2);
}

if (o.dispatchShares !== 'on' && o.dispatchShares !== 'off') {
  console.error(`--dispatch-shares: expected on or off, not ${o.dispatchShares} (see npm run simulate -- --help)`);
  process.exit(2);
}
if (o.accounting !== 'end' && o.accounting !== 'running') {
  console.error(`--accounting: expected end or running, not ${o.accounting} (see npm run simulate -- --help)`);
  process.exit(2);
}
if (o.durations !== 'heavy' && o.durations !== 'minutes') {
  console.error(`--durations: expected heavy or minutes, not ${o.durations} (see npm run simulate -- --help)`);
  process.exit(2);
}
const duration = o.durations === 'heavy' ? heavyTailedDuration : minutesDuration;
const meanDuration = o.durations === 'heavy' ? MEAN_DURATION_SECONDS : MINUTES_MEAN_SECONDS;
const random = seededRandom(o.seed);
const tenants = paretoTenants(o.tenants, o.devices, o.load, random, meanDuration, o.late, o.hours * 3600);
const t0 = performance.now();
const r = simulate({
  devices: o.devices,
  tenants,
  seconds: o.hours * 3600,
  tickSeconds: o.tick,
  halfLifeSeconds: o.halfLife,
  catchUpSeconds: o.catchUp,
  windowSeconds: o.windowHours * 3600,
  windowStepSeconds: 3600,
  random,
  duration,
  preempt:
    o.preemption === 'on'
      ? policyHook({
          devices: o.devices,
          minRuntimeSeconds: o.minRuntime,
          roundingMinRuntimeSeconds: o.roundingRuntime,
          names: tenants.map((t) => t.name),
        })
      : undefined,
  restartSeconds: o.restart,
  accounting: o.accounting,
  dispatchShares: o.dispatchShares === 'on',
  preemptionDelaySeconds: o.preemption === 'on' ? o.minRuntime + o.tick : undefined,
});
const wall = (performance.now() - t0) / 1000;

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '–');
const dur = (s: number) =>
  s >= 86_400
    ? `${(s / 86_400).toFixed(1)} d`
    : s >= 3600
      ? `${(s / 3600).toFixed(1)} h`
      : `${(s / 60).toFixed(1)} min`;
const weights = tenants.map((t) => t.weight).sort((a, b) => b - a);
console.log(
  `simulate — ${o.devices} devices, ${o.tenants} tenants (weights: largest ${weights[0]}, median ` +
    `${weights[Math.floor(weights.length / 2)]}, sum ${weights.reduce((a, b) => a + b, 0).toFixed(0)}), ` +
    `${o.hours} h, load ${o.load}, ${(o.late * 100).toFixed(0)} % late tenants, ` +
    `mean job ${dur(meanDuration)} (${o.durations}), half-life ${o.halfLife} s, catch-up ${o.catchUp} s, ` +
    `tick ${o.tick} s, seed ${o.seed}, usage charged ${o.accounting === 'end' ? 'at job end' : 'as jobs run'}, ` +
    `dispatch by share ${o.dispatchShares}, preemption ${o.preemption}` +
    (o.preemption === 'on'
      ? ` (min run time ${o.minRuntime} s, rounding swaps after ${o.roundingRuntime} s, ` +
        `${o.restart} s lost per preemption)`
      : ''),
);
console.log(
  `jobs: ${r.jobsSubmitted} submitted, ${r.jobsStarted} started, ${r.jobsFinished} finished; ` +
    `utilization ${pct(r.utilization)}; longest job ${dur(r.longestJobSeconds)}; ` +
    `submit→start p50 ${dur(r.jobWaitSeconds.p50)}, p99 ${dur(r.jobWaitSeconds.p99)}`,
);
const se = r.shareError;
const worstHour = se.worstWindowStartSeconds === null ? '–' : se.worstWindowStartSeconds / 3600;
console.log(
  `share error over ${o.windowHours} h windows (${se.samples} tenant-windows with work throughout): ` +
    `p50 ${pct(se.p50)}, p95 ${pct(se.p95)}, p99 ${pct(se.p99)}, worst ${pct(se.worst)} ` +
    `(${se.worstTenant}, window from hour ${worstHour}, ${se.worstOver ? 'over' : 'under'} a target of ` +
    `${se.worstTargetDevices.toFixed(1)} devices)`,
);
console.log(
  `  tenants whose target is ≥ 1 % of the devices (${se.large.samples} tenant-windows): p50 ${pct(se.large.p50)}, ` +
    `p95 ${pct(se.large.p95)}, worst ${pct(se.large.worst)}`,
);
const lw = r.longestWait;
console.log(
  `longest wait with queued work: ${dur(lw.seconds)} (${lw.tenant}; its bound, fair turn + longest job + 1 tick: ` +
    `${dur(lw.boundSeconds)}); worst wait/bound ${lw.worstRatio.toFixed(2)} (${lw.ratioTenant})` +
    (lw.worstRatio > 1 ? ' — OVER the bound' : ''),
);
const lu = r.longestWaitUnderShare;
console.log(
  `longest wait under its share: ${dur(lu.seconds)} (${lu.tenant}; its bound, fair turn + ` +
    `${o.preemption === 'on' ? 'preemption delay' : 'longest job'} + 1 tick: ${dur(lu.boundSeconds)}); ` +
    `worst wait/bound ${lu.worstRatio.toFixed(2)} (${lu.ratioTenant})` +
    (lu.worstRatio > 1 ? ' — OVER the bound' : '') +
    ` (${lu.overBound} of ${lu.waits} waits over)`,
);
const c = lu.context;
console.log(
  `  when it began: ${lu.tenant} held ${c.held} devices of a fair share of ${c.fairShare.toFixed(2)}, ` +
    `its key ${c.keyOverMedian.toFixed(2)}× the median of the tenants with work ` +
    `(${c.keyOverMedian > 1 ? 'paying back usage' : 'owed by dispatch'})`,
);
console.log(
  `plan compute per dispatch round: mean ${r.plan.meanMs.toFixed(2)} ms, p99 ${r.plan.p99Ms.toFixed(2)} ms ` +
    `(${r.plan.calls} rounds, ${r.plan.meanEligible.toFixed(0)} eligible tenants on average)`,
);
if (o.preemption === 'on') {
  const p = r.preemptions;
  const used = r.utilization * o.devices * o.hours * 3600;
  console.log(
    `preemptions: ${p.count} (${((p.count / Math.max(1, r.jobsStarted)) * 100).toFixed(2)} % of starts), most for ` +
      `one job ${p.maxPerJob}, work lost ${dur(p.lostDeviceSeconds)} of devices ` +
      `(${((100 * p.lostDeviceSeconds) / Math.max(1, used)).toFixed(3)} % of the device time used)`,
  );
  const ms = [...preemptionPlanMs].sort((a, b) => a - b);
  console.log(
    `preemption plan per round: mean ${(ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length)).toFixed(2)} ms, ` +
      `p99 ${(ms[Math.floor(0.99 * (ms.length - 1))] ?? 0).toFixed(2)} ms`,
  );
}
console.log(`simulated in ${wall.toFixed(1)} s`);
if (o.json) {
  fs.writeFileSync(
    o.json,
    JSON.stringify(
      {
        config: { ...o, json: undefined, meanJobSeconds: meanDuration },
        jobs: { submitted: r.jobsSubmitted, started: r.jobsStarted, finished: r.jobsFinished },
        utilization: r.utilization,
        longestJobSeconds: r.longestJobSeconds,
        jobWaitSeconds: r.jobWaitSeconds,
        shareError: r.shareError,
        longestWait: r.longestWait,
        longestWaitUnderShare: r.longestWaitUnderShare,
        plan: r.plan,
        preemptions: r.preemptions,
        wallSeconds: wall,
      },
      null,
      2,
    ) + '\n',
  );
}
