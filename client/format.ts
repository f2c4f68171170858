// Human-readable rendering of API objects for the CLI.
import { describePreemption, type JobView, type MatmulResult } from '../shared/job-view.ts';
import type { UsageView, WorkerView } from './client.ts';
import { sparkline } from './sparkline.ts';

function isMatmul(r: unknown): r is MatmulResult {
  return !!r && typeof r === 'object' && 'gflops' in r && 'check' in r;
}

/** A train job's result, as worker/jobs/train-job.ts returns it. */
interface TrainResultView {
  steps: number;
  resumedFrom?: number;
  seconds: number;
  tokensPerSecond: number;
  losses: number[];
  evaluations?: { step: number; loss: number; tokenAccuracy: number; exactMatch: number }[];
  checkpoint?: string | null;
}

function isTrain(r: unknown): r is TrainResultView {
  return !!r && typeof r === 'object' && 'losses' in r && Array.isArray(r.losses) && 'steps' in r;
}

/** An infer job's result, as worker/jobs/infer-job.ts returns it. */
interface InferResultView {
  checkpoint: string;
  tokensPerSecond: number;
  outputs: { prompt: string; text: string }[];
}

function isInfer(r: unknown): r is InferResultView {
  return !!r && typeof r === 'object' && 'outputs' in r && Array.isArray(r.outputs);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** A training run in a few lines: a person wants the curve's shape, not its 600 numbers (those are in --json). */
export function formatTrainResult(r: TrainResultView): string[] {
  const resumed = r.resumedFrom ? ` (resumed from step ${r.resumedFrom})` : '';
  const lines = [
    `  trained ${r.steps} steps${resumed} in ${r.seconds.toFixed(1)} s, ${Math.round(r.tokensPerSecond)} tokens/s`,
  ];
  const losses = r.losses;
  if (losses.length) {
    const first = (r.resumedFrom ?? 0) + 1;
    const last = first + losses.length - 1;
    lines.push(
      `  loss: ${losses[0].toFixed(4)} at step ${first} → ${losses.at(-1)!.toFixed(4)} at step ${last}`,
      `  curve: ${sparkline(losses)}`,
    );
  }
  const e = r.evaluations?.at(-1);
  if (e)
    lines.push(
      `  held-out at step ${e.step}: loss ${e.loss.toFixed(4)}, token accuracy ${pct(e.tokenAccuracy)}, ` +
        `exact match ${pct(e.exactMatch)}`,
    );
  if (r.checkpoint) lines.push(`  checkpoint: artifact ${r.checkpoint}; usine download ${r.checkpoint}`);
  lines.push('  (every loss and evaluation: --json)');
  return lines;
}

/** The first answers of an infer job; all of them are in --json. */
export function formatInferResult(r: InferResultView, shown = 10): string[] {
  const lines = [
    `  ${r.outputs.length} answer${r.outputs.length === 1 ? '' : 's'} from checkpoint ${r.checkpoint}, ` +
      `${Math.round(r.tokensPerSecond)} tokens/s`,
  ];
  for (const o of r.outputs.slice(0, shown)) lines.push(`  ${JSON.stringify(o.prompt)} → ${JSON.stringify(o.text)}`);
  if (r.outputs.length > shown) lines.push(`  … ${r.outputs.length - shown} more (all of them: --json)`);
  return lines;
}

export function formatJob(v: JobView): string {
  const lines = [`job ${v.id} (${v.type}, tenant ${v.tenant}): ${v.state}${v.worker ? ` on worker ${v.worker}` : ''}`];
  lines.push(
    `  created ${v.createdAt}${v.startedAt ? `, started ${v.startedAt}` : ''}${v.finishedAt ? `, finished ${v.finishedAt}` : ''}`,
  );
  if (v.attempts > 1) lines.push(`  attempts: ${v.attempts}`);
  if (v.waitingFor) lines.push(`  waiting: ${v.waitingFor}`);
  // (A scheduler older than preemption sends no `preemptions`: nothing is shown.)
  if (v.preemptions)
    lines.push(
      `  preempted ${v.preemptions}×${v.lastPreemption ? ` — last: ${describePreemption(v.lastPreemption)}` : ''}`,
    );
  if (v.progress && v.state === 'running')
    lines.push(`  progress: ${v.progress.percent}%${v.progress.message ? ` ${v.progress.message}` : ''}`);
  if (v.error) lines.push(`  error: ${v.error}`);
  const r = v.result;
  if (isMatmul(r)) {
    lines.push(`  adapter: ${r.adapter}`);
    lines.push(`  matmul ${r.m}×${r.n}×${r.k}: ${r.ms.toFixed(2)} ms, ${r.gflops.toFixed(2)} GFLOP/s`);
    lines.push(
      `  check: ${r.check.samples} sampled entries vs CPU reference, max |error| ${r.check.maxAbsError.toExponential(2)} ` +
        `(tolerance ${r.check.tolerance.toExponential(2)}): ${r.check.passed ? 'passed' : 'FAILED'}`,
    );
    lines.push(`  checksum: ${r.checksum}`);
    if (r.output)
      lines.push(
        `  output: artifact ${r.output.artifact} (${r.output.bytes} bytes, ${r.output.format}); usine download ${r.output.artifact}`,
      );
  } else if (isTrain(r)) {
    lines.push(...formatTrainResult(r));
  } else if (isInfer(r)) {
    lines.push(...formatInferResult(r));
  } else if (r !== null && r !== undefined) {
    lines.push(`  result: ${JSON.stringify(r)}`);
  }
  return lines.join('\n');
}

/** Rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatJobList(jobs: JobView[]): string {
  if (jobs.length === 0) return 'no jobs';
  return table(
    ['ID', 'TYPE', 'TENANT', 'STATE', 'PRIO', 'CREATED', 'WORKER'],
    jobs.map((j) => [j.id, j.type, j.tenant, j.state, String(j.priority), j.createdAt, j.worker ?? '']),
  );
}

export function formatWorkers(ws: WorkerView[]): string {
  if (ws.length === 0) return 'no live workers';
  return table(
    ['NAME', 'ADAPTER', 'REGION', 'SLOTS', 'RUNNING', 'FEATURES', 'LAST HEARTBEAT'],
    ws.map((w) => [
      w.name,
      w.adapter,
      w.caps.region,
      String(w.concurrency),
      w.running.join(',') || '-',
      w.caps.features.filter((f) => ['shader-f16', 'subgroups', 'timestamp-query'].includes(f)).join(','),
      w.lastHeartbeat,
    ]),
  );
}

/** Joules as a person reads energy: J, kJ, then Wh and kWh (what a power bill counts in). */
export function formatEnergy(joules: number): string {
  if (joules < 1000) return `${joules.toFixed(0)} J`;
  if (joules < 36_000) return `${(joules / 1000).toFixed(1)} kJ`;
  if (joules < 3_600_000) return `${(joules / 3600).toFixed(1)} Wh`;
  return `${(joules / 3_600_000).toFixed(2)} kWh`;
}

export function formatUsage(u: UsageView): string {
  const rows = u.tenants.map((t) => [
    t.tenant,
    t.deviceSeconds.toFixed(1),
    String(t.jobs),
    (t.flops / 1e9).toFixed(2),
    t.joules === undefined ? '-' : formatEnergy(t.joules),
  ]);
  return (
    `usage from ${u.from} to ${u.to} (whole hours; energy is estimated)\n` +
    (rows.length ? table(['TENANT', 'DEVICE-SECONDS', 'JOBS', 'GFLOP', 'ENERGY'], rows) : 'no usage')
  );
}
