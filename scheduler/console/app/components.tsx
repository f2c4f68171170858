// Small pieces the pages share: state badges, progress bars, error boxes.
import type { JobState } from '../../../shared/job-view.ts';
import type { ComponentChildren } from 'preact';

export function StateBadge({ state }: { state: JobState }) {
  return <span class={`state state-${state}`}>{state}</span>;
}

export function Progress({ percent }: { percent: number | undefined }) {
  if (percent === undefined) return null;
  const p = Math.max(0, Math.min(100, Math.round(percent)));
  return (
    <span class="progress" role="progressbar" aria-valuenow={p} aria-valuemin={0} aria-valuemax={100}>
      <span class="bar" style={{ width: `${p}%` }} />
      <span class="label">{p} %</span>
    </span>
  );
}

export function ErrorBox({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error.message}
    </p>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
