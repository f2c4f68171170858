// Writes deploy/k8s/prometheus-rule.yaml: the groups of deploy/prometheus/alerts.yml as a
// Prometheus Operator PrometheusRule. Run `npm run prometheus-rule` after changing the
// alerts and commit the YAML; a test fails when the two differ.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { withUsageErrors } from '../../kernels/cli.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const RULE_FILE = path.join(here, 'prometheus-rule.yaml');

export function prometheusRuleYaml(): string {
  const rules = parse(fs.readFileSync(path.join(here, '../prometheus/alerts.yml'), 'utf8'));
  const doc = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'usine', namespace: 'usine', labels: { 'app.kubernetes.io/part-of': 'usine' } },
    spec: { groups: rules.groups },
  };
  const head = '# Generated from deploy/prometheus/alerts.yml by `npm run prometheus-rule`: edit alerts.yml.\n';
  return head + stringify(doc, { lineWidth: 0 });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  withUsageErrors(
    new Command('npm run prometheus-rule --')
      .description(
        'Writes deploy/k8s/prometheus-rule.yaml: the alert groups of deploy/prometheus/alerts.yml as a ' +
          'Prometheus Operator PrometheusRule. Run it after changing the alerts and commit the YAML: a test ' +
          'fails when the two differ. Takes no options.',
      )
      .addHelpText('after', '\nExample:\n  npm run prometheus-rule && git add deploy/k8s/prometheus-rule.yaml'),
  ).parse();
  fs.writeFileSync(RULE_FILE, prometheusRuleYaml());
  console.log(`wrote ${path.relative(process.cwd(), RULE_FILE)}`);
}
