// The dashboards as code: committed JSON equals what the code generates, and every panel
// follows the rules Grafana's dashboard linter applies, with PromQL that parses.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS, dashboardJson } from '../../deploy/grafana/src/index.ts';
import { ROOT } from '../support/processes.ts';
import { dataPanels, parseErrors, selectedMetrics, toPromql, type DashboardJson } from './support/dashboards.ts';
import { knownSeriesNames } from './support/metric-contract.ts';

const DIR = path.join(ROOT, 'deploy/grafana/dashboards');
const SUBST = { rateInterval: '1m', range: '1h' };
const dashboards = DASHBOARDS.map(({ file, build }) => ({
  file,
  json: JSON.parse(dashboardJson(build())) as DashboardJson,
}));

describe('dashboards as code', () => {
  it('ships exactly the generated dashboards, byte for byte (run `npm run dashboards` after a change)', () => {
    const committed = fs
      .readdirSync(DIR)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(committed).toEqual(DASHBOARDS.map((d) => d.file).sort());
    for (const { file, build } of DASHBOARDS) {
      expect(fs.readFileSync(path.join(DIR, file), 'utf8'), file).toBe(dashboardJson(build()));
    }
  });

  it('has the three dashboards with distinct uids', () => {
    expect(dashboards.map((d) => d.json.title)).toEqual([
      'usine / Overview',
      'usine / Tenants',
      'usine / Kernels & devices',
    ]);
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(3);
  });

  for (const { file, json } of dashboards) {
    describe(file, () => {
      const panels = dataPanels(json);

      it('has panels with unique ids that fit the 24-column grid', () => {
        expect(panels.length).toBeGreaterThanOrEqual(6);
        const ids = json.panels.map((p) => p.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const p of json.panels) expect(p.gridPos!.x + p.gridPos!.w, p.title).toBeLessThanOrEqual(24);
      });

      it('gives every panel a title, a description and a unit', () => {
        for (const p of panels) {
          expect(p.title?.trim(), JSON.stringify(p.gridPos)).toBeTruthy();
          expect(p.description?.trim(), p.title).toBeTruthy();
          expect(p.fieldConfig?.defaults?.unit?.trim(), p.title).toBeTruthy();
        }
      });

      it('takes its datasource from a template variable', () => {
        const v = json.templating.list.find((x) => x.type === 'datasource');
        expect(v).toMatchObject({ name: 'datasource', query: 'prometheus' });
        for (const p of panels) {
          expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
          for (const t of p.targets ?? [])
            expect(t.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
        }
        for (const x of json.templating.list.filter((x) => x.type === 'query')) {
          expect((x as { datasource?: unknown }).datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
        }
      });

      it('writes every range as $__rate_interval (or $__range for totals over the time range)', () => {
        for (const p of panels) {
          for (const t of p.targets!) {
            const ranges = [...t.expr!.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]);
            for (const r of ranges) expect(['$__rate_interval', '$__range'], `${p.title}: ${t.expr}`).toContain(r);
          }
        }
      });

      it('has PromQL that parses, names only contract metrics, and reads _total only through rate/increase', () => {
        const known = knownSeriesNames();
        for (const p of panels) {
          expect(p.targets?.length, p.title).toBeGreaterThan(0);
          for (const t of p.targets!) {
            const q = toPromql(t.expr!, SUBST);
            expect(parseErrors(q), `${p.title}: ${q}`).toEqual([]);
            const metrics = selectedMetrics(q);
            expect(metrics.length, q).toBeGreaterThan(0);
            for (const m of metrics) {
              expect(known.has(m.name), `${p.title}: unknown metric ${m.name}`).toBe(true);
              if (m.name.endsWith('_total'))
                expect(m.inCounterFunction, `${p.title}: ${m.name} outside rate/increase`).toBe(true);
            }
          }
        }
      });

      it('draws capacity panels as used against maximum', () => {
        const capacity = panels.filter((p) => / against /.test(p.title!));
        for (const p of capacity) {
          expect(p.targets!.length, p.title).toBe(2);
          expect(JSON.stringify(p.fieldConfig!.overrides), p.title).toContain('"B"');
        }
      });
    });
  }

  it('catches what it claims to: a bad query, a bare counter, a foreign metric', () => {
    expect(parseErrors(toPromql('sum(rate(usine_jobs_finished_total[$__rate_interval])', SUBST))).not.toEqual([]);
    expect(selectedMetrics('sum(usine_jobs_finished_total)')).toEqual([
      { name: 'usine_jobs_finished_total', inCounterFunction: false },
    ]);
    expect(selectedMetrics('sum(rate(usine_jobs_finished_total[1m]))')[0].inCounterFunction).toBe(true);
    expect(knownSeriesNames().has('usine_job_queue_wait_seconds_bucket')).toBe(true);
    expect(knownSeriesNames().has('usine_job_queue_wait_seconds')).toBe(false);
  });
});
