"""The `dr` section: RPO/RTO, backup schedule and retention tiers (seed 002), failover checks."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from components.config.base import _Model


class RetentionConfig(_Model):
    """Seed 002 backup tiers."""

    daily_days: int = Field(default=30, ge=1)
    weekly_weeks: int = Field(default=12, ge=0)
    monthly_months: int = Field(default=12, ge=0)
    yearly_years: int = Field(default=7, ge=0)


class DrConfig(_Model):
    rpo_minutes: int = Field(default=60, ge=1, description="seed 000/001: RPO 1 h")
    rto_minutes: int = Field(default=240, ge=1, description="seed 000/001: RTO 4 h")
    backup_schedule: str = Field(default="0 2 * * *", description="cron, UTC")
    retention: RetentionConfig = RetentionConfig()
    backup_storage_gi: int = Field(default=20, ge=1, description="backup volume (kubernetes)")
    health_check_interval_seconds: int = Field(default=30, ge=10, le=300)
    failure_threshold: int = Field(default=3, ge=1, le=10)
    maintenance_window: str = Field(default="SUN:02:00-SUN:04:00", description="seed 002, UTC")

    @field_validator("backup_schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        if len(v.split()) != 5:
            raise ValueError("must be a 5-field cron expression such as '0 2 * * *'")
        return v

    @field_validator("maintenance_window")
    @classmethod
    def _weekly_window(cls, v: str) -> str:
        # the GCP/GKE/AWS maintenance windows and the schedule checks all parse this shape
        day = "(MON|TUE|WED|THU|FRI|SAT|SUN)"
        time = "([01][0-9]|2[0-3]):[0-5][0-9]"
        if not re.fullmatch(f"{day}:{time}-{day}:{time}", v):
            raise ValueError("must be a weekly UTC window such as 'SUN:02:00-SUN:04:00' (DAY:HH:MM-DAY:HH:MM)")
        return v
