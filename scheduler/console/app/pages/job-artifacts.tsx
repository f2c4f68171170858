// A job's artifacts (checkpoints, outputs), each downloadable. Downloads carry the token, so
// they are fetched here and handed to the browser as a file rather than linked.
import { useState } from 'preact/hooks';
import { api, getToken } from '../api.ts';
import { ErrorBox, Section } from '../components.tsx';
import { bytes } from '../format.ts';
import { usePoll } from '../poll.ts';

interface Artifact {
  id: string;
  name: string;
  bytes: number;
  kind: string;
  createdAt: string;
  info?: Record<string, unknown>;
}

export function Artifacts({ id, state }: { id: string; state: string }) {
  const { data, error } = usePoll(
    () => api<{ artifacts: Artifact[] }>('GET', `/v1/jobs/${encodeURIComponent(id)}/artifacts`),
    5000,
    [id, state],
  );
  const [dlError, setDlError] = useState<Error | undefined>();
  const list = data?.artifacts ?? [];
  const download = async (a: Artifact) => {
    setDlError(undefined);
    try {
      const token = getToken();
      const res = await fetch(`/v1/artifacts/${encodeURIComponent(a.id)}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      if (!res.ok) throw new Error(`download of ${a.name} failed: HTTP ${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      const link = Object.assign(document.createElement('a'), { href: url, download: a.name });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setDlError(e as Error);
    }
  };
  return (
    <Section title="Artifacts">
      <ErrorBox error={error ?? dlError} />
      {data && list.length === 0 && <p class="muted">None yet.</p>}
      {list.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Size</th>
              <th scope="col">Step</th>
              <th scope="col">
                <span class="visually-hidden">Download</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id}>
                <td>{a.name}</td>
                <td>{a.kind}</td>
                <td>{bytes(a.bytes)}</td>
                <td>{typeof a.info?.step === 'number' ? a.info.step : ''}</td>
                <td>
                  <button type="button" class="secondary" onClick={() => download(a)}>
                    Download
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
