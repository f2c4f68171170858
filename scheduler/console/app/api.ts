// Calls to usine's API from the page: the token the user entered (kept in localStorage), one
// error shape, and the connection's state (a lost connection shows a banner; polls retry).
const TOKEN_KEY = 'usine.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { field: string; reason: string }[],
  ) {
    super(message);
  }
}

export function getToken(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token: string): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  emit();
}

/** What every view may need to know: is the scheduler reachable, and does it want a token. */
export interface Connection {
  lost: string | null;
  needsToken: boolean;
}

const state: Connection = { lost: null, needsToken: false };
const listeners = new Set<(c: Connection) => void>();
const emit = () => listeners.forEach((l) => l({ ...state }));

export function onConnection(l: (c: Connection) => void): () => void {
  listeners.add(l);
  l({ ...state });
  return () => listeners.delete(l);
}

function set(patch: Partial<Connection>): void {
  if (Object.entries(patch).every(([k, v]) => state[k as keyof Connection] === v)) return;
  Object.assign(state, patch);
  emit();
}

/** One API call; throws ApiError (the API's own, or status 0 when the scheduler cannot be reached). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: BodyInit | undefined;
  if (body instanceof Blob) {
    headers['content-type'] = 'application/octet-stream';
    payload = body;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload });
  } catch (e) {
    set({ lost: `cannot reach the scheduler (${(e as Error).message})` });
    throw new ApiError(0, 'unreachable', 'cannot reach the scheduler');
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page: reported below with its status.
  }
  // Any answer but 401 means the token (or open mode) was accepted.
  if (res.status !== 401) set({ needsToken: false });
  if (res.ok) {
    set({ lost: null });
    return json as T;
  }
  const err = (json as { error?: { code: string; message: string; details?: unknown } } | null)?.error;
  if (res.status === 503 || res.status === 502 || res.status === 504) {
    set({ lost: err?.message ?? `the scheduler answers ${res.status}` });
  } else {
    set({ lost: null });
  }
  if (res.status === 401) set({ needsToken: true });
  const details = Array.isArray(err?.details) ? (err.details as { field: string; reason: string }[]) : undefined;
  throw new ApiError(res.status, err?.code ?? 'http_' + res.status, err?.message ?? `HTTP ${res.status}`, details);
}
