// One job: state and why it waits, progress, the live curve of a train job, the result (an
// infer job's answers), log lines, artifacts, preemptions, and cancel (after a confirmation).
import { useState } from 'preact/hooks';
import type { JobView } from '../../../../shared/job-view.ts';
import { api, ApiError } from '../api.ts';
import { ErrorBox, Progress, Section, StateBadge } from '../components.tsx';
import { times } from '../format.ts';
import { usePoll } from '../poll.ts';
import { Artifacts } from './job-artifacts.tsx';
import { Result, TrainFigures } from './job-result.tsx';
import { Curve } from '../curve.tsx';
import { useCurve } from './job-curve.ts';

const FINAL = ['succeeded', 'failed', 'cancelled'];

export function JobPage({ id, query }: { id: string; query: URLSearchParams }) {
  const [active, setActive] = useState(true);
  const job = usePoll(
    async () => {
      const v = await api<JobView>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
      if (FINAL.includes(v.state)) setActive(false);
      return v;
    },
    1000,
    [id],
    active,
  );
  const logs = usePoll(
    () => api<{ logs: string[] }>('GET', `/v1/jobs/${encodeURIComponent(id)}/logs`),
    2000,
    [id],
    active,
  );
  const v = job.data;
  // The whole curve so far when the page opens, then the new points as they are trained.
  const curve = useCurve(id, v, active);

  if (job.error instanceof ApiError && job.error.status === 404) {
    return (
      <>
        <h1>Job {id}</h1>
        <p class="error" role="alert">
          Job {id} not found: no job with this id is visible to your token.
        </p>
        <a href="#/jobs">Back to the jobs</a>
      </>
    );
  }
  if (!v) return job.error ? <ErrorBox error={job.error} /> : <p class="muted">Loading job {id}…</p>;
  const t = times(v);
  const then = query.get('then');

  return (
    <>
      <h1>
        {v.type} job <code>{v.id}</code> <StateBadge state={v.state} />
      </h1>
      <ErrorBox error={job.error} />
      <dl class="facts">
        <dt>Tenant</dt>
        <dd>{v.tenant}</dd>
        <dt>Priority</dt>
        <dd>{v.priority}</dd>
        <dt>Queued for</dt>
        <dd>{t.queued}</dd>
        <dt>Running for</dt>
        <dd>{t.running || 'not started'}</dd>
        <dt>Worker</dt>
        <dd>{v.worker ?? 'none yet'}</dd>
        <dt>Attempts</dt>
        <dd>{v.attempts}</dd>
        <dt>Preemptions</dt>
        <dd>{v.preemptions === 0 ? 'none' : `${v.preemptions}${preemption(v)}`}</dd>
      </dl>
      {v.state === 'queued' && v.waitingFor && (
        <p class="waiting">
          <strong>Waiting:</strong> {v.waitingFor}
        </p>
      )}
      {then && (
        <p>
          Its answers: <a href={`#/jobs/${encodeURIComponent(then)}`}>job {then}</a> (waits for this one).
        </p>
      )}
      {!FINAL.includes(v.state) && (
        <p class="progress-line">
          <Progress percent={v.progress?.percent ?? 0} /> {v.progress?.message ?? ''}
        </p>
      )}
      {v.error && (
        <p class="error" role="alert">
          {v.error}
        </p>
      )}
      {!FINAL.includes(v.state) && <Cancel id={v.id} onDone={job.refresh} />}
      {v.type === 'train' && (
        <Section title="Learning curve">
          <TrainFigures job={v} />
          <ErrorBox error={curve.error} />
          <Curve points={curve.data?.points ?? []} />
        </Section>
      )}
      {v.result !== null && v.result !== undefined && <Result job={v} />}
      <Section title="Log">
        <ErrorBox error={logs.error} />
        {logs.data && logs.data.logs.length === 0 && <p class="muted">No log lines yet.</p>}
        {logs.data && logs.data.logs.length > 0 && <pre class="log">{logs.data.logs.join('\n')}</pre>}
      </Section>
      <Artifacts id={v.id} state={v.state} />
    </>
  );
}

function preemption(v: JobView): string {
  const p = v.lastPreemption;
  if (!p) return '';
  const why =
    p.reason === 'priority'
      ? `for a higher-priority job of tenant ${p.forTenant}`
      : `for tenant ${p.forTenant} (at ${Math.round(100 * p.share)} % of a ${Math.round(100 * p.target)} % share)`;
  const lost = Math.round(p.lostDeviceSeconds);
  return `; the last after ${Math.round(p.ranSeconds)} s on ${p.worker}, ${why}, losing ${lost} device-seconds`;
}

function Cancel({ id, onDone }: { id: string; onDone: () => void }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const confirm = async () => {
    try {
      await api('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`);
      setAsking(false);
      onDone();
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <div class="cancel">
      {!asking && (
        <button type="button" class="danger" onClick={() => setAsking(true)}>
          Cancel job
        </button>
      )}
      {asking && (
        <p role="alertdialog" aria-label="Confirm cancel">
          Cancel job {id}? Its work so far is lost.{' '}
          <button type="button" class="danger" onClick={confirm} autoFocus>
            Yes, cancel it
          </button>{' '}
          <button type="button" class="secondary" onClick={() => setAsking(false)}>
            No, keep it
          </button>
        </p>
      )}
      <ErrorBox error={error} />
    </div>
  );
}
