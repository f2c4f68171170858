// A tenant's standing: its share of device time against its fair-share target, sampled every
// 5 s while this page is open; running and queued jobs against quota; device-seconds, FLOPs and
// jobs over the last day and week. All from /v1/usage, /v1/jobs and (operators) /v1/tenants.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { JobView } from '../../../../shared/job-view.ts';
import { api } from '../api.ts';
import { ErrorBox, Section } from '../components.tsx';
import { flops, pct } from '../format.ts';
import { usePoll } from '../poll.ts';
import type { Session } from '../session.ts';

interface Totals {
  tenant: string;
  deviceSeconds: number;
  jobs: number;
  flops: number;
}
type Usage = { tenants: Totals[] };
interface Sample {
  t: number;
  share: number | null;
  target: number | null;
  deviceSeconds: number;
}

const count = async (state: string, tenant: string) =>
  (await api<{ jobs: JobView[] }>('GET', `/v1/jobs?state=${state}&limit=1000${tenant ? `&tenant=${tenant}` : ''}`)).jobs
    .length;

export function TenantPage({ session }: { session: Session }) {
  const [chosen, setChosen] = useState(session.tenants[0]?.name ?? '');
  const samples = useRef<Sample[]>([]);
  const { data, error } = usePoll(
    async () => {
      const [hour, day, week, running, queued] = await Promise.all([
        api<Usage>('GET', '/v1/usage?since=1h'),
        api<Usage>('GET', '/v1/usage?since=24h'),
        api<Usage>('GET', '/v1/usage?since=7d'),
        count('running', chosen),
        count('queued', chosen),
      ]);
      // A tenant token sees only its own totals: its name is the one it gets.
      const name = chosen || day.tenants[0]?.tenant || week.tenants[0]?.tenant || '';
      const mine = (u: Usage) => u.tenants.find((t) => t.tenant === name);
      const total = hour.tenants.reduce((s, t) => s + t.deviceSeconds, 0);
      const weights = session.tenants.reduce((s, t) => s + (t.weight ?? 1), 0);
      const me = session.tenants.find((t) => t.name === name);
      const sample: Sample = {
        t: Date.now() / 1000,
        share: session.admin && total > 0 ? (mine(hour)?.deviceSeconds ?? 0) / total : null,
        target: session.admin && me ? (me.weight ?? 1) / weights : null,
        deviceSeconds: mine(hour)?.deviceSeconds ?? 0,
      };
      samples.current = [...samples.current.slice(-719), sample];
      return { name, day: mine(day), week: mine(week), running, queued, me, sample };
    },
    5000,
    [chosen],
  );
  useEffect(() => {
    samples.current = [];
  }, [chosen]);

  return (
    <>
      <h1>Tenant {data?.name ?? ''}</h1>
      {session.admin && (
        <label>
          Tenant{' '}
          <select value={chosen} onChange={(e) => setChosen(e.currentTarget.value)}>
            {session.tenants.map((t) => (
              <option key={t.name}>{t.name}</option>
            ))}
          </select>
        </label>
      )}
      <ErrorBox error={error} />
      {data && (
        <>
          <Section title="Jobs against quota">
            <dl class="facts">
              <dt>Running</dt>
              <dd>
                {data.running}
                {data.me?.maxRunning !== undefined ? ` of at most ${data.me.maxRunning}` : ''}
              </dd>
              <dt>Queued</dt>
              <dd>
                {data.queued}
                {data.me?.maxQueued !== undefined ? ` of at most ${data.me.maxQueued}` : ''}
              </dd>
            </dl>
            {!session.admin && (
              <p class="muted">Quotas and weights are shown to operators only (the API has no own-tenant view).</p>
            )}
          </Section>
          <Section title="Use of the devices">
            <table>
              <thead>
                <tr>
                  <th scope="col">Window</th>
                  <th scope="col">Device-seconds</th>
                  <th scope="col">FLOPs</th>
                  <th scope="col">Job attempts</th>
                  <th scope="col">Energy</th>
                </tr>
              </thead>
              <tbody>
                {(
                  [
                    ['last day', data.day],
                    ['last week', data.week],
                  ] as const
                ).map(([label, t]) => (
                  <tr key={label}>
                    <td>{label}</td>
                    <td>{(t?.deviceSeconds ?? 0).toFixed(1)}</td>
                    <td>{flops(t?.flops ?? 0)}</td>
                    <td>{t?.jobs ?? 0}</td>
                    <td class="muted">not in the API</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section title="Share of device time (last hour) against the fair-share target">
            <p hidden={!session.admin}>
              Now: {data.sample.share === null ? '–' : pct(data.sample.share)} of the device time, target{' '}
              {data.sample.target === null ? '–' : pct(data.sample.target)}.{' '}
              <span class="muted">Sampled every 5 s while this page is open.</span>
            </p>
            {!session.admin && (
              <p class="muted">
                A tenant token sees only its own usage, so the share and the target are not computed here; the chart
                shows your device-seconds in the last hour.
              </p>
            )}
            <ShareChart samples={samples.current} admin={session.admin} />
          </Section>
        </>
      )}
    </>
  );
}

function ShareChart({ samples, admin }: { samples: Sample[]; admin: boolean }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData =>
    admin
      ? [
          samples.map((s) => s.t),
          samples.map((s) => (s.share === null ? null : 100 * s.share)),
          samples.map((s) => (s.target === null ? null : 100 * s.target)),
        ]
      : [samples.map((s) => s.t), samples.map((s) => s.deviceSeconds)];
  useEffect(() => {
    const series: uPlot.Series[] = admin
      ? [{}, { label: 'share %', stroke: '#1f5fbf', width: 2 }, { label: 'target %', stroke: '#b4470b', dash: [6, 4] }]
      : [{}, { label: 'device-seconds (last hour)', stroke: '#1f5fbf', width: 2 }];
    // At least the last five minutes on the time axis: one sample alone would span years.
    const x: uPlot.Scale = { range: (_u, min, max) => [Math.min(min, max - 300), max] };
    const scales: uPlot.Scales = admin ? { x, y: { range: [0, 100] } } : { x };
    plot.current = new uPlot({ width: 760, height: 220, series, scales }, data(), el.current!);
    return () => plot.current?.destroy();
  }, [admin]);
  useEffect(() => plot.current?.setData(data()), [samples]);
  return <div ref={el} class="chart" />;
}
