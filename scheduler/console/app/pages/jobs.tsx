// The jobs list: the tenant's own (an operator's: everyone's, with a tenant filter), filtered
// by state and type, refreshed every 2 s. The API returns at most `limit` (≤ 1000) jobs; the
// page asks for 100 and more on request, so a 1,000-job tenant loads at once.
import type { JobView } from '../../../../shared/job-view.ts';
import { api } from '../api.ts';
import { ErrorBox, Progress, StateBadge } from '../components.tsx';
import { times } from '../format.ts';
import { usePoll } from '../poll.ts';
import { go, href } from '../router.ts';
import type { Session } from '../session.ts';

const STATES = ['queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'];
const TYPES = ['matmul', 'train', 'infer', 'noop'];
const PAGE = 100;

export function JobsPage({ session, query }: { session: Session; query: URLSearchParams }) {
  const filters = {
    state: query.get('state') ?? undefined,
    type: query.get('type') ?? undefined,
    tenant: query.get('tenant') ?? undefined,
  };
  const limit = Math.min(1000, Number(query.get('limit')) || PAGE);
  const q = new URLSearchParams({ limit: String(limit) });
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const { data, error } = usePoll(() => api<{ jobs: JobView[] }>('GET', `/v1/jobs?${q}`), 2000, [q.toString()]);
  const set = (k: string, v: string) => go(href('jobs', { ...filters, [k]: v || undefined }));
  const jobs = data?.jobs ?? [];
  const now = Date.now();

  return (
    <>
      <h1>Jobs</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State{' '}
          <select name="state" value={filters.state ?? ''} onChange={(e) => set('state', e.currentTarget.value)}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Type{' '}
          <select name="type" value={filters.type ?? ''} onChange={(e) => set('type', e.currentTarget.value)}>
            <option value="">any</option>
            {TYPES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        {session.admin && (
          <label>
            Tenant{' '}
            <select name="tenant" value={filters.tenant ?? ''} onChange={(e) => set('tenant', e.currentTarget.value)}>
              <option value="">all</option>
              {session.tenants.map((t) => (
                <option key={t.name}>{t.name}</option>
              ))}
            </select>
          </label>
        )}
        <a class="button" href="#/submit">
          Submit a job
        </a>
      </form>
      <ErrorBox error={error} />
      {data && jobs.length === 0 && <p class="muted">No jobs{filters.state || filters.type ? ' match' : ' yet'}.</p>}
      {jobs.length > 0 && (
        <table class="jobs">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Type</th>
              {session.admin && <th scope="col">Tenant</th>}
              <th scope="col">State</th>
              <th scope="col">Progress</th>
              <th scope="col">Queued</th>
              <th scope="col">Running</th>
              <th scope="col">Worker</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => {
              const t = times(j, now);
              return (
                <tr key={j.id}>
                  <td>
                    <a href={`#/jobs/${encodeURIComponent(j.id)}`}>{j.id}</a>
                  </td>
                  <td>{j.type}</td>
                  {session.admin && <td>{j.tenant}</td>}
                  <td>
                    <StateBadge state={j.state} />
                  </td>
                  <td>
                    <Progress percent={j.state === 'succeeded' ? 100 : j.progress?.percent} />
                  </td>
                  <td>{t.queued}</td>
                  <td>{t.running}</td>
                  <td>{j.worker ?? ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {jobs.length >= limit && limit < 1000 && (
        <p>
          <a class="button secondary" href={href('jobs', { ...filters, limit: String(Math.min(1000, limit * 2)) })}>
            Show more (the first {limit} are shown)
          </a>
        </p>
      )}
      {jobs.length >= 1000 && <p class="muted">The first 1,000 are shown: filter by state or type to see others.</p>}
    </>
  );
}
