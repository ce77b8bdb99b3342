"""The `monitoring` section: alert thresholds (seeds 001/002), targets, budgets (seed 000), receivers."""

from __future__ import annotations

import re
from typing import Optional

from pydantic import Field, field_validator, model_validator

from components.config.base import _Model


class ThresholdsConfig(_Model):
    """Seeds 001/002 alert thresholds."""

    service_down_minutes: int = Field(default=1, description="minutes a service may fail its checks before the down alert (seed 001: 1 min)")
    error_rate_percent: float = Field(default=5.0, description="5xx share of responses, in %, that alerts (seed 001: 5 %)")
    error_rate_minutes: int = Field(default=2, description="minutes the error rate must hold before it alerts (seed 001: 2 min)")
    latency_p95_seconds: float = Field(default=2.0, description="p95 response time, in seconds, that alerts (seed 001: 2 s)")
    latency_minutes: int = Field(default=5, description="minutes the latency must hold before it alerts (seed 001: 5 min)")
    cpu_percent: float = Field(default=80.0, description="CPU use, in % of the allocation, that alerts (seed 001: 80 %)")
    memory_percent: float = Field(default=80.0, description="memory use, in % of the allocation, that alerts (seed 001: 80 %)")
    resource_minutes: int = Field(default=5, description="minutes CPU or memory must hold before it alerts (seed 001: 5 min)")
    disk_percent: float = Field(default=85.0, description="disk use, in %, that alerts (seed 001: 85 %)")
    backup_max_age_hours: int = Field(
        default=26, description="hours since the last good backup before the backup-age alert: a daily backup plus 2 h of slack"
    )


class TargetsConfig(_Model):
    availability_percent: float = Field(default=99.9, description="availability target, in %, drawn on the dashboards (seed 000: 99.9 %)")
    latency_p95_seconds: float = Field(default=2.0, description="p95 latency target, in seconds, on the dashboards (seed 000: under 2 s)")
    error_rate_percent: float = Field(default=1.0, description="error-rate target, in %, on the dashboards (seed 000: under 1 %)")


class BudgetsConfig(_Model):
    """Seed 000 cost alerts (in the billing currency)."""

    monthly_infrastructure: float = Field(default=500.0, description="monthly budget of the whole stack's cloud spend (seed 000: 500)")
    monthly_storage: float = Field(default=50.0, description="monthly budget of storage spend (seed 000: 50)")
    daily_ai_spend: float = Field(
        default=100.0, description="AI provider spend per day that alerts, from the app's AiSpendUsd metric (ecs; seed 000: 100)"
    )
    billing_account: Optional[str] = Field(
        default=None, description="GCP billing account id the budgets are created on (cloudrun, gke); none: no GCP budgets"
    )


class NotificationsConfig(_Model):
    """Where alerts go. Slack and PagerDuty credentials are provided secrets, named here."""

    emails: tuple[str, ...] = Field(default=(), description="addresses that receive the alerts (cloudrun, gke: email channels; ecs: SNS subscriptions)")
    slack_channel: Optional[str] = Field(default=None, description="Slack channel the alerts go to (with slackTokenSecret)")
    slack_token_secret: Optional[str] = Field(
        default=None, description="name in secrets.provided of the Slack bot token (never the token itself)"
    )
    pagerduty_key_secret: Optional[str] = Field(
        default=None, description="name in secrets.provided of the PagerDuty integration key (never the key itself)"
    )

    @field_validator("emails")
    @classmethod
    def _emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for e in v:
            if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", e):
                raise ValueError(f"{e!r} is not an email address")
        return v

    @model_validator(mode="after")
    def _slack_pair(self) -> "NotificationsConfig":
        if (self.slack_channel is None) != (self.slack_token_secret is None):
            raise ValueError("slackChannel and slackTokenSecret go together")
        return self


class PrometheusStackConfig(_Model):
    install: bool = Field(
        default=True,
        description="install the chart; false: the cluster already runs the Prometheus Operator and Grafana, only the rules, monitors and dashboards are created",
    )
    chart_version: str = Field(default="79.5.0", description="pinned kube-prometheus-stack chart")
    retention_days: int = Field(default=15, ge=1, le=365, description="days of metrics Prometheus keeps (two weeks of trends for the dashboards)")
    storage_gi: int = Field(default=20, ge=1, description="Prometheus volume in GiB; retention also stops at 80 % of it, before the disk alert")


class MonitoringConfig(_Model):
    enabled: bool = Field(default=True, description="false creates no alerts, dashboards, uptime checks, exporters or budgets")
    prometheus_stack: PrometheusStackConfig = Field(
        default=PrometheusStackConfig(), description="kube-prometheus-stack (Prometheus, Alertmanager, Grafana) on kubernetes and gke"
    )
    notifications: NotificationsConfig = NotificationsConfig()
    thresholds: ThresholdsConfig = ThresholdsConfig()
    targets: TargetsConfig = Field(default=TargetsConfig(), description="service-level targets the dashboards show (seed 000)")
    budgets: BudgetsConfig = BudgetsConfig()
