// The alert rules pass promtool's checks and unit tests, and name only contract metrics.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.ts';
import { promtool } from './support/promtool.ts';
import { parseErrors, selectedMetrics } from './support/dashboards.ts';
import { knownSeriesNames } from './support/metric-contract.ts';

const DIR = path.join(ROOT, 'deploy/prometheus');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe('alert rules', () => {
  it('pass promtool check rules', async () => {
    const r = await promtool(['check', 'rules', 'alerts.yml'], undefined, DIR);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: 10 rules found/);
    expect(r.code).toBe(0);
  });

  it('pass their promtool unit tests (alerts.test.yml)', async () => {
    const r = await promtool(['test', 'rules', 'alerts.test.yml'], undefined, DIR);
    expect(r.stdout + r.stderr, r.stdout + r.stderr).toMatch(/SUCCESS/);
    expect(r.code).toBe(0);
  });

  it('the sample scrape configuration is valid and loads the rules', async () => {
    const r = await promtool(['check', 'config', 'prometheus.yml'], undefined, DIR);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: 10 rules found/);
    expect(r.code).toBe(0);
  });

  it("cover the issue's cases, each with a severity, a summary and a unit test, on contract metrics only", () => {
    const rules = (
      parse(fs.readFileSync(path.join(DIR, 'alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }
    ).groups.flatMap((g) => g.rules);
    const names = rules.map((r) => r.alert);
    for (const wanted of [
      'UsineWorkerDown',
      'UsineQueueNotDraining',
      'UsineJobFailureRateHigh',
      'UsineDeviceLost',
      'UsineTenantStarved',
      'UsineRedisUnreachable',
    ]) {
      expect(names).toContain(wanted);
    }
    const tests = fs.readFileSync(path.join(DIR, 'alerts.test.yml'), 'utf8');
    const known = knownSeriesNames();
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
      expect(tests, `${r.alert} has no unit test`).toContain(
        `alertname: ${r.alert}\n        exp_alerts:\n          - exp_labels`,
      );
      expect(parseErrors(r.expr), r.alert).toEqual([]);
      for (const m of selectedMetrics(r.expr)) {
        expect(known.has(m.name), `${r.alert}: unknown metric ${m.name}`).toBe(true);
        if (m.name.endsWith('_total'))
          expect(m.inCounterFunction, `${r.alert}: ${m.name} outside rate/increase`).toBe(true);
      }
    }
  });
});
