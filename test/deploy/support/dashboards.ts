// Reading usine's dashboards the way Grafana does: panels, their queries, and the
// Grafana variables in those queries replaced by values Prometheus understands.
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';

export interface PanelJson {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string }; overrides?: unknown[] };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } }[];
  panels?: PanelJson[];
}

export interface DashboardJson {
  uid: string;
  title: string;
  panels: PanelJson[];
  templating: { list: { type: string; name: string; query?: unknown }[] };
}

/** Every panel that shows data (rows left out, collapsed rows' panels included). */
export function dataPanels(d: DashboardJson): PanelJson[] {
  return d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

export interface Substitutions {
  rateInterval: string;
  range: string;
}

/** Replaces Grafana's variables: the interval ones by durations, label variables by `.*` (their All value). */
export function toPromql(expr: string, s: Substitutions): string {
  return expr
    .replaceAll('$__rate_interval', s.rateInterval)
    .replaceAll('$__range', s.range)
    .replace(/\$\{?([A-Za-z_]\w*)\}?/g, '.*');
}

/** Lezer nodes of the query that are parse errors, as `text@offset`. */
export function parseErrors(promql: string): string[] {
  const errors: string[] = [];
  parser.parse(promql).iterate({
    enter(n) {
      if (n.type.isError) errors.push(`${JSON.stringify(promql.slice(n.from, n.to))}@${n.from}`);
    },
  });
  return errors;
}

const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase']);

function enclosingFunction(node: SyntaxNode, promql: string): string | null {
  for (let p = node.parent; p; p = p.parent) {
    if (p.name === 'FunctionCall') {
      const id = p.getChild('FunctionIdentifier');
      if (id && COUNTER_FUNCTIONS.has(promql.slice(id.from, id.to))) return promql.slice(id.from, id.to);
    }
  }
  return null;
}

/** Metric names the query selects, each with whether it sits inside rate/irate/increase. */
export function selectedMetrics(promql: string): { name: string; inCounterFunction: boolean }[] {
  const out: { name: string; inCounterFunction: boolean }[] = [];
  parser.parse(promql).iterate({
    enter(ref) {
      if (ref.name !== 'VectorSelector') return;
      const id = ref.node.getChild('Identifier');
      if (!id) return;
      out.push({ name: promql.slice(id.from, id.to), inCounterFunction: enclosingFunction(ref.node, promql) !== null });
    },
  });
  return out;
}
