// Human-readable rendering of API objects for the CLI.
import { describePreemption, type JobView, type MatmulResult } from '../shared/job-view.ts';
import type { UsageView, WorkerView } from './client.ts';

function isMatmul(r: unknown): r is MatmulResult {
  return !!r && typeof r === 'object' && 'gflops' in r && 'check' in r;
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

export function formatUsage(u: UsageView): string {
  const rows = u.tenants.map((t) => [t.tenant, t.deviceSeconds.toFixed(1), String(t.jobs), (t.flops / 1e9).toFixed(2)]);
  return (
    `usage from ${u.from} to ${u.to} (whole hours)\n` +
    (rows.length ? table(['TENANT', 'DEVICE-SECONDS', 'JOBS', 'GFLOP'], rows) : 'no usage')
  );
}
