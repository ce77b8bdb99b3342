"""The `dr` section: RPO/RTO, backup schedule and retention tiers (seed 002), failover checks."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from components.config.base import _Model


class RetentionConfig(_Model):
    """Seed 001 backup tiers."""

    daily_days: int = Field(default=30, ge=1, description="days the daily backups are kept (seed 001: 30)")
    weekly_weeks: int = Field(default=12, ge=0, description="weeks the weekly backups are kept (seed 001: 12); 0: none")
    monthly_months: int = Field(default=12, ge=0, description="months the monthly backups are kept (seed 001: 12); 0: none")
    yearly_years: int = Field(default=7, ge=0, description="years the yearly backups are kept (seed 001: 7); 0: none")


class DrConfig(_Model):
    rpo_minutes: int = Field(
        default=60, ge=1,
        description="recovery point objective in minutes, the most data a failure may lose; a config whose design "
        "loses more for a system of record (postgres, mongodb, vectordb) is refused, naming what would meet it (the "
        "dr output shows the achieved figures). Default per environment: prod 60 (seed 000/001: RPO 1 h); dev "
        "and staging 1440, what their one-region design achieves (daily dumps and exports)",
    )
    rto_minutes: int = Field(
        default=240, ge=1,
        description="recovery time objective in minutes, the longest a recovery may take; a config whose design "
        "takes longer (a data service's restore or promotion, or the services' failover) is refused, and the dr "
        "output reports the achieved value. Default 240 in every environment (seed 000/001: RTO 4 h; dev and "
        "staging rebuild from backups in about that)",
    )
    backup_schedule: str = Field(
        default="0 2 * * *", description="cron (UTC) of the daily backups and dumps (seeds 001/004: daily at 02:00)"
    )
    retention: RetentionConfig = Field(
        default=RetentionConfig(),
        description="backup tiers (seed 001: daily 30 days, weekly 12 weeks, monthly 12 months, yearly 7 years)",
    )
    backup_storage_gi: int = Field(default=20, ge=1, description="backup volume per dumped database in GiB (kubernetes)")
    health_check_interval_seconds: int = Field(
        default=30, ge=10, le=300, description="seconds between the failover health checks (seed 000: 30 s)"
    )
    failure_threshold: int = Field(
        default=3, ge=1, le=10, description="failed health checks in a row before traffic fails over (seed 000: 3)"
    )
    maintenance_window: str = Field(
        default="SUN:02:00-SUN:04:00",
        description="weekly maintenance window of the managed data services, `DAY:HH:MM-DAY:HH:MM` UTC "
        "(seed 002: Sunday 02:00-04:00)",
    )

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
