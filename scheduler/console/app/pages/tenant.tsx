// A tenant's standing: its share of device usage against its fair-share target, sampled every
// 5 s while this page is open; running and queued jobs against quota; device-seconds, FLOPs,
// estimated energy and job attempts over the last day and week. From GET /v1/tenant (the
// caller's own tenant, or for an operator the one chosen) and /v1/usage: the metrics' numbers.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { TenantStanding, UsageReport, UsageTotals, WhoAmI } from '../../../../shared/api-responses.ts';
import { api } from '../api.ts';
import { ErrorBox, Section } from '../components.tsx';
import { energy, flops, pct } from '../format.ts';
import { usePoll } from '../poll.ts';
import type { Session } from '../session.ts';

interface Sample {
  t: number;
  share: number;
  target: number;
}

export function TenantPage({ session }: { session: Session }) {
  const [chosen, setChosen] = useState(session.tenants[0]?.name ?? '');
  const samples = useRef<Sample[]>([]);
  const { data, error } = usePoll(
    async () => {
      const q = session.admin && chosen ? `?tenant=${encodeURIComponent(chosen)}` : '';
      const [me, day, week] = await Promise.all([
        api<WhoAmI>('GET', `/v1/tenant${q}`),
        api<UsageReport>('GET', '/v1/usage?since=24h'),
        api<UsageReport>('GET', '/v1/usage?since=7d'),
      ]);
      const t = me.tenant;
      const mine = (u: UsageReport) => u.tenants.find((x) => x.tenant === t?.name);
      if (t)
        samples.current = [
          ...samples.current.slice(-719),
          { t: Date.now() / 1000, share: t.usageShare, target: t.targetShare },
        ];
      return { caller: me.caller, tenant: t, day: mine(day), week: mine(week) };
    },
    5000,
    [chosen],
  );
  useEffect(() => {
    samples.current = [];
  }, [chosen]);
  const t = data?.tenant;

  return (
    <>
      <h1>Tenant {t?.name ?? ''}</h1>
      {session.admin && session.tenants.length > 0 && (
        <label>
          Tenant{' '}
          <select value={chosen} onChange={(e) => setChosen(e.currentTarget.value)}>
            {session.tenants.map((x) => (
              <option key={x.name}>{x.name}</option>
            ))}
          </select>
        </label>
      )}
      {data?.caller === 'open' && <p class="muted">Open mode: no tokens, every caller is an operator.</p>}
      <ErrorBox error={error} />
      {data && !t && <p class="muted">An operator token belongs to no tenant: choose one above.</p>}
      {t && (
        <>
          <Section title="Jobs against quota">
            <dl class="facts">
              <dt>Running</dt>
              <dd>
                {t.running} of at most {t.maxRunning}
              </dd>
              <dt>Queued</dt>
              <dd>
                {t.queued} of at most {t.maxQueued}
              </dd>
              <dt>Weight</dt>
              <dd>{t.weight}</dd>
              <dt>Preemption</dt>
              <dd>{preemption(t)}</dd>
              {(t.regions.length > 0 || t.vendors.length > 0) && (
                <>
                  <dt>Runs on</dt>
                  <dd>
                    {[
                      t.regions.length ? `regions ${t.regions.join(', ')}` : '',
                      t.vendors.length ? `vendors ${t.vendors.join(', ')}` : '',
                    ]
                      .filter(Boolean)
                      .join('; ')}
                  </dd>
                </>
              )}
            </dl>
          </Section>
          <Section title="Use of the devices">
            <table class="usage">
              <thead>
                <tr>
                  <th scope="col">Window</th>
                  <th scope="col">Device-seconds</th>
                  <th scope="col">FLOPs</th>
                  <th scope="col">Energy (estimated)</th>
                  <th scope="col">Job attempts</th>
                </tr>
              </thead>
              <tbody>
                {(
                  [
                    ['last day', data.day],
                    ['last week', data.week],
                  ] as [string, UsageTotals | undefined][]
                ).map(([label, u]) => (
                  <tr key={label}>
                    <td>{label}</td>
                    <td>{(u?.deviceSeconds ?? 0).toFixed(1)}</td>
                    <td>{flops(u?.flops ?? 0)}</td>
                    <td>{energy(u?.joules ?? 0)}</td>
                    <td>{u?.jobs ?? 0}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p class="muted">
              Whole hours. Energy is each job's run time × its worker's power figure (configured, or a rough figure for
              the kind of adapter): an estimate, not a measurement.
            </p>
          </Section>
          <Section title="Share of device usage against the fair-share target">
            <p class="share">
              Now: {pct(t.usageShare)} of the decayed device usage, target {pct(t.targetShare)}{' '}
              <span class="muted">
                (weight {t.weight} over the weights of tenants with work; usage halves with time). Sampled every 5 s
                while this page is open.
              </span>
            </p>
            <ShareChart samples={samples.current} />
          </Section>
        </>
      )}
    </>
  );
}

function preemption(t: TenantStanding): string {
  const p = t.preemption;
  if (!p.preemptible) return 'its jobs are never preempted';
  const parts = ['its jobs may be preempted'];
  if (p.minRuntimeSeconds !== undefined) parts.push(`not before ${p.minRuntimeSeconds} s of run time`);
  if (p.guaranteedShare > 0) parts.push(`never below ${pct(p.guaranteedShare)} of the matching slots`);
  if (p.withinTenant) parts.push('also by its own jobs of a higher priority');
  return parts.join(', ');
}

function ShareChart({ samples }: { samples: Sample[] }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => [
    samples.map((s) => s.t),
    samples.map((s) => 100 * s.share),
    samples.map((s) => 100 * s.target),
  ];
  useEffect(() => {
    const series: uPlot.Series[] = [
      {},
      { label: 'usage share %', stroke: '#1f5fbf', width: 2 },
      { label: 'target %', stroke: '#b4470b', dash: [6, 4] },
    ];
    // At least the last five minutes on the time axis, from the samples themselves: uPlot widens a
    // single point's range by itself (to years), so the min and max it passes are not used.
    const x: uPlot.Scale = {
      range: (u) => {
        const xs = u.data[0];
        const last = xs.length ? xs[xs.length - 1] : Date.now() / 1000;
        return [Math.min(xs[0] ?? last, last - 300), last];
      },
    };
    plot.current = new uPlot(
      { width: 760, height: 220, series, scales: { x, y: { range: [0, 100] } } },
      data(),
      el.current!,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => plot.current?.setData(data()), [samples]);
  return <div ref={el} class="chart" data-samples={samples.length} />;
}
