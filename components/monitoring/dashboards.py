"""Grafana dashboards, built with the Grafana Foundation SDK (typed builders, no hand-written JSON).

`platform_dashboard()` is the seeds' "AI Assistant" dashboard (seeds 000, 003, 004): request rate,
p95 latency, error rate, token usage and AI provider usage, plus the availability against the
99.9 % target. Queries come from `components.monitoring.metrics`, so the panels and the alerts read
the same series. The data source is a dashboard variable (any Prometheus data source: the one
kube-prometheus-stack provisions, or Google Managed Prometheus on GKE), and every query is scoped by
the caller's label `selector` (e.g. the app namespace).

`dashboard_json()` serializes a dashboard with the SDK's JSON encoder; Kubernetes provisions it as
a ConfigMap that the Grafana sidecar loads (components/monitoring/kubernetes.py).
"""

from __future__ import annotations

import json
from typing import Optional, Sequence

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import piechart, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models import piechart as piechart_model

from components.config import TargetsConfig, ThresholdsConfig
from components.monitoring import metrics

DATASOURCE_VARIABLE = "datasource"
DASHBOARD_UID = "ai-assistant-platform"
DASHBOARD_TITLE = "AI Assistant Platform"

# Panel titles: tests and other platforms' dashboards refer to them.
REQUEST_RATE = "Request rate"
LATENCY_P95 = "Response time (p95)"
ERROR_RATE = "Error rate (5xx)"
TOKEN_USAGE = "Token usage"
PROVIDER_USAGE = "AI provider usage"
AVAILABILITY = "Availability"

_DATASOURCE = dashboard_model.DataSourceRef(type_val="prometheus", uid=f"${{{DATASOURCE_VARIABLE}}}")


def _query(expr: str, legend: str, ref_id: str = "A", instant: bool = False) -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref_id).datasource(_DATASOURCE)
    return query.instant() if instant else query.range()


def _thresholds(*steps: tuple[Optional[float], str]) -> dashboard_builder.ThresholdsConfig:
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(dashboard_model.ThresholdsMode.ABSOLUTE)
        .steps([dashboard_model.Threshold(value=value, color=color) for value, color in steps])
    )


def _legend() -> common_builder.VizLegendOptions:
    return (
        common_builder.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.LIST)
        .placement(common.LegendPlacement.BOTTOM)
        .show_legend(True)
    )


def _timeseries(title: str, description: str, unit: str, query: prometheus.Dataquery) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(_DATASOURCE)
        .with_target(query)
        .unit(unit)
        .min(0)
        .height(8)
        .span(12)
        .legend(_legend())
    )


def platform_dashboard(
    selector: str = "",
    *,
    thresholds: ThresholdsConfig = ThresholdsConfig(),
    targets: TargetsConfig = TargetsConfig(),
    title: str = DASHBOARD_TITLE,
    uid: str = DASHBOARD_UID,
    tags: Sequence[str] = ("ai-assistant-platform",),
) -> dashboard_model.Dashboard:
    """The platform dashboard. Threshold lines show the alert thresholds (monitoring.thresholds)
    and the targets (monitoring.targets), so a panel turns red exactly where an alert would fire."""
    request_rate = _timeseries(
        REQUEST_RATE,
        "Requests per second per service (http_requests_total).",
        "reqps",
        _query(metrics.request_rate(selector), f"{{{{{metrics.SERVICE_LABEL}}}}}"),
    )
    latency = _timeseries(
        LATENCY_P95,
        f"95th percentile request latency; target < {targets.latency_p95_seconds:g} s, "
        f"alert above {thresholds.latency_p95_seconds:g} s for {thresholds.latency_minutes} min.",
        "s",
        _query(metrics.latency_quantile(0.95, selector), f"{{{{{metrics.SERVICE_LABEL}}}}} p95"),
    ).thresholds(_thresholds((None, "green"), (thresholds.latency_p95_seconds, "red"))).thresholds_style(
        common_builder.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.LINE)
    )
    errors = _timeseries(
        ERROR_RATE,
        f"Share of 5xx responses; target < {targets.error_rate_percent:g} %, "
        f"alert above {thresholds.error_rate_percent:g} % for {thresholds.error_rate_minutes} min.",
        "percentunit",
        _query(metrics.error_ratio(selector), f"{{{{{metrics.SERVICE_LABEL}}}}}"),
    ).thresholds(
        _thresholds(
            (None, "green"),
            (round(targets.error_rate_percent / 100, 6), "orange"),
            (round(thresholds.error_rate_percent / 100, 6), "red"),
        )
    ).thresholds_style(common_builder.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.LINE))
    tokens = _timeseries(
        TOKEN_USAGE,
        "AI tokens per second by model and type (ai_assistant_tokens_total).",
        "short",
        _query(metrics.token_rate(selector), "{{model}} {{type}}"),
    )
    providers = (
        piechart.Panel()
        .title(PROVIDER_USAGE)
        .description("AI provider calls in the selected time range (ai_requests_total).")
        .datasource(_DATASOURCE)
        .with_target(_query(metrics.provider_requests(selector), "{{provider}}", instant=True))
        .pie_type(piechart_model.PieChartType.DONUT)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .legend(piechart.PieChartLegendOptions().display_mode(common.LegendDisplayMode.LIST).show_legend(True))
        .unit("short")
        .height(8)
        .span(12)
    )
    availability = (
        stat.Panel()
        .title(AVAILABILITY)
        .description(f"Share of non-5xx responses in the selected range; target {targets.availability_percent:g} %.")
        .datasource(_DATASOURCE)
        .with_target(_query(metrics.availability_ratio(selector), "availability", instant=True))
        .unit("percentunit")
        .decimals(3)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .thresholds(_thresholds((None, "red"), (round(targets.availability_percent / 100, 6), "green")))
        .height(8)
        .span(12)
    )
    panels = (request_rate, latency, errors, tokens, providers, availability)
    builder = (
        dashboard_builder.Dashboard(title)
        .uid(uid)
        .tags(list(tags))
        .editable()
        .timezone("utc")
        .time("now-6h", "now")
        .refresh("1m")
        .tooltip(dashboard_model.DashboardCursorSync.CROSSHAIR)
        .with_variable(
            dashboard_builder.DatasourceVariable(DATASOURCE_VARIABLE).label("Data source").type("prometheus")
        )
    )
    for panel_id, panel in enumerate(panels, start=1):
        builder = builder.with_panel(panel.id(panel_id))  # stable ids: links and diffs survive re-provisioning
    return builder.build()


def dashboard_json(dashboard: dashboard_model.Dashboard) -> str:
    """The dashboard as Grafana JSON, via the SDK's encoder (stable key order for clean diffs)."""
    return json.dumps(dashboard, cls=JSONEncoder, sort_keys=True, indent=2)
