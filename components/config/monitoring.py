"""The `monitoring` section: alert thresholds (seeds 001/002), targets, budgets (seed 000), receivers."""

from __future__ import annotations

import re
from typing import Optional

from pydantic import Field, field_validator, model_validator

from components.config.base import _Model


class ThresholdsConfig(_Model):
    """Seeds 001/002 alert thresholds."""

    service_down_minutes: int = 1
    error_rate_percent: float = 5.0
    error_rate_minutes: int = 2
    latency_p95_seconds: float = 2.0
    latency_minutes: int = 5
    cpu_percent: float = 80.0
    memory_percent: float = 80.0
    resource_minutes: int = 5
    disk_percent: float = 85.0
    backup_max_age_hours: int = 26


class TargetsConfig(_Model):
    availability_percent: float = 99.9
    latency_p95_seconds: float = 2.0
    error_rate_percent: float = 1.0


class BudgetsConfig(_Model):
    """Seed 000 cost alerts (in the billing currency)."""

    monthly_infrastructure: float = 500.0
    monthly_storage: float = 50.0
    daily_ai_spend: float = 100.0
    billing_account: Optional[str] = None


class NotificationsConfig(_Model):
    """Where alerts go. Slack and PagerDuty credentials are provided secrets, named here."""

    emails: tuple[str, ...] = ()
    slack_channel: Optional[str] = None
    slack_token_secret: Optional[str] = None
    pagerduty_key_secret: Optional[str] = None

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
    install: bool = True
    chart_version: str = Field(default="79.5.0", description="pinned kube-prometheus-stack chart")
    retention_days: int = Field(default=15, ge=1, le=365)
    storage_gi: int = Field(default=20, ge=1)


class MonitoringConfig(_Model):
    enabled: bool = True
    prometheus_stack: PrometheusStackConfig = PrometheusStackConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    thresholds: ThresholdsConfig = ThresholdsConfig()
    targets: TargetsConfig = TargetsConfig()
    budgets: BudgetsConfig = BudgetsConfig()
