"""How each data service and the stateless services recover, per platform and backend, from the
config alone (no provider SDK, nothing registered): the mechanism, the RPO and RTO it gives, and
from what it recovers. `components/dr/objectives.py` composes these into the stack's objectives,
its check and its `dr` output; see its docstring for what the figures mean.

The constants are the assumptions (minutes); each names its source. A schedule's RPO is its
longest gap between runs (`longest_gap_minutes`, from the cron as configured), counted from the
start of each run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping, Optional

from components import schedule_windows as sw
from components.data.registry import IN_CLUSTER, REGISTRY, backend

REGION = "region"
IN_PLACE = "in-place"
DAY_MINUTES = 24 * 60

# Assumptions (minutes). Asynchronous replicas run seconds behind: counted as 1 minute.
REPLICA_LAG_MINUTES = 1
# RDS and DocumentDB point-in-time restore in-region: transaction logs are uploaded every 5 min.
PITR_MINUTES = 5
# RDS automated backups replicated to another region (snapshots + transaction logs, asynchronous):
# AWS Prescriptive Guidance "Amazon RDS PITR snapshot replication": RPO 5-30 minutes.
RDS_BACKUP_REPLICATION_MINUTES = 30
# Promote a replica (gcloud sql instances promote-replica, rds promote-read-replica, DocumentDB
# global cluster failover), switch the connection secret and roll the services.
PROMOTION_MINUTES = 30
# Restore a dump into the running StatefulSet (pg_restore, mongorestore, a Qdrant snapshot).
DUMP_RESTORE_MINUTES = 60
# Create a managed database from a backup (RDS/DocumentDB restore, a Firestore import, a namespace
# restore by Backup for GKE): AWS documents "up to a few hours" for a cross-region PITR.
MANAGED_RESTORE_MINUTES = 120
# Rebuild the platform from backups in another region (`pulumi up` with the regions switched,
# restores in parallel): the seed's RTO, the figure the GCP runbook has always assumed.
REBUILD_MINUTES = 240
# A pilot-light standby's services scale from 0 tasks: ECS places and starts the tasks, the ALB
# registers them healthy.
SCALE_UP_MINUTES = 15
# Route 53 alias answers for the failover record follow the ALB's 60 s TTL.
DNS_TTL_SECONDS = 60


@dataclass(frozen=True)
class Recovery:
    """How one data service comes back after the failure it is measured against."""

    service: str
    durable: bool
    rpo_minutes: Optional[int]  # None: nothing of it is kept (a cache rebuilt empty)
    rto_minutes: int
    mechanism: str  # where the figures come from, a phrase: "promotes a cross-region read replica ..."
    recovers_from: str  # REGION | IN_PLACE
    remedy: str = ""  # what would give a lower RPO
    rto_remedy: str = ""  # what would give a lower RTO
    lost: str = ""  # what a recovery loses (caches and queues)
    floor: Optional[int] = None  # the lowest dr.rpoMinutes the design meets when it follows the target

    @property
    def lowest_target(self) -> Optional[int]:
        """The lowest dr.rpoMinutes this recovery meets."""
        return self.floor if self.floor is not None else self.rpo_minutes

    def as_output(self) -> dict[str, Any]:
        out = {
            "durable": self.durable,
            "rpoMinutes": self.rpo_minutes,
            "rtoMinutes": self.rto_minutes,
            "mechanism": self.mechanism,
            "recoversFrom": self.recovers_from,
        }
        if self.lost:
            out["lost"] = self.lost
        return out


@dataclass(frozen=True)
class AppRecovery:
    """How the stateless services serve again."""

    rto_minutes: float
    mechanism: str
    remedy: str = ""



# ---------------------------------------------------------------------------------------------
# schedules
# ---------------------------------------------------------------------------------------------


def _restricted(field: str) -> bool:
    return field not in ("*", "?")


def longest_gap_minutes(expressions: Iterable[str], aws: bool = False) -> int:
    """The longest time between two runs of the union of these cron schedules (5-field, or AWS
    `cron(...)` with `aws`), on the weekly clock. A schedule narrowed by day of month or month (a
    monthly or yearly tier) is left out of the union, which can only lengthen the gap; alone it
    counts as a month (day of month) or a year (month)."""
    starts: set[int] = set()
    rare: list[int] = []
    for expression in expressions:
        fields = (expression.strip()[5:-1] if aws else expression).split()
        dom, month = fields[2], fields[3]
        if _restricted(month):
            rare.append(366 * DAY_MINUTES)
            continue
        if _restricted(dom):
            rare.append(31 * DAY_MINUTES)
            continue
        parse = sw.aws_cron_schedule if aws else sw.cron_schedule
        starts |= parse("backup", expression, 0).starts
    if not starts:
        return min(rare, default=366 * DAY_MINUTES)
    ordered = sorted(starts)
    gaps = [b - a for a, b in zip(ordered, ordered[1:])] + [ordered[0] + sw.WEEK - ordered[-1]]
    return max(gaps)


def every(minutes: int) -> str:
    """A 5-field cron running every `minutes` (a divisor of a day: 15, 30, 60, 120, ... 720)."""
    if minutes < 60:
        return f"*/{minutes} * * * *"
    hours = minutes // 60
    return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"


# ---------------------------------------------------------------------------------------------
# per backend: (config, service) -> Recovery
# ---------------------------------------------------------------------------------------------


def _title(service: str) -> str:
    return REGISTRY[service].title


def _dumped_in_cluster(config: Any, service: str) -> Recovery:
    """kubernetes: the dump CronJobs on `dr.backupSchedule` into the backups-<service> volume."""
    gap = longest_gap_minutes([config.dr.backup_schedule])
    return Recovery(
        service, REGISTRY[service].durable, gap, DUMP_RESTORE_MINUTES,
        f"restores the latest {REGISTRY[service].dump_tool} dump from the backups-{service} volume "
        f"(dr.backupSchedule '{config.dr.backup_schedule}': at most {gap} min apart)",
        IN_PLACE,
        remedy="run the dumps more often (dr.backupSchedule, e.g. '0 * * * *' hourly)",
    )


def _gke_in_cluster(config: Any, service: str) -> Recovery:
    """gke: Backup for GKE plans of the namespace (in regions.secondary, else the primary) and, for
    a dumped service, the dumps copied to the multi-region backup bucket."""
    from components.dr.gke_backup import FREQUENT_STEPS, backup_tiers, plan_location

    where = plan_location(config)
    data = REGISTRY[service]
    # (gap, what, recovers from): the plans are stored in `where`; the dumps leave the cluster for
    # the multi-region backup bucket
    sources = [(
        longest_gap_minutes([cron for cron, _ in backup_tiers(config).values()]),
        f"the Backup for GKE plans in {where}",
        REGION if where != config.regions.primary else IN_PLACE,
    )]
    if data.dumped_in_cluster:
        sources.append((longest_gap_minutes([config.dr.backup_schedule]),
                        f"the {data.dump_tool} dumps in the backup bucket", REGION))
    gap, source, recovers_from = min(sources, key=lambda s: (s[0], s[2] != REGION))
    return Recovery(
        service, data.durable, gap, MANAGED_RESTORE_MINUTES,
        f"restores its volume from {source} (at most {gap} min apart) onto a cluster in the DR region",
        recovers_from,
        remedy=f"Backup for GKE's frequent plan follows dr.rpoMinutes down to {min(FREQUENT_STEPS)} min",
        lost="" if data.durable else f"messages newer than the latest backup (at most {gap} min)",
        floor=min(gap, min(FREQUENT_STEPS)),
    )


def _cloud_sql(config: Any, service: str) -> Recovery:
    secondary = config.regions.secondary
    if secondary:
        return Recovery(
            service, True, REPLICA_LAG_MINUTES, PROMOTION_MINUTES,
            f"promotes the cross-region read replica in {secondary} (asynchronous, seconds behind)",
            REGION,
        )
    from components.data.gcp_placement import backup_location

    gap = longest_gap_minutes([config.dr.backup_schedule])
    return Recovery(
        service, True, gap, REBUILD_MINUTES,
        f"restores the latest daily Cloud SQL backup or export ({backup_location(config)}) into a new instance "
        "in another region (point-in-time recovery stays in the region)",
        REGION,
        remedy="set regions.secondary (a cross-region read replica: ~1 min)",
        rto_remedy="set regions.secondary (promote its replica: ~30 min)",
    )


def _firestore(config: Any, service: str) -> Recovery:
    from components.data.gcp_placement import firestore_location

    location = firestore_location(config)
    if location != config.regions.primary and "-" not in location:
        return Recovery(
            service, True, 0, 0,
            f"keeps serving from Firestore's multi-region {location} (synchronous replication)", REGION,
        )
    return Recovery(
        service, True, DAY_MINUTES, REBUILD_MINUTES,
        f"imports the latest daily export into a new database (Firestore in {location}; PITR stays in the region)",
        REGION,
        remedy="pin gcp.firestoreLocation to a multi-region such as nam5 or eur3 (synchronous: 0 min; "
        "changing it replaces the database)",
        rto_remedy="pin gcp.firestoreLocation to a multi-region (nothing to restore)",
    )


def _memorystore(config: Any, service: str) -> Recovery:
    return Recovery(service, False, None, 0, "is rebuilt empty (a cache)", REGION,
                    lost="cache and sessions: rebuilt empty (users may sign in again)")


def _rabbitmq_vm(config: Any, service: str) -> Recovery:
    from components.data.rabbitmq_vm import recovery_minutes, snapshot_interval_hours

    minutes = snapshot_interval_hours(config.dr.rpo_minutes) * 60
    return Recovery(
        service, False, minutes, recovery_minutes()["regionOutage"],
        f"starts a VM from the latest disk snapshot (every {minutes} min, multi-regional)", REGION,
        lost=f"disk snapshot every {minutes} min; newer jobs re-enqueued",
    )


def _aws_standby(config: Any) -> str:
    from components.platforms.aws_settings import standby_mode

    return standby_mode(config)


def _rds(config: Any, service: str) -> Recovery:
    mode, secondary, primary = _aws_standby(config), config.regions.secondary, config.regions.primary
    if mode in ("warm", "pilotLight"):
        return Recovery(
            service, True, REPLICA_LAG_MINUTES, PROMOTION_MINUTES,
            f"promotes the RDS cross-region read replica in {secondary} (asynchronous, seconds behind)", REGION,
        )
    if secondary:
        return Recovery(
            service, True, RDS_BACKUP_REPLICATION_MINUTES, MANAGED_RESTORE_MINUTES,
            f"restores to a point in time from the RDS automated backups replicated to {secondary} "
            "(asynchronous: AWS gives 5-30 min) with aws.standby.mode off",
            REGION,
            remedy="set aws.standby.mode to warm or pilotLight (an RDS cross-region read replica: ~1 min)",
            rto_remedy="set aws.standby.mode to warm or pilotLight (promote the replica: ~30 min)",
        )
    return _aws_in_region(service, f"RDS automated backups in {primary}")


def _aws_in_region(service: str, what: str) -> Recovery:
    return Recovery(
        service, True, PITR_MINUTES, MANAGED_RESTORE_MINUTES,
        f"restores to a point in time from the {what} (nothing is copied out of the region)", IN_PLACE,
    )


def _documentdb(config: Any, service: str) -> Recovery:
    mode, secondary, primary = _aws_standby(config), config.regions.secondary, config.regions.primary
    if mode in ("warm", "pilotLight"):
        return Recovery(
            service, True, REPLICA_LAG_MINUTES, PROMOTION_MINUTES,
            f"fails over to the DocumentDB global cluster's secondary in {secondary} (storage replication, "
            "typically under a second)",
            REGION,
        )
    if secondary:
        from components.dr.aws import retention_tiers

        gap = longest_gap_minutes([schedule for _, schedule, _ in retention_tiers(config)], aws=True)
        return Recovery(
            service, True, gap, MANAGED_RESTORE_MINUTES,
            f"with aws.standby.mode off restores the latest AWS Backup recovery point copied to {secondary} "
            f"(the daily/weekly rules run at most {gap} min apart; DocumentDB's PITR stays in {primary})",
            REGION,
            remedy="set aws.standby.mode to warm or pilotLight (a DocumentDB global cluster: ~1 min)",
            rto_remedy="set aws.standby.mode to warm or pilotLight (fail over the global cluster: ~30 min)",
        )
    return _aws_in_region(service, f"DocumentDB continuous backups in {primary}")


def _elasticache(config: Any, service: str) -> Recovery:
    if _aws_standby(config) in ("warm", "pilotLight"):
        return Recovery(service, False, REPLICA_LAG_MINUTES, PROMOTION_MINUTES,
                        f"promotes the ElastiCache global datastore's secondary in {config.regions.secondary}",
                        REGION, lost="cache entries written in the last seconds")
    return Recovery(service, False, None, 0, "is rebuilt empty (a cache)", IN_PLACE,
                    lost="cache and sessions: rebuilt empty (users may sign in again)")


def _amazon_mq(config: Any, service: str) -> Recovery:
    return Recovery(
        service, False, None, 0,
        "has no cross-region replication (Amazon MQ for RabbitMQ): the broker in the recovery region starts empty",
        REGION if config.regions.secondary else IN_PLACE,
        lost=f"in-flight messages in the {config.regions.primary} broker (the workers re-enqueue from the database)",
    )


def _in_cluster_transient(config: Any, service: str) -> Recovery:
    return Recovery(service, False, None, 0, "restarts on its volume (AOF/queue files); a lost volume starts empty",
                    IN_PLACE, lost="the volume's contents when the volume itself is lost (cache, queued jobs)")


# the managed backends, by component class
MANAGED: Mapping[str, Callable[[Any, str], Recovery]] = {
    "CloudSqlPostgres": _cloud_sql,
    "FirestoreMongo": _firestore,
    "MemorystoreRedis": _memorystore,
    "RabbitMqVm": _rabbitmq_vm,
    "RdsPostgres": _rds,
    "DocumentDb": _documentdb,
    "ElastiCacheRedis": _elasticache,
    "AmazonMqRabbitMq": _amazon_mq,
}


def recovery_of(config: Any, service: str) -> Recovery:
    """How one enabled data service of the registry recovers on the stack's platform."""
    chosen = backend(service, config.platform)
    if chosen.hosted_on is not None:
        host = recovery_of(config, chosen.hosted_on)
        return replace(host, service=service, durable=REGISTRY[service].durable,
                       mechanism=f"lives in {_title(chosen.hosted_on)}, which {host.mechanism}")
    if chosen.kind == IN_CLUSTER:
        if config.platform == "gke":
            return _gke_in_cluster(config, service)
        if REGISTRY[service].dumped_in_cluster:
            return _dumped_in_cluster(config, service)
        return _in_cluster_transient(config, service)
    return MANAGED[chosen.component.rpartition(":")[2]](config, service)


# ---------------------------------------------------------------------------------------------
# the stateless services
# ---------------------------------------------------------------------------------------------


def _detection_minutes(config: Any, dns: bool = False) -> float:
    seconds = config.dr.failure_threshold * config.dr.health_check_interval_seconds + (DNS_TTL_SECONDS if dns else 0)
    return round(seconds / 60, 1)


def app_recovery(config: Any) -> AppRecovery:
    """How the stateless services serve again."""
    platform, secondary = config.platform, config.regions.secondary
    if platform == "kubernetes":
        return AppRecovery(0, "keep running on the cluster (Deployments reschedule their pods)")
    if platform == "cloudrun":
        if secondary:
            return AppRecovery(
                _detection_minutes(config),
                f"keep serving from {secondary}: the load balancer ejects the failed region after "
                f"{config.dr.failure_threshold} failed checks {config.dr.health_check_interval_seconds} s apart",
            )
        return AppRecovery(REBUILD_MINUTES, "are redeployed in another region from this stack (one region only)",
                           "set regions.secondary (services in both regions behind the load balancer)")
    if platform == "gke":
        return AppRecovery(
            REBUILD_MINUTES,
            "are redeployed on a new cluster in the DR region (the cluster runs in regions.primary only)",
            "no standby cluster exists on gke",
        )
    mode = _aws_standby(config)
    detection = _detection_minutes(config, dns=True)
    if mode == "warm":
        return AppRecovery(detection, f"keep serving from the warm standby in {secondary}: Route 53 fails the "
                           "origin over after the health checks and the record's TTL")
    if mode == "pilotLight":
        return AppRecovery(detection + SCALE_UP_MINUTES, f"scale the pilot-light standby in {secondary} up from 0 "
                           "tasks, then Route 53 fails the origin over",
                           "set aws.standby.mode to warm (tasks already running)")
    if secondary:
        return AppRecovery(REBUILD_MINUTES, f"are deployed in {secondary} after the restores (aws.standby.mode off)",
                           "set aws.standby.mode to warm or pilotLight")
    return AppRecovery(0, f"keep running across the availability zones of {config.regions.primary} "
                       "(no regions.secondary: a regional outage waits for the region)")
