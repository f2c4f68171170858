// Panel factories shared by usine's dashboards. Every panel gets a title, a description,
// a unit and the datasource template variable, so the dashboard tests can insist on them.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';

/** Panels query whichever Prometheus the `datasource` variable names. */
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

/** A multi-value label variable (`All` = `.*`) fed by `label_values(metric, label)`. */
export function labelVariable(name: string, label: string, metric: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ query: `label_values(${metric}, ${name})`, refId: `${name}-values` })
    .definition(`label_values(${metric}, ${name})`)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

export interface Query {
  expr: string;
  legend?: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  /** A Grafana unit id (s, ops, percentunit, flops, Bps, watt, joule, short, …). */
  unit: string;
  queries: Query[];
  min?: number;
  max?: number;
  /** One value per series at the end of the time range (totals over $__range), not a graph. */
  instant?: boolean;
  /** Grid width (of 24) and height; defaults 12 × 8. */
  w?: number;
  h?: number;
}

function targets(spec: PanelSpec, format?: prometheus.PromQueryFormat): prometheus.DataqueryBuilder[] {
  return spec.queries.map((q, i) => {
    const t = new prometheus.DataqueryBuilder()
      .datasource(DATASOURCE)
      .expr(q.expr)
      .legendFormat(q.legend ?? '__auto')
      .refId(String.fromCharCode(65 + i));
    if (spec.instant) t.instant();
    else t.range();
    return format ? t.format(format) : t;
  });
}

export function timeseriesPanel(spec: PanelSpec): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .targets(targets(spec))
    .fillOpacity(10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['lastNotNull', 'max']),
    );
  if (spec.min !== undefined) p.min(spec.min);
  if (spec.max !== undefined) p.max(spec.max);
  return p;
}

/**
 * A capacity panel: the first query is what is used, the second the maximum; the maximum
 * is drawn as a dashed line without fill so "used against maximum" reads at a glance.
 */
export function capacityPanel(spec: PanelSpec & { queries: [Query, Query] }): timeseries.PanelBuilder {
  return timeseriesPanel(spec).overrideByQuery('B', [
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
  ]);
}

export function statPanel(spec: PanelSpec): stat.PanelBuilder {
  const p = new stat.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .targets(targets(spec))
    .graphMode(spec.instant ? common.BigValueGraphMode.None : common.BigValueGraphMode.Area)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']));
  if (spec.min !== undefined) p.min(spec.min);
  if (spec.max !== undefined) p.max(spec.max);
  return p;
}

/** A heatmap of a Prometheus histogram: buckets per interval, as Prometheus computed them. */
export function heatmapPanel(spec: PanelSpec & { yUnit: string }): heatmap.PanelBuilder {
  return new heatmap.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .targets(targets(spec, prometheus.PromQueryFormat.Heatmap))
    .calculate(false)
    .yAxis(new heatmap.YAxisConfigBuilder().unit(spec.yUnit))
    .cellGap(1);
}

type AnyPanel = timeseries.PanelBuilder | stat.PanelBuilder | heatmap.PanelBuilder;

/** Places panels left to right, wrapping at the grid's 24 columns. */
export function layout(
  rows: { title: string; panels: { panel: AnyPanel; w?: number; h?: number }[] }[],
  d: dashboard.DashboardBuilder,
): dashboard.DashboardBuilder {
  let y = 0;
  let id = 0;
  for (const row of rows) {
    d.withRow(new dashboard.RowBuilder(row.title).id(++id).gridPos({ x: 0, y, w: 24, h: 1 }));
    y += 1;
    let x = 0;
    let rowH = 0;
    for (const { panel, w = 12, h = 8 } of row.panels) {
      if (x + w > 24) {
        x = 0;
        y += rowH;
        rowH = 0;
      }
      panel.id(++id).gridPos({ x, y, w, h });
      d.withPanel(panel);
      x += w;
      rowH = Math.max(rowH, h);
    }
    y += rowH;
  }
  return d;
}

/** The dashboard frame every usine dashboard shares. */
export function usineDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['usine', 'generated'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable());
}
