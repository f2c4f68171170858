// Who the token is: an operator (may list tenants: sees all jobs, a tenant filter) or a
// tenant. An operator is a caller that GET /v1/tenants answers: one call tells who it is
// (as GET /v1/tenant would) and gives the tenant table the filter needs.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, onConnection } from './api.ts';

export interface TenantRow {
  name: string;
  weight?: number;
  maxRunning?: number;
  maxQueued?: number;
}

export interface Session {
  admin: boolean;
  /** The tenant table (operators only). */
  tenants: TenantRow[];
}

export function useSession(token: string): Session | null {
  const [session, setSession] = useState<Session | null>(null);
  const [retry, setRetry] = useState(0);
  useEffect(() => {
    let stopped = false;
    api<{ tenants: TenantRow[] }>('GET', '/v1/tenants').then(
      (r) => !stopped && setSession({ admin: true, tenants: r.tenants }),
      (e: ApiError) => {
        if (stopped) return;
        if (e.status === 403) setSession({ admin: false, tenants: [] });
        // Unreachable: try again (the banner says why); 401: the token form shows.
        else if (e.status !== 401) setTimeout(() => setRetry((n) => n + 1), 2000);
      },
    );
    return () => {
      stopped = true;
    };
  }, [token, retry]);
  // A token entered after a 401 reloads the session.
  useEffect(() => onConnection((c) => c.needsToken && setSession(null)), []);
  return session;
}
