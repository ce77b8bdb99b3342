"""The AWS failover runbook's data steps (`failoverRunbook` output; docs/deploy-aws.md "Data failover
and failback" says the same with this stack's names).

Pure text from the config and the data components' physical names: no resources. With a standby
(aws.standby.mode warm or pilotLight) every durable data service has a copy in regions.secondary
that is *promoted*, not restored: the RDS cross-region read replica, the DocumentDB global cluster's
secondary, the ElastiCache global datastore's secondary; Amazon MQ has no replication, so its
standby broker starts empty (the queued messages stay in the primary's broker). Failing back
re-creates replication in the original direction and puts every resource back in the role, the
name and the Pulumi state entry it had, so no protected resource is replaced. Without a standby
(`off`) the secondary region holds backups only and the steps restore them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.config import StackConfig


@dataclass(frozen=True)
class DataNames:
    """The physical names the runbook's commands act on (None: that service is not deployed)."""

    prefix: str
    primary: str
    secondary: str
    rds: Optional[str] = None
    rds_standby: Optional[str] = None
    docdb: Optional[str] = None
    docdb_global: Optional[str] = None
    docdb_standby: Optional[str] = None
    redis: Optional[str] = None
    redis_standby: Optional[str] = None
    mq: Optional[str] = None
    mq_standby: Optional[str] = None

    @property
    def standby(self) -> bool:
        return any((self.rds_standby, self.docdb_standby, self.redis_standby, self.mq_standby))


def _pg_failover(cfg: StackConfig, n: DataNames, mode: str) -> list[str]:
    if not n.rds_standby:
        return []
    days = min(cfg.dr.retention.daily_days, 35)
    steps = [
        f"PostgreSQL (RDS read replica {n.rds_standby}): lag: aws cloudwatch get-metric-statistics --region "
        f"{n.secondary} --namespace AWS/RDS --metric-name ReplicaLag --dimensions Name=DBInstanceIdentifier,"
        f"Value={n.rds_standby} --statistics Maximum --period 60 --start-time <10 min ago> --end-time <now> "
        f"(seconds: the data lost). Promote: aws rds promote-read-replica --region {n.secondary} "
        f"--db-instance-identifier {n.rds_standby} --backup-retention-period {days}; aws rds wait "
        f"db-instance-available --region {n.secondary} --db-instance-identifier {n.rds_standby}.",
    ]
    if mode == "pilotLight" and cfg.data.postgres.ha:
        steps.append(f"  pilot light: aws rds modify-db-instance --region {n.secondary} --db-instance-identifier "
                     f"{n.rds_standby} --multi-az --apply-immediately")
    return steps


def _docdb_failover(cfg: StackConfig, n: DataNames, mode: str) -> list[str]:
    if not n.docdb_standby:
        return []
    target = f"arn:aws:rds:{n.secondary}:<account>:cluster:{n.docdb_standby}"
    steps = [
        f"DocumentDB (global cluster {n.docdb_global}, secondary {n.docdb_standby}): primary region still "
        f"answering (planned, no data loss): aws docdb switchover-global-cluster --region {n.secondary} "
        f"--global-cluster-identifier {n.docdb_global} --target-db-cluster-identifier {target}. Primary region "
        f"lost: managed failover, keeps the global cluster (the old primary rejoins as a secondary when its "
        f"region is back): aws docdb failover-global-cluster --region {n.secondary} --global-cluster-identifier "
        f"{n.docdb_global} --target-db-cluster-identifier {target} --allow-data-loss. Only if that call fails: "
        f"detach and promote: aws docdb remove-from-global-cluster --region {n.secondary} "
        f"--global-cluster-identifier {n.docdb_global} --db-cluster-identifier {target}.",
    ]
    if mode == "pilotLight":
        steps.append(
            f"  pilot light (one instance): add readers: aws docdb create-db-instance --region {n.secondary} "
            f"--db-cluster-identifier {n.docdb_standby} --db-instance-identifier {n.docdb_standby}-1 "
            f"--db-instance-class <data.mongodb.tier> --engine docdb"
        )
    return steps


def _redis_failover(n: DataNames) -> list[str]:
    if not n.redis_standby:
        return []
    return [
        f"Redis (global datastore <id>-{n.redis}: aws elasticache describe-global-replication-groups --region "
        f"{n.secondary}): aws elasticache failover-global-replication-group --region {n.secondary} "
        f"--global-replication-group-id <id> --primary-region {n.secondary} --primary-replication-group-id "
        f"{n.redis_standby}; if the primary region does not answer: aws elasticache "
        f"disassociate-global-replication-group --region {n.secondary} --global-replication-group-id <id> "
        f"--replication-group-id {n.redis_standby} --replication-group-region {n.secondary} (a cache: what "
        f"had not replicated is gone; users may sign in again).",
    ]


def _mq_failover(n: DataNames) -> list[str]:
    if not n.mq_standby:
        return []
    return [
        f"RabbitMQ: Amazon MQ replicates nothing across regions. The standby broker {n.mq_standby} is empty and "
        f"ready; the standby services declare their queues on it. Messages still queued in {n.mq} are not "
        f"available (lost unless {n.primary} comes back with that broker); the API must re-enqueue jobs "
        f"that users retry.",
    ]


def failback_steps(cfg: StackConfig, n: DataNames) -> list[str]:
    days = min(cfg.dr.retention.daily_days, 35)
    if not n.standby:
        return []
    steps = [f"Fail back once {n.primary} is healthy (a planned window; writes stop for minutes; details in "
             "docs/deploy-aws.md \"Data failover and failback\"):"]
    if n.rds_standby:
        steps.append(
            f"  PostgreSQL: snapshot and delete the stale {n.rds} (aws rds delete-db-instance --region {n.primary} "
            f"--db-instance-identifier {n.rds} --final-db-snapshot-identifier {n.rds}-before-failback, after "
            f"modify-db-instance --no-deletion-protection); re-create it as a replica of {n.rds_standby}: aws rds "
            f"create-db-instance-read-replica --region {n.primary} --db-instance-identifier {n.rds} "
            f"--source-db-instance-identifier arn:aws:rds:{n.secondary}:<account>:db:{n.rds_standby} --kms-key-id "
            f"<{n.primary} data key> --db-subnet-group-name {n.rds} --vpc-security-group-ids <postgres sg> "
            f"--db-parameter-group-name <{n.rds}-pg* group>; when ReplicaLag is 0 stop the writers, aws rds "
            f"promote-read-replica --region {n.primary} --db-instance-identifier {n.rds} --backup-retention-period "
            f"{days}; delete {n.rds_standby} (snapshot first); then pulumi refresh --target <urn of {n.rds}> "
            f"--target <urn of {n.rds_standby}> (drops both stale entries), pulumi import aws:rds/instance:Instance "
            f"postgres-instance {n.rds} --parent <urn of the postgres component> --protect, pulumi up (re-creates "
            f"{n.rds_standby} as a replica; nothing protected is replaced)."
        )
    if n.docdb_standby:
        steps.append(
            f"  DocumentDB after a switchover or managed failover: aws docdb switchover-global-cluster --region "
            f"{n.primary} --global-cluster-identifier {n.docdb_global} --target-db-cluster-identifier "
            f"arn:aws:rds:{n.primary}:<account>:cluster:{n.docdb} (both clusters keep their names and state). "
            f"After detach-and-promote: re-create {n.docdb} as the secondary of a global cluster made from "
            f"{n.docdb_standby} with the same identifiers, then switch over (docs)."
        )
    if n.redis_standby:
        steps.append(
            f"  Redis: aws elasticache failover-global-replication-group --region {n.primary} "
            f"--global-replication-group-id <id> --primary-region {n.primary} --primary-replication-group-id "
            f"{n.redis}; after a disassociation: delete {n.redis_standby}, pulumi refresh, pulumi up (re-creates "
            "it as the secondary)."
        )
    if n.mq_standby:
        steps.append(
            f"  RabbitMQ: scale the standby workers down once its queues are empty (aws mq / RabbitMQ console of "
            f"{n.mq_standby}); the primary workers then drain what was left in {n.mq} (jobs must be idempotent)."
        )
    return steps


def standby_runbook(cfg: StackConfig, n: DataNames, mode: str) -> list[str]:
    """The data part of the failover runbook with a standby: what to promote (failback_steps: back)."""
    steps = [
        f"Data failover ({n.primary} -> {n.secondary}, standby {mode}): promote the copies, in parallel; "
        "do not run pulumi up against this stack while the primary region's APIs are down.",
        *_pg_failover(cfg, n, mode), *_docdb_failover(cfg, n, mode), *_redis_failover(n), *_mq_failover(n),
        "The standby services read the standby endpoints (output standbyDataEndpoints); a promoted copy "
        "keeps its endpoint, so nothing needs re-pointing.",
    ]
    return steps


def restore_runbook(cfg: StackConfig, n: DataNames) -> list[str]:
    """The data part without a standby (`off`): the secondary region holds backups only."""
    return [
        f"Data recovery in {n.secondary} (standby off: backups only, no replica; RPO minutes for PostgreSQL, "
        f"the last copied daily backup for DocumentDB):",
        f"PostgreSQL: aws rds describe-db-instance-automated-backups --region {n.secondary}; aws rds "
        f"restore-db-instance-to-point-in-time --source-db-instance-automated-backups-arn <arn> "
        f"--target-db-instance-identifier {n.rds or n.prefix + '-postgres'} --use-latest-restorable-time "
        f"--region {n.secondary} (or the latest copied recovery point of vault {n.prefix}-vault-{n.secondary}).",
        f"DocumentDB: aws backup list-recovery-points-by-backup-vault --backup-vault-name "
        f"{n.prefix}-vault-{n.secondary} --region {n.secondary}; aws backup start-restore-job for the newest "
        f"point of {n.docdb or n.prefix + '-docdb'}.",
        "Redis is rebuilt empty; RabbitMQ's queued messages are lost. The app has no standby in this mode: "
        "set aws.standby.mode to warm or pilotLight before an outage for a failover that needs no rebuild.",
    ]
