// The dashboards usine ships, and their JSON as committed under deploy/grafana/dashboards/.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { overviewDashboard } from './overview.ts';
import { tenantsDashboard } from './tenants.ts';
import { kernelsDashboard } from './kernels.ts';

export const DASHBOARDS: { file: string; build: () => Dashboard }[] = [
  { file: 'usine-overview.json', build: () => overviewDashboard().build() },
  { file: 'usine-tenants.json', build: () => tenantsDashboard().build() },
  { file: 'usine-kernels.json', build: () => kernelsDashboard().build() },
];

/** The file text of a dashboard: stable key order from the builder, two-space indent, final newline. */
export function dashboardJson(d: Dashboard): string {
  return JSON.stringify(d, null, 2) + '\n';
}
