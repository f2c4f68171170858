// prom-client's default process metrics, minus the three gauges whose names end in
// `_total` (nodejs_active_{handles,requests,resources}_total): Prometheus reserves that
// suffix for counters, and `promtool check metrics` flags them. Their by-type siblings
// (nodejs_active_handles{type} …) stay, so sum() of those gives the same figure.
import { collectDefaultMetrics, type Registry } from 'prom-client';

const MISNAMED_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_GAUGES) registry.removeSingleMetric(name);
}
