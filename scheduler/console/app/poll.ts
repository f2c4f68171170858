// Polling that stands for "live": every `ms` while the tab is visible, paused while hidden,
// resumed at once when it shows again. Errors are kept for the view to show; polling goes on.
import { useEffect, useState, useCallback, useRef } from 'preact/hooks';

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Poll now (after a change the view made). */
  refresh: () => void;
}

export function usePoll<T>(fetcher: () => Promise<T>, ms: number, deps: unknown[], active = true): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const kick = useRef<() => void>(() => {});
  const key = JSON.stringify(deps);
  const lastKey = useRef(key);

  useEffect(() => {
    // Other things to poll: forget the old ones. `active` alone changing keeps what was seen.
    if (lastKey.current !== key) {
      lastKey.current = key;
      setData(undefined);
      setError(undefined);
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight = false;
    const tick = async () => {
      clearTimeout(timer);
      if (stopped || inFlight) return;
      inFlight = true;
      try {
        const d = await fetcher();
        if (!stopped) {
          setData(d);
          setError(undefined);
        }
      } catch (e) {
        if (!stopped) setError(e as Error);
      } finally {
        inFlight = false;
      }
      if (!stopped && active && !document.hidden) timer = setTimeout(run, ms);
    };
    // tick catches the fetcher's errors; this catches a bug in tick itself.
    const run = (): void => {
      tick().catch((e: Error) => setError(e));
    };
    kick.current = run;
    const onVisible = () => {
      if (!document.hidden && active) run();
    };
    document.addEventListener('visibilitychange', onVisible);
    run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [key, active]);

  const refresh = useCallback(() => kick.current(), []);
  return { data, error, refresh };
}
