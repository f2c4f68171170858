// The usine web console: one page over the API (issue 15). Hash routes, one page per file.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { getToken, onConnection, setToken, type Connection } from './api.ts';
import { useRoute } from './router.ts';
import { useSession } from './session.ts';
import { JobsPage } from './pages/jobs.tsx';
import { JobPage } from './pages/job.tsx';
import { SubmitPage } from './pages/submit.tsx';
import { TenantPage } from './pages/tenant.tsx';
import { WorkersPage } from './pages/workers.tsx';
import { TokenPage } from './pages/token.tsx';
import { KernelsPage } from './kernels/page.tsx';

const NAV = [
  ['jobs', 'Jobs'],
  ['submit', 'Submit'],
  ['tenant', 'Tenant'],
  ['workers', 'Workers'],
  ['kernels', 'Kernels'],
  ['token', 'Token'],
] as const;

function App() {
  const route = useRoute();
  const [conn, setConn] = useState<Connection>({ lost: null, needsToken: false });
  const [token, setTok] = useState(getToken());
  useEffect(() => onConnection(setConn), []);
  const session = useSession(token);
  const page = route.parts[0] ?? 'jobs';
  const saveToken = (t: string) => {
    setToken(t);
    setTok(t);
  };

  let body;
  if (conn.needsToken || page === 'token')
    body = <TokenPage token={token} onSave={saveToken} asked={conn.needsToken} />;
  else if (!session) body = <p class="muted">Connecting to the scheduler…</p>;
  else if (page === 'jobs' && route.parts[1])
    body = <JobPage key={route.parts[1]} id={route.parts[1]} query={route.query} />;
  else if (page === 'jobs') body = <JobsPage session={session} query={route.query} />;
  else if (page === 'submit') body = <SubmitPage session={session} query={route.query} />;
  else if (page === 'tenant') body = <TenantPage session={session} />;
  else if (page === 'workers') body = <WorkersPage admin={session.admin} />;
  else if (page === 'kernels') body = <KernelsPage />;
  else body = <p class="error">No page "{page}": choose one above.</p>;

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <strong class="brand">usine</strong>
        <nav aria-label="Pages">
          {NAV.map(([id, label]) => (
            <a href={`#/${id}`} aria-current={page === id ? 'page' : undefined} key={id}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">{session ? (session.admin ? 'operator' : 'tenant token') : ''}</span>
      </header>
      {conn.lost && (
        <div class="banner" role="alert">
          Connection lost: {conn.lost}. Retrying…
        </div>
      )}
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading…" placeholder
render(<App />, root);
