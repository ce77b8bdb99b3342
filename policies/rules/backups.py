"""Backups exist for every store of record, and PITR/retention meet the stack's declared RPO.

Seeds 000/001/002: RPO 1 h, RTO 4 h; daily backups kept 30 days (weekly 12 weeks, monthly 12
months, yearly 7 years); PITR via WAL. The RPO and the daily retention come from each stack's
policy config (`backups-meet-rpo`: rpoMinutes / retentionDays), which mirrors `dr.rpoMinutes`
and `dr.retention.dailyDays` of the stack file (a test keeps them equal).

Caches (Memorystore, ElastiCache) must have snapshots (`backups-enabled`) but are not held to
the RPO: they hold sessions, caches and counters the application rebuilds.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from pulumi_policy import PolicyConfigSchema, ResourceValidationArgs, Severity, StackValidationArgs

from .base import Check, config_number, resource_policy, stack_policy
from .props import get, is_set, is_unknown, number, present, seq, short, truthy

CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
MEMORYSTORE = "gcp:redis/instance:Instance"
FIRESTORE = "gcp:firestore/database:Database"
FIRESTORE_BACKUP = "gcp:firestore/backupSchedule:BackupSchedule"
DISK = "gcp:compute/disk:Disk"
DISK_ATTACHMENT = "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment"
RESOURCE_POLICY = "gcp:compute/resourcePolicy:ResourcePolicy"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
DOCDB = "aws:docdb/cluster:Cluster"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
BACKUP_PLAN = "aws:backup/plan:Plan"

DAY = 1440.0


def is_replica(resource_type: str, props: Any) -> Any:
    """Read replicas take no backups of their own (the primary's cover them)."""
    if resource_type == CLOUD_SQL:
        master = get(props, "masterInstanceName")
        return master if is_unknown(master) else is_set(master)
    if resource_type == RDS_INSTANCE:
        source = get(props, "replicateSourceDb")
        return source if is_unknown(source) else is_set(source)
    return False


def is_global_secondary(resource_type: str, props: Any) -> Any:
    """A secondary member of a global store in another region (DR copy, read-only until promoted): a
    DocumentDB cluster joined to a global cluster without a master user of its own (a secondary
    inherits it; a primary has one), or an ElastiCache replication group added to a global datastore
    (`globalReplicationGroupId`; the provider then refuses node type, engine and encryption flags:
    the datastore's primary sets them, and its own checks cover them)."""
    if resource_type == DOCDB:
        joined, user = get(props, "globalClusterIdentifier"), get(props, "masterUsername")
        if is_unknown(joined):
            return joined
        return is_set(joined) and not is_set(user)
    if resource_type == ELASTICACHE:
        joined = get(props, "globalReplicationGroupId")
        return joined if is_unknown(joined) else is_set(joined)
    return False


def _related(resource: Any, resources: list[Any], type_token: str, prop: str) -> list[Any]:
    """Resources of `type_token` that depend on `resource` (or name it in `prop`)."""
    name = get(resource.props, "name")
    found = []
    for other in resources:
        if other.resource_type != type_token:
            continue
        if any(d.urn == resource.urn for d in other.dependencies):
            found.append(other)
        elif isinstance(name, str) and name and get(other.props, prop) == name:
            found.append(other)
    return found


@stack_policy(
    name="backups-enabled",
    theme="backups",
    summary="Every database, cache and data disk is backed up automatically.",
    severity=Severity.HIGH,
    types=(CLOUD_SQL, MEMORYSTORE, FIRESTORE, FIRESTORE_BACKUP, DISK, DISK_ATTACHMENT, RDS_INSTANCE, RDS_CLUSTER, DOCDB, ELASTICACHE),
    checks="Cloud SQL primaries: backupConfiguration.enabled; Memorystore: RDB persistence; Firestore: a "
    "BackupSchedule for the database; Compute Engine disks: a snapshot schedule (resourcePolicies or a "
    "DiskResourcePolicyAttachment); RDS/Aurora/DocumentDB: backupRetentionPeriod not 0; ElastiCache: "
    "snapshotRetentionLimit >= 1.",
    source="seed 000 (backup strategy: database and Redis backups); seed 001 (automated daily backups); seed 002 "
    "(automated daily backups with 30-day retention); seed 004 (backup strategy defined)",
    remediation="Enable the managed backup of each store (see checks); for the RabbitMQ disk attach a "
    "compute.ResourcePolicy snapshot schedule.",
)
def backups_enabled(args: StackValidationArgs, check: Check) -> None:
    resources = list(args.resources)
    for r in resources:
        kind, props, label = r.resource_type, r.props, f"{short(r.resource_type)} {r.name}"
        replica = is_replica(kind, props)
        if not check.known(replica, f"replica setting of {label}") or replica:
            continue
        if kind == CLOUD_SQL:
            enabled = truthy(get(props, "settings.backupConfiguration.enabled"))
            if check.known(enabled, f"backupConfiguration.enabled of {label}") and enabled is not True:
                check.fail(f"{label}: automated backups are off (settings.backupConfiguration.enabled).", r.urn)
        elif kind == MEMORYSTORE:
            mode = get(props, "persistenceConfig.persistenceMode")
            if check.known(mode, f"persistenceConfig of {label}") and mode != "RDB":
                check.fail(f"{label}: no RDB snapshots (persistenceConfig.persistenceMode: RDB).", r.urn)
        elif kind == FIRESTORE:
            if not _related(r, resources, FIRESTORE_BACKUP, "database"):
                check.fail(f"{label}: no firestore.BackupSchedule for this database.", r.urn)
        elif kind == DISK:
            policies = get(props, "resourcePolicies")
            if not present(policies) and not _related(r, resources, DISK_ATTACHMENT, "disk"):
                check.fail(f"{label}: no snapshot schedule (resourcePolicies or DiskResourcePolicyAttachment).", r.urn)
        elif kind in (RDS_INSTANCE, RDS_CLUSTER, DOCDB):
            days = number(get(props, "backupRetentionPeriod"))
            if check.known(days, f"backupRetentionPeriod of {label}") and days is not None and days < 1:
                check.fail(f"{label}: backups are off (backupRetentionPeriod: 0).", r.urn)
        elif kind == ELASTICACHE:
            limit = number(get(props, "snapshotRetentionLimit"))
            if check.known(limit, f"snapshotRetentionLimit of {label}") and (limit is None or limit < 1):
                check.fail(f"{label}: no automatic snapshots (snapshotRetentionLimit >= 1).", r.urn)


# ---------------------------------------------------------------------------------------------

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)s$")


def _duration_days(value: Any) -> Optional[float]:
    match = _DURATION_RE.match(str(value or "").strip())
    return float(match.group(1)) / 86400 if match else None


def _snapshot_interval_minutes(schedule: Any, check: Check, where: str) -> Optional[float]:
    hourly = number(get(schedule, "hourlySchedule.hoursInCycle"))
    daily = number(get(schedule, "dailySchedule.daysInCycle"))
    weekly = get(schedule, "weeklySchedule")
    for value, what in ((hourly, "hourlySchedule"), (daily, "dailySchedule"), (weekly, "weeklySchedule")):
        if not check.known(value, f"{where}.{what}"):
            return None
    if hourly is not None:
        return hourly * 60
    if daily is not None:
        return daily * DAY
    if weekly is not None:
        return 7 * DAY
    return None


@resource_policy(
    name="backups-meet-rpo",
    theme="backups",
    summary="Point-in-time recovery, snapshot frequency and backup retention meet the stack's declared RPO.",
    severity=Severity.HIGH,
    types=(CLOUD_SQL, FIRESTORE, FIRESTORE_BACKUP, RESOURCE_POLICY, RDS_INSTANCE, RDS_CLUSTER, DOCDB, BACKUP_PLAN),
    checks="With config rpoMinutes (R) and retentionDays (D): Cloud SQL primaries have PITR (R < 24 h) and "
    "retainedBackups >= D; Firestore has PITR (R < 24 h); Firestore backup schedules keep >= D days; Compute "
    "Engine snapshot schedules run at least every R minutes and keep >= D days; RDS/Aurora/DocumentDB "
    "backupRetentionPeriod >= min(D, 35) (continuous PITR); AWS Backup plans keep some recovery point >= D days.",
    source="seed 000/001/002 (RPO 1 hour, PITR via WAL); seeds 001/002 (daily backups kept 30 days)",
    remediation="Cloud SQL: backup_configuration(enabled, point_in_time_recovery_enabled=True, "
    "backup_retention_settings(retained_backups=D)); Firestore point_in_time_recovery_enablement="
    "\"POINT_IN_TIME_RECOVERY_ENABLED\"; snapshot schedule hourly_schedule(hours_in_cycle=1) with "
    "max_retention_days=D; RDS/DocumentDB backup_retention_period=D.",
    config_schema=PolicyConfigSchema(
        properties={
            "rpoMinutes": {
                "type": "integer",
                "minimum": 1,
                "default": 60,
                "description": "The stack's declared recovery point objective (dr.rpoMinutes).",
            },
            "retentionDays": {
                "type": "integer",
                "minimum": 1,
                "default": 30,
                "description": "Minimum daily-backup retention (dr.retention.dailyDays).",
            },
        }
    ),
)
def backups_meet_rpo(args: ResourceValidationArgs, check: Check) -> None:
    rpo = config_number(args, "rpoMinutes", 60)
    days = config_number(args, "retentionDays", 30)
    kind, props = args.resource_type, args.props
    replica = is_replica(kind, props)
    if not check.known(replica, "replica setting") or replica:
        return
    if kind == CLOUD_SQL:
        base = "settings.backupConfiguration"
        if rpo < DAY:
            version = get(props, "databaseVersion")
            key = "binaryLogEnabled" if isinstance(version, str) and version.startswith("MYSQL") else "pointInTimeRecoveryEnabled"
            pitr = truthy(get(props, f"{base}.{key}"))
            if check.known(pitr, f"{base}.{key}") and pitr is not True:
                check.fail(f"RPO {rpo:g} min needs point-in-time recovery: set {base}.{key}: true.")
        retained = number(get(props, f"{base}.backupRetentionSettings.retainedBackups"))
        unit = get(props, f"{base}.backupRetentionSettings.retentionUnit")
        if check.known(retained, f"{base}.backupRetentionSettings.retainedBackups") and check.known(unit, "retentionUnit"):
            kept = 7.0 if retained is None else retained  # Cloud SQL default: 7 daily backups
            if (unit or "COUNT") == "COUNT" and kept < days:
                check.fail(f"keeps {kept:g} daily backups; the stack requires {days:g} days (retainedBackups).")
    elif kind == FIRESTORE:
        if rpo < DAY:
            pitr = get(props, "pointInTimeRecoveryEnablement")
            if check.known(pitr, "pointInTimeRecoveryEnablement") and pitr != "POINT_IN_TIME_RECOVERY_ENABLED":
                check.fail(f"RPO {rpo:g} min needs PITR: set pointInTimeRecoveryEnablement: POINT_IN_TIME_RECOVERY_ENABLED.")
    elif kind == FIRESTORE_BACKUP:
        retention = get(props, "retention")
        if check.known(retention, "retention"):
            kept = _duration_days(retention)
            if kept is None or kept < days:
                check.fail(f"backup schedule keeps {'?' if kept is None else f'{kept:g}'} days; the stack requires {days:g}.")
    elif kind == RESOURCE_POLICY:
        policy = get(props, "snapshotSchedulePolicy")
        if not check.known(policy, "snapshotSchedulePolicy") or policy is None:
            return
        interval = _snapshot_interval_minutes(get(policy, "schedule"), check, "snapshotSchedulePolicy.schedule")
        if interval is not None and interval > rpo:
            check.fail(f"snapshots every {interval:g} min exceed the RPO of {rpo:g} min: use an hourly schedule.")
        kept = number(get(policy, "retentionPolicy.maxRetentionDays"))
        if check.known(kept, "retentionPolicy.maxRetentionDays") and (kept is None or kept < days):
            check.fail(f"snapshots are kept {'unset' if kept is None else f'{kept:g}'} days; the stack requires {days:g}.")
    elif kind in (RDS_INSTANCE, RDS_CLUSTER, DOCDB):
        period = number(get(props, "backupRetentionPeriod"))
        if check.known(period, "backupRetentionPeriod"):
            kept = 1.0 if period is None else period
            needed = min(days, 35.0)
            if kept < needed:
                check.fail(f"backupRetentionPeriod is {kept:g} days; the stack requires {needed:g} (max 35).")
    elif kind == BACKUP_PLAN:
        rules = seq(get(props, "rules"), "rules")
        if not check.known(rules, "rules"):
            return
        longest = 0.0
        for index, rule in enumerate(rules):
            delete_after = number(get(rule, "lifecycle.deleteAfter"))
            if not check.known(delete_after, f"rules[{index}].lifecycle.deleteAfter"):
                return
            longest = max(longest, float("inf") if delete_after is None else delete_after)
        if longest < days:
            check.fail(f"no backup rule keeps recovery points {days:g} days (longest: {longest:g}).")
