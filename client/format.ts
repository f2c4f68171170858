// Human-readable rendering of API objects for the CLI.
import type { JobView, MatmulResult } from '../shared/job-view.ts';

function isMatmul(r: unknown): r is MatmulResult {
  return !!r && typeof r === 'object' && 'gflops' in r && 'check' in r;
}

export function formatJob(v: JobView): string {
  const lines = [`job ${v.id} (${v.type}): ${v.state}${v.worker ? ` on worker ${v.worker}` : ''}`];
  lines.push(`  created ${v.createdAt}${v.startedAt ? `, started ${v.startedAt}` : ''}${v.finishedAt ? `, finished ${v.finishedAt}` : ''}`);
  if (v.attempts > 1) lines.push(`  attempts: ${v.attempts}`);
  if (v.progress && v.state === 'running') lines.push(`  progress: ${v.progress.percent}%${v.progress.message ? ` ${v.progress.message}` : ''}`);
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
  } else if (r !== null && r !== undefined) {
    lines.push(`  result: ${JSON.stringify(r)}`);
  }
  return lines.join('\n');
}
