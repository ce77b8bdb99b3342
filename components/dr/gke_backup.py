"""Backup for GKE: scheduled backups of the platform namespace, with the seeds' retention tiers.

`GkeBackup` creates Backup for GKE plans (`gkebackup.BackupPlan`) for the platform namespace of
the cluster, each backing up the Kubernetes objects, the Secrets and the volume data (the
in-cluster MongoDB and RabbitMQ disks):
- daily, on `dr.backupSchedule`, kept `dr.retention.dailyDays` days;
- weekly (Sundays, same time), kept `dr.retention.weeklyWeeks` weeks, when that tier is on;
- monthly (the 1st, same time), kept `dr.retention.monthlyMonths` months, when that tier is on;
- frequent: every `frequent_interval(config)` minutes (the longest of `FREQUENT_STEPS` within
  `dr.rpoMinutes`: hourly for prod's 60, twice a day for 1440), kept `FREQUENT_KEEP_DAYS` days.
  The in-cluster MongoDB, RabbitMQ and Qdrant have no replica in the DR region: this plan is what
  gives them the RPO (`components/dr/objectives.py`). It always exists and its name does not follow
  the interval, so a new RPO changes only its schedule (a protected plan that came and went with
  the RPO could not be deleted, and would take its backups with it).

Backup for GKE keeps a backup at most 365 days, so monthly retention is capped there and the
seeds' yearly tier is served by the backup bucket (database dumps), not by these plans.

The plans live in the DR region (`regions.secondary`, else the primary): Backup for GKE stores
every artifact in the plan's region, so a lost primary region does not take the backups with it,
and a restore plan in the DR region can rebuild the namespace on a cluster there. In production
the plans are protected, and each backup is locked against deletion for its first days.
An optional Cloud KMS key (in the plan's region) encrypts the backed-up objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackContext
from components.data.gcp_placement import gke_backup_location
from components.platforms.limits import BACKUP_FOR_GKE_MAX_RETAIN_DAYS as MAX_RETAIN_DAYS

PROD_DELETE_LOCK_DAYS = 7
# minutes between the frequent plan's backups it may use: each divides a day evenly
FREQUENT_STEPS = (720, 480, 360, 240, 180, 120, 60, 30, 15)
FREQUENT_KEEP_DAYS = 2


def frequent_interval(config) -> int:
    """Minutes between the frequent plan's backups: the longest step within `dr.rpoMinutes` (the
    shortest step below that: the objectives check refuses such an RPO before anything is built)."""
    rpo = config.dr.rpo_minutes
    return next((step for step in FREQUENT_STEPS if step <= rpo), FREQUENT_STEPS[-1])


def backup_tiers(config) -> dict[str, tuple[str, int]]:
    """tier -> (cron schedule, days kept) of the plans `GkeBackup` creates."""
    from components.dr.recovery import every

    retention = config.dr.retention
    minute, hour, *_ = config.dr.backup_schedule.split()
    tiers: dict[str, tuple[str, int]] = {"daily": (config.dr.backup_schedule, retention.daily_days)}
    if retention.weekly_weeks:
        tiers["weekly"] = (f"{minute} {hour} * * 0", retention.weekly_weeks * 7)
    if retention.monthly_months:
        tiers["monthly"] = (f"{minute} {hour} 1 * *", min(retention.monthly_months * 31, MAX_RETAIN_DAYS))
    tiers["frequent"] = (every(frequent_interval(config)), FREQUENT_KEEP_DAYS)
    return tiers


def plan_location(config) -> str:
    """Where the plans (and so their backups) live: `gke.backupLocation`, default the DR region, else the primary."""
    return gke_backup_location(config)


@dataclass(frozen=True)
class GkeBackupArgs:
    context: StackContext
    cluster_id: pulumi.Input[str]  # projects/*/locations/*/clusters/*
    namespace: pulumi.Input[str]
    encryption_key: Optional[pulumi.Input[str]] = None  # projects/*/locations/*/keyRings/*/cryptoKeys/*
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # the Backup for GKE API
    # the configured project (the plans live there); None only for a component test on the
    # provider's project: the stacks always pass it (tests/gcp/test_api_order.py)
    project: Optional[pulumi.Input[str]] = None


class GkeBackup(PlatformComponent):
    """Outputs: `plans` (tier -> plan name), `location`."""

    TYPE = "aiplatform:dr:GkeBackup"

    def __init__(self, name: str, args: GkeBackupArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        retention = cfg.dr.retention
        # the gke adapter's problems refuse a daily retention above MAX_RETAIN_DAYS before anything is built
        assert retention.daily_days <= MAX_RETAIN_DAYS
        tiers = backup_tiers(cfg)
        self.location = gke_backup_location(cfg)  # pinned (gke.backupLocation), default the DR region
        lock = PROD_DELETE_LOCK_DAYS if cfg.is_production else 0
        self.plans: dict[str, gcp.gkebackup.BackupPlan] = {}
        for tier, (schedule, keep_days) in tiers.items():
            self.plans[tier] = gcp.gkebackup.BackupPlan(
                self.child_name(tier),
                gcp.gkebackup.BackupPlanArgs(
                    project=args.project,
                    name=f"{self.context.prefix}-{tier}",
                    cluster=args.cluster_id,
                    location=self.location,
                    description=f"{tier} backup of the platform namespace, kept {keep_days} days",
                    backup_config=gcp.gkebackup.BackupPlanBackupConfigArgs(
                        selected_namespaces=gcp.gkebackup.BackupPlanBackupConfigSelectedNamespacesArgs(
                            namespaces=[args.namespace]
                        ),
                        include_volume_data=True,
                        include_secrets=True,
                        encryption_key=(
                            gcp.gkebackup.BackupPlanBackupConfigEncryptionKeyArgs(
                                gcp_kms_encryption_key=args.encryption_key
                            )
                            if args.encryption_key is not None
                            else None
                        ),
                    ),
                    backup_schedule=gcp.gkebackup.BackupPlanBackupScheduleArgs(
                        cron_schedule=schedule, paused=False
                    ),
                    retention_policy=gcp.gkebackup.BackupPlanRetentionPolicyArgs(
                        backup_retain_days=keep_days,
                        backup_delete_lock_days=min(lock, keep_days),
                        locked=False,
                    ),
                    labels=self.labels,
                ),
                opts=self.child_opts(stateful=True, depends_on=list(args.depends_on) or None),
            )
        self.register_outputs({"plans": {t: p.name for t, p in self.plans.items()}, "location": self.location})
