// The Kernels page: usine's matmul and attention benchmark on the visitor's GPU (after a click),
// beside the figures the workers recorded.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { GflopsChart, type ChartPoint } from './gflops-chart.tsx';
import { fetchRecorded, type Recorded, type RecordedTuning } from './recorded.ts';
import {
  runBrowserBench,
  WANTED_FEATURES,
  type BenchProgress,
  type BrowserBenchResult,
  type BrowserBenchSizes,
} from './run-bench.ts';

export const NO_ADAPTER_MESSAGE =
  'This browser offers no WebGPU adapter, so the kernel benchmark cannot run here. ' +
  'Use a browser with WebGPU turned on (a recent Chrome or Edge; Firefox or Safari with WebGPU enabled), ' +
  'on a machine whose GPU driver it accepts.';

const NO_POINTS: ChartPoint[] = [];

type Probe = { state: 'probing' } | { state: 'none'; why: string } | { state: 'ready'; adapter: GPUAdapter };

async function probeAdapter(): Promise<Probe> {
  if (!('gpu' in navigator) || !navigator.gpu) return { state: 'none', why: 'navigator.gpu is missing' };
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  return adapter ? { state: 'ready', adapter } : { state: 'none', why: 'navigator.gpu.requestAdapter() gave none' };
}

function adapterName(a: { vendor: string; architecture: string; device: string; description: string }): string {
  return [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' · ') || 'unnamed adapter';
}

/** `sizes` is for tests and demos; the console mounts it without props (DEFAULT_SIZES). */
export function KernelsPage({ sizes }: { sizes?: Partial<BrowserBenchSizes> } = {}) {
  const [probe, setProbe] = useState<Probe>({ state: 'probing' });
  const [progress, setProgress] = useState<BenchProgress | null>(null);
  const [result, setResult] = useState<BrowserBenchResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [recorded, setRecorded] = useState<Recorded | null>(null);
  const [recordedError, setRecordedError] = useState<string | null>(null);

  useEffect(() => {
    probeAdapter().then(setProbe, (e: Error) => setProbe({ state: 'none', why: e.message }));
    fetchRecorded().then(setRecorded, (e: Error) => setRecordedError(e.message));
  }, []);

  async function run(adapter: GPUAdapter) {
    setRunning(true);
    setError(null);
    setResult(null);
    let device: GPUDevice | undefined;
    try {
      device = await adapter.requestDevice({
        requiredFeatures: WANTED_FEATURES.filter((f) => adapter.features.has(f)),
      });
      setResult(await runBrowserBench({ device, sizes, onProgress: setProgress }));
    } catch (e) {
      setError(`The benchmark stopped: ${(e as Error).message}`);
    } finally {
      device?.destroy();
      setRunning(false);
    }
  }

  return (
    <section class="kernels" aria-labelledby="kernels-title">
      <h2 id="kernels-title">Kernels, in your own browser</h2>
      <p>
        Runs usine's own matmul and attention kernels on this computer's GPU through WebGPU, checks a small case against
        the CPU, and measures GFLOP/s per size. Nothing runs until you press Run.
      </p>
      <div class="kernels-columns" style="display: flex; flex-wrap: wrap; gap: 2rem">
        <div class="kernels-here" style="flex: 1 1 520px">
          {probe.state === 'probing' && <p>Looking for a WebGPU adapter…</p>}
          {probe.state === 'none' && (
            <p role="alert" id="kernels-no-adapter" data-why={probe.why}>
              {NO_ADAPTER_MESSAGE}
            </p>
          )}
          {probe.state === 'ready' && (
            <>
              <p>
                Adapter: <strong id="kernels-adapter">{adapterName(probe.adapter.info)}</strong>
                {probe.adapter.features.has('shader-f16') ? ' (f32 and f16)' : ' (f32; no shader-f16)'}
              </p>
              <button id="kernels-run" type="button" disabled={running} onClick={() => run(probe.adapter)}>
                {running ? 'Running…' : result ? 'Run again' : 'Run'}
              </button>
            </>
          )}
          <Progress progress={running ? progress : null} />
          {error && (
            <p role="alert" id="kernels-error">
              {error}
            </p>
          )}
          {result && <Results result={result} tunings={recorded?.tunings ?? []} />}
        </div>
        <RecordedFigures recorded={recorded} error={recordedError} />
      </div>
    </section>
  );
}

function Progress({ progress }: { progress: BenchProgress | null }) {
  if (!progress) return null;
  return (
    <div id="kernels-progress" aria-live="polite">
      <progress value={progress.done} max={progress.total} /> {progress.done}/{progress.total} · {progress.label}
    </div>
  );
}

/** The tuned figures of one kernel that have a GFLOP/s, as chart points. */
function tunedPoints(tunings: RecordedTuning[], kernel: string): (ChartPoint & { adapter: string })[] {
  return tunings.flatMap((t) =>
    t.kernel === kernel && t.gflops !== null
      ? [{ size: t.size, dtype: t.dtype, gflops: t.gflops, adapter: t.adapter }]
      : [],
  );
}

function Results({ result, tunings }: { result: BrowserBenchResult; tunings: RecordedTuning[] }) {
  const allPassed = result.checks.every((c) => c.passed);
  return (
    <div id="kernels-results" data-checks-passed={String(allPassed)}>
      <h3>Correctness</h3>
      <ul>
        {result.checks.map((c) => (
          <li key={`${c.kernel}-${c.dtype}`} data-passed={String(c.passed)}>
            {c.passed ? '✓' : '✗ FAILED'} {c.kernel} {c.dtype} {c.case}: max error {c.maxError.toExponential(2)}{' '}
            (tolerance {c.tolerance.toExponential(1)})
          </li>
        ))}
      </ul>
      <h3>GFLOP/s</h3>
      {(['matmul', 'attention'] as const).map((k) => (
        <GflopsChart
          key={k}
          title={k}
          points={result.points.filter((p) => p.kernel === k)}
          workers={tunedPoints(tunings, k)}
        />
      ))}
      <table id="kernels-table">
        <caption>Median of the repeats, one pass on inputs already on the GPU (wall time)</caption>
        <thead>
          <tr>
            <th scope="col">kernel</th>
            <th scope="col">dtype</th>
            <th scope="col">size</th>
            <th scope="col">ms</th>
            <th scope="col">GFLOP/s</th>
          </tr>
        </thead>
        <tbody>
          {result.points.map((p) => (
            <tr key={`${p.kernel}-${p.dtype}-${p.size}`} data-gflops={p.gflops}>
              <td>{p.kernel}</td>
              <td>{p.dtype}</td>
              <td>{p.size}</td>
              <td>{p.ms.toFixed(2)}</td>
              <td>{p.gflops.toFixed(2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {result.skipped.length > 0 && (
        <p>
          Not measured here: <span id="kernels-skipped">{result.skipped.join('; ')}</span>
        </p>
      )}
    </div>
  );
}

function RecordedFigures({ recorded, error }: { recorded: Recorded | null; error: string | null }) {
  return (
    <aside class="kernels-recorded" style="flex: 1 1 320px" aria-labelledby="kernels-recorded-title">
      <h3 id="kernels-recorded-title">What the workers recorded</h3>
      {error && <p role="alert">Could not load the workers' figures: {error}</p>}
      {!recorded && !error && <p>Loading…</p>}
      {recorded && (
        <>
          <h4>Workers</h4>
          {recorded.workers.length === 0 ? (
            <p>No worker is online.</p>
          ) : (
            <ul id="kernels-workers">
              {recorded.workers.map((w) => (
                <li key={w.name}>
                  {w.name}: {w.adapter}
                  {w.region ? ` (${w.region})` : ''}
                  {w.features.includes('shader-f16') ? ', f16' : ''}
                </li>
              ))}
            </ul>
          )}
          <h4>Tuned configs</h4>
          <TunedFigures tunings={recorded.tunings} />
          <h4>Matmul jobs</h4>
          {recorded.matmuls.length === 0 ? (
            <p>No finished matmul job yet. Submit one to record this cluster's figures.</p>
          ) : (
            <table id="kernels-recorded-matmul">
              <thead>
                <tr>
                  <th scope="col">adapter</th>
                  <th scope="col">size</th>
                  <th scope="col">GFLOP/s</th>
                </tr>
              </thead>
              <tbody>
                {recorded.matmuls.map((m) => (
                  <tr key={m.job} title={`job ${m.job} on ${m.worker ?? '?'}, ${m.finishedAt ?? ''}`}>
                    <td>{m.adapter}</td>
                    <td>{m.size}</td>
                    <td>{m.gflops.toFixed(2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </aside>
  );
}

/** The tuning store: per adapter and shape class, the config chosen, its time, and GFLOP/s. */
function TunedFigures({ tunings }: { tunings: RecordedTuning[] }) {
  const charted = useMemo(() => tunedPoints(tunings, 'matmul'), [tunings]);
  // One row group per kernel and adapter (the API's order).
  const groups = useMemo(() => {
    const by = new Map<string, RecordedTuning[]>();
    for (const t of tunings) {
      const key = `${t.kernel} on ${t.adapter}`;
      by.set(key, [...(by.get(key) ?? []), t]);
    }
    return [...by];
  }, [tunings]);
  if (tunings.length === 0)
    return <p>No worker has tuned a kernel yet. A matmul job tunes its shape class the first time it meets it.</p>;
  return (
    <>
      <GflopsChart title="matmul, tuned by the workers" points={NO_POINTS} workers={charted} />
      <table id="kernels-tuned">
        <caption>Fastest run of the chosen config on the shape it was tuned on</caption>
        <thead>
          <tr>
            <th scope="col">dtype</th>
            <th scope="col">size</th>
            <th scope="col">config</th>
            <th scope="col">ms</th>
            <th scope="col">GFLOP/s</th>
          </tr>
        </thead>
        {groups.map(([group, rows]) => (
          <tbody key={group}>
            <tr>
              <th scope="rowgroup" colSpan={5} style="text-align: left; overflow-wrap: anywhere">
                {group}
              </th>
            </tr>
            {rows.map((t) => (
              <tr key={t.bucket} title={`${t.bucket}, tuned ${t.tunedAt}`} data-gflops={t.gflops ?? ''}>
                <td>{t.dtype}</td>
                <td>{t.size}</td>
                <td>
                  <code style="white-space: nowrap">{t.config}</code>
                </td>
                <td>{t.ms.toFixed(2)}</td>
                <td>{t.gflops === null ? '—' : t.gflops.toFixed(2)}</td>
              </tr>
            ))}
          </tbody>
        ))}
      </table>
    </>
  );
}
