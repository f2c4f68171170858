// Hash routing: #/jobs, #/jobs/<id>, #/submit, #/tenant, #/workers, with an optional ?query.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  parts: string[];
  query: URLSearchParams;
}

function parse(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, q = ''] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener('hashchange', on);
    // The listener comes after the first paint: a hash changed before it (a link followed while
    // the page was still loading) had no one to hear it, and the page stayed on its first route.
    on();
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function go(hash: string): void {
  location.hash = hash;
}

/** `#/jobs?state=running`: a link with the non-empty parameters only. */
export function href(path: string, params: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => Boolean(e[1])));
  const s = q.toString();
  return `#/${path}${s ? `?${s}` : ''}`;
}
