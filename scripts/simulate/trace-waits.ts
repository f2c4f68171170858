// Traces the waits under a share that exceed their bound in `npm run simulate -- --preemption on`
// (same workload and defaults): for the worst ones, what the tenant held against its share, its
// dispatch key and rank while it waited, who got the devices freed meanwhile, and which
// preemption rule refused each would-be donor. Two passes over the same seeded run: the first
// finds the waits, the second looks inside the preemption rounds during them.
//   npx tsx scripts/simulate/trace-waits.ts [--seed S] [--durations heavy|minutes] [--top N] [--dispatch-shares off]
// (TRACE_AFTER=1: the donors left after each round's decisions, instead of those before.)
import { parseArgs } from 'node:util';
import { seededRandom } from '../../kernels/random.ts';
import { shareKey } from '../../scheduler/policy/fair-share.ts';
import { fairShares, ROUNDING_MIN_RUNTIME_SECONDS } from '../../scheduler/policy/preemption.ts';
import { simulate, type PreemptionHook, type SimConfig } from './core.ts';
import { policyHook } from './preemption.ts';
import {
  heavyTailedDuration,
  minutesDuration,
  paretoTenants,
  MEAN_DURATION_SECONDS,
  MINUTES_MEAN_SECONDS,
} from './scenario.ts';

const { values: a } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    durations: { type: 'string', default: 'heavy' },
    top: { type: 'string', default: '20' },
    'min-runtime': { type: 'string', default: '120' },
    'rounding-runtime': { type: 'string', default: String(ROUNDING_MIN_RUNTIME_SECONDS) },
    'dispatch-shares': { type: 'string', default: 'on' },
  },
});
const heavy = a.durations !== 'minutes';
const minRuntime = Number(a['min-runtime']);
const roundingRuntime = Number(a['rounding-runtime']);
const devices = 10_000;
const tick = 60;

function config(random: () => number, hook: PreemptionHook, extra: Partial<SimConfig>): SimConfig {
  const tenants = paretoTenants(
    1000,
    devices,
    2,
    random,
    heavy ? MEAN_DURATION_SECONDS : MINUTES_MEAN_SECONDS,
    0.1,
    24 * 3600,
  );
  return {
    devices,
    tenants,
    seconds: 24 * 3600,
    tickSeconds: tick,
    halfLifeSeconds: 900,
    catchUpSeconds: 60,
    windowSeconds: 6 * 3600,
    windowStepSeconds: 3600,
    random,
    duration: heavy ? heavyTailedDuration : minutesDuration,
    preempt: hook,
    restartSeconds: 60,
    accounting: 'running',
    dispatchShares: a['dispatch-shares'] !== 'off',
    preemptionDelaySeconds: minRuntime + tick,
    ...extra,
  };
}
const hookFor = (names: string[]) =>
  policyHook({ devices, minRuntimeSeconds: minRuntime, roundingMinRuntimeSeconds: roundingRuntime, names });
const namesOf = (seed: number) => paretoTenants(1000, devices, 2, seededRandom(seed)).map((t) => t.name);

// Pass 1: the waits over their bound, and each tick's state.
const seed = Number(a.seed);
const names = namesOf(seed);
const ticks = 24 * 60;
const n = names.length;
const held = Array.from({ length: ticks }, () => new Int32Array(n));
const keyAt = Array.from({ length: ticks }, () => new Float64Array(n));
const fairAt = Array.from({ length: ticks }, () => new Float64Array(n));
const rankAt = Array.from({ length: ticks }, () => new Int32Array(n).fill(-1));
const dispatched = Array.from({ length: ticks }, () => new Map<number, number>());
const preempted = Array.from({ length: ticks }, () => new Map<number, number>());
const over: { tenant: number; from: number; seconds: number; bound: number }[] = [];
let meanNow = 1;
const inc = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
const baseHook = hookFor(names);
simulate(
  config(seededRandom(seed), (now, running, loads, mean) => ((meanNow = mean), baseHook(now, running, loads, mean)), {
    onStart: (i, t, how) => inc((how === 'dispatch' ? dispatched : preempted)[t], i),
    onUnderWait: (tenant, from, seconds, bound) => {
      if (seconds > bound) over.push({ tenant, from, seconds, bound });
    },
    observe: (t, loads) => {
      const fair = fairShares(
        devices,
        loads.map((l) => ({ name: l.name, weight: l.weight, demand: l.running + l.queued })),
      );
      const order = loads
        .map((l, i) => ({ i, key: shareKey(l, meanNow), l }))
        .filter((x) => x.l.queued > 0)
        .sort((x, y) => x.key - y.key);
      order.forEach((x, r) => (rankAt[t][x.i] = r));
      loads.forEach((l, i) => {
        held[t][i] = l.running;
        keyAt[t][i] = shareKey(l, meanNow);
        fairAt[t][i] = fair.get(l.name)!;
      });
    },
  }),
);
over.sort((x, y) => y.seconds / y.bound - x.seconds / x.bound);
const worst = over.slice(0, Number(a.top));
console.log(`seed ${seed}, ${heavy ? 'heavy' : 'minutes'}: ${over.length} waits under a share over their bound`);

// Pass 2: inside the preemption rounds during the worst waits, why each would-be donor was refused.
interface Why {
  ticks: number;
  notUnder: number;
  whole: number;
  wholeNoJob: number;
  rounding: number;
  roundingNoOldJob: number;
  rule4: number;
  noDonor: number;
  /** Decisions for other tenants during the wait: for a taker a whole slot under, and for one less. */
  forWholeTakers: number;
  forRoundingTakers: number;
}
const why = new Map<(typeof worst)[number], Why>();
const watching = (t: number) => worst.filter((w) => t * tick >= w.from && t * tick < w.from + w.seconds);
const hook2 = hookFor(names);
simulate(
  config(
    seededRandom(seed),
    (now, running, loads, mean) => {
      const decisions = hook2(now, running, loads, mean);
      const t = Math.round(now / tick);
      const list = watching(t);
      if (!list.length) return decisions;
      const fair = fairShares(
        devices,
        loads.map((l) => ({ name: l.name, weight: l.weight, demand: l.running + l.queued })),
      );
      const f = (i: number) => fair.get(loads[i].name)!;
      const jobs = Array.from({ length: n }, () => ({ young: 0, ok: 0, old: 0 }));
      for (const r of running) {
        const age = now - r.started;
        if (age >= minRuntime * 2 ** (r.preempted ?? 0)) {
          jobs[r.tenant].ok++;
          if (age >= roundingRuntime) jobs[r.tenant].old++;
        } else jobs[r.tenant].young++;
      }
      // The state after this round's decisions: what was left for the waiting tenant.
      const after = process.env.TRACE_AFTER === '1';
      const r0 = loads.map((l) => l.running);
      if (after)
        for (const d of decisions) {
          r0[d.victim.tenant]--;
          r0[d.forTenant]++;
          jobs[d.victim.tenant].ok--;
          if (now - d.victim.started >= roundingRuntime) jobs[d.victim.tenant].old--;
        }
      for (const w of list) {
        const A = { ...loads[w.tenant], running: r0[w.tenant] };
        const y = why.get(w) ?? {
          ticks: 0,
          notUnder: 0,
          whole: 0,
          wholeNoJob: 0,
          rounding: 0,
          roundingNoOldJob: 0,
          rule4: 0,
          noDonor: 0,
          forWholeTakers: 0,
          forRoundingTakers: 0,
        };
        why.set(w, y);
        y.ticks++;
        const rA = A.running;
        const fA = f(w.tenant);
        for (const d of decisions) {
          const j = d.forTenant;
          if (j === w.tenant) continue;
          if (loads[j].running + 1 <= f(j) + 1e-9) y.forWholeTakers++;
          else y.forRoundingTakers++;
        }
        if (rA + 0.5 >= fA - 1e-9) {
          y.notUnder++;
          continue;
        }
        let whole = 0;
        let wholeNoJob = 0;
        let rounding = 0;
        let roundingNoOld = 0;
        let refused4 = 0;
        for (let b = 0; b < n; b++) {
          if (b === w.tenant) continue;
          const B = { ...loads[b], running: r0[b] };
          const fB = f(b);
          if (!(B.running - 0.5 > fB + 1e-9)) continue; // rule 3
          if (!((rA + 0.5) / A.weight < (B.running - 0.5) / B.weight - 1e-9)) {
            refused4++;
            continue;
          }
          const isWhole =
            B.running - 1 >= fB - 1e-9 &&
            rA + 1 <= fA + 1e-9 &&
            (rA + 1) / A.weight <= (B.running - 1) / B.weight + 1e-9;
          if (isWhole) {
            if (jobs[b].ok) whole++;
            else wholeNoJob++;
          } else if (jobs[b].old) rounding++;
          else roundingNoOld++;
        }
        if (whole) y.whole++;
        else if (rounding) y.rounding++;
        else if (wholeNoJob) y.wholeNoJob++;
        else if (roundingNoOld) y.roundingNoOldJob++;
        else if (refused4) y.rule4++;
        else y.noDonor++;
      }
      return decisions;
    },
    {},
  ),
);

const fmt = (x: number, d = 1) => x.toFixed(d);
for (const w of worst) {
  const i = w.tenant;
  const t0 = Math.round(w.from / tick);
  const t1 = Math.min(ticks - 1, t0 + Math.round(w.seconds / tick) - 1);
  let freed = 0;
  let toOthers = 0;
  let lowerKey = 0;
  const ranks: number[] = [];
  const eligible: number[] = [];
  for (let t = t0 + 1; t <= t1 + 1 && t < ticks; t++) {
    for (const [j, k] of dispatched[t]) {
      freed += k;
      if (j !== i) toOthers += k;
      if (j !== i && keyAt[t - 1][j] < keyAt[t - 1][i]) lowerKey += k;
    }
    ranks.push(rankAt[t - 1][i]);
    eligible.push(rankAt[t - 1].reduce((s, r) => s + (r >= 0 ? 1 : 0), 0));
  }
  const y = why.get(w);
  const weightOf = config(seededRandom(seed), baseHook, {}).tenants[i].weight;
  console.log(
    `${names[i]} w ${weightOf} from ${fmt(w.from / 3600, 2)} h: waited ${fmt(w.seconds / 60)} min, bound ` +
      `${fmt(w.bound / 60)} (×${fmt(w.seconds / w.bound, 2)}); held ${held[t0][i]} of ${fmt(fairAt[t0][i], 2)}` +
      ` → ${held[t1][i]} of ${fmt(fairAt[t1][i], 2)}; dispatch rank (by key) ${ranks.join(',')} of ~${eligible[0]}; ` +
      `dispatched meanwhile ${freed} (${toOthers} to others, ${lowerKey} with a lower key)`,
  );
  if (y)
    console.log(
      `   preemption rounds ${y.ticks}: not under by > ½ ${y.notUnder}; a whole-slot donor with a job ${y.whole}, ` +
        `a rounding donor with a 30-min job ${y.rounding}; only whole donors without a job past rule 6 ` +
        `${y.wholeNoJob}; only rounding donors without a job past rule 7 ${y.roundingNoOldJob}; ` +
        `only donors refused by rule 4 ${y.rule4}; no donor over by > ½ ${y.noDonor}; ` +
        `preemptions for others meanwhile: ${y.forWholeTakers} for a taker a whole slot under, ` +
        `${y.forRoundingTakers} for one less`,
    );
}
