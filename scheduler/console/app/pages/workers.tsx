// The live workers: adapter, region, features, slots in use and the jobs they run (a tenant
// sees its own jobs only, as the API gives them; the busy slots count everyone's).
import type { WorkerList } from '../../../../shared/api-responses.ts';
import { api } from '../api.ts';
import { ErrorBox } from '../components.tsx';
import { duration } from '../format.ts';
import { usePoll } from '../poll.ts';

export function WorkersPage({ admin }: { admin: boolean }) {
  const { data, error } = usePoll(() => api<WorkerList>('GET', '/v1/workers'), 2000, []);
  const workers = data?.workers ?? [];
  const now = Date.now();
  return (
    <>
      <h1>Workers</h1>
      <ErrorBox error={error} />
      {data && workers.length === 0 && (
        <p class="muted">No worker is online: jobs wait until one starts (see docs/operations.md).</p>
      )}
      {workers.length > 0 && !admin && (
        <p class="muted">Slots in use count every tenant's jobs; only your own are listed.</p>
      )}
      {workers.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Worker</th>
              <th scope="col">Adapter</th>
              <th scope="col">Region</th>
              <th scope="col">Features</th>
              <th scope="col">Slots in use</th>
              <th scope="col">{admin ? 'Running' : 'Your jobs running'}</th>
              <th scope="col">Up</th>
            </tr>
          </thead>
          <tbody>
            {workers.map((w) => (
              <tr key={w.id}>
                <td>{w.name}</td>
                <td>
                  {w.adapter} <span class="muted">({w.caps.backend})</span>
                </td>
                <td>{w.caps.region}</td>
                <td class="features">{w.caps.features.join(', ') || 'none'}</td>
                <td>
                  {w.busy} / {w.concurrency}
                </td>
                <td>
                  {w.running.map((id) => (
                    <a key={id} href={`#/jobs/${encodeURIComponent(id)}`} class="chip">
                      {id}
                    </a>
                  ))}
                </td>
                <td>{duration(now - Date.parse(w.startedAt))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
