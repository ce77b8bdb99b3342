"""AWS data adapters (`ecs`), shared pieces: version tables, windows, sizes, validation, and the
subnet group and generated credential every adapter creates.

The adapters: `rds.py` (PostgreSQL), `elasticache.py` (Redis), `documentdb.py` (MongoDB API),
`amazonmq.py` (RabbitMQ). Each returns a `DataConnection` (connection.py).

The backend checks (`rds_problems`, ..., named by the `ecs` backends in components/data/registry.py) run before any resource
is registered, so an engine version or instance class a managed service does not offer fails in
the one message of every problem of the stack file.

Service log groups: RDS and DocumentDB create the log group of each exported log themselves
(`/aws/rds/instance/<id>/<log>`, `/aws/docdb/<cluster>/<log>`) with no retention and no KMS key,
unless it already exists. `service_log_groups` pre-creates them with `aws.logRetentionDays` and
the `logs` key, and the adapter makes the database depend on them, so the service finds them.
Amazon MQ names its group after the broker *id* (`/aws/amazonmq/broker/<broker-id>/general`),
which AWS assigns at creation and which Pulumi learns only after the broker is running -- when
Amazon MQ has already created the group: see amazonmq.py and docs/deploy-aws.md.

The standby (`aws.standby.mode` warm or pilotLight, components/platforms/aws_settings.py): each
adapter also builds its copy in `regions.secondary` from an `AwsStandbyPlacement` (the standby VPC's
isolated subnets, its data security group, the secondary `data` and `logs` keys, the secondary
provider): an RDS cross-region read replica, a DocumentDB global cluster with a secondary cluster, an
ElastiCache global datastore with a secondary replication group, and an idle Amazon MQ broker (Amazon
MQ replicates nothing across regions: amazonmq.py). Each exposes `standby_connection`, the endpoint
the standby services read. The checks below refuse what the global offerings do not take (node
types and instance classes, regions) only when a standby is built.

Major engine versions come from config (`data.postgres.version`, `data.mongodb.version`), so
the instance/cluster allows major version upgrades, and in prod the parameter group (whose family
and name follow the major version) is retained when it is replaced: until the upgrade is applied
in the maintenance window the database still uses the old group, which AWS refuses to delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import PlatformComponent
from components.config import Problem, StackConfig
from components.data.registry import endpoint_of
from components.platforms.aws_settings import standby_mode
from components.platforms.limits import aws_instance_class_problems

# what each managed service offers, keyed by the `data.<service>.version` the stack states
POSTGRES_VERSIONS = ("13", "14", "15", "16", "17")
REDIS_VERSIONS = ("6.2", "7.0", "7.1")  # ElastiCache (Redis OSS engine)
DOCDB_VERSIONS = {"4.0": "4.0.0", "5.0": "5.0.0"}  # DocumentDB, MongoDB API compatible
RABBITMQ_VERSIONS = ("3.13",)  # Amazon MQ for RabbitMQ

# default instance sizes per environment when `data.<service>.tier` is not set
DEFAULT_TIERS: Mapping[str, Mapping[str, str]] = {
    "postgres": {"dev": "db.t4g.medium", "staging": "db.t4g.medium", "prod": "db.m6g.large"},
    "redis": {"dev": "cache.t4g.small", "staging": "cache.t4g.small", "prod": "cache.r7g.large"},
    "mongodb": {"dev": "db.t4g.medium", "staging": "db.t4g.medium", "prod": "db.r6g.large"},
    # CLUSTER_MULTI_AZ needs mq.m5.large or larger; mq.t3.micro is single-instance only
    "rabbitmq": {"dev": "mq.t3.micro", "staging": "mq.t3.micro", "prod": "mq.m5.large"},
}

_ALLOWED = {
    "postgres": POSTGRES_VERSIONS,
    "redis": REDIS_VERSIONS,
    "mongodb": tuple(DOCDB_VERSIONS),
    "rabbitmq": RABBITMQ_VERSIONS,
}
_SERVICE_NAMES = {
    "postgres": "RDS for PostgreSQL",
    "redis": "ElastiCache (Redis OSS)",
    "mongodb": "Amazon DocumentDB",
    "rabbitmq": "Amazon MQ for RabbitMQ",
}


def _version_problems(config: StackConfig, name: str) -> list[Problem]:
    svc = getattr(config.data, name)
    allowed = _ALLOWED[name]
    if svc.version not in allowed:
        return [Problem(f"data.{name}.version", svc.version, f"{_SERVICE_NAMES[name]} offers {', '.join(allowed)}")]
    return []


def _tier_problems(config: StackConfig, name: str, product: str) -> list[Problem]:
    return aws_instance_class_problems(f"data.{name}.tier", product, tier_of(config, name))


RDS_GP3_GIB = (20, 65536)  # what RDS for PostgreSQL allocates on gp3


def rds_problems(config: StackConfig) -> list[Problem]:
    """PostgreSQL on RDS: an engine major RDS offers, an RDS instance class and a gp3 size."""
    problems = _version_problems(config, "postgres") + _tier_problems(config, "postgres", "rds")
    low, high = RDS_GP3_GIB
    size = config.data.postgres.storage_gi
    if not low <= size <= high:
        problems.append(Problem("data.postgres.storageGi", size, f"RDS for PostgreSQL on gp3 allocates {low} to {high} GiB"))
    return problems


# ElastiCache global datastores (Redis-Global-Datastores-Getting-Started): Redis 5.0.6 or later (every
# REDIS_VERSIONS entry) on M5/M6g/M7g/R5/R6g/R6gd/R7g nodes, large or bigger (no burstable t* nodes)
GLOBAL_DATASTORE_FAMILIES = ("m5", "m6g", "m7g", "r5", "r6g", "r6gd", "r7g")
_SMALL_SIZES = ("micro", "small", "medium")
# DocumentDB global clusters (global-clusters.html): not on t3, t4g or r4 instances, not in these regions
DOCDB_GLOBAL_REFUSED_FAMILIES = ("t3", "t4g", "r4")
DOCDB_GLOBAL_REFUSED_REGIONS = ("sa-east-1", "eu-south-1", "cn-north-1", "cn-northwest-1")


def _standby_on(config: StackConfig) -> bool:
    return standby_mode(config) != "off" and bool(config.regions.secondary)


def _family_and_size(instance_class: str) -> tuple[str, str]:
    """'cache.r7g.large' -> ('r7g', 'large'); 'db.r6g.large' -> ('r6g', 'large')."""
    parts = instance_class.split(".")
    return (parts[1], parts[2]) if len(parts) == 3 else ("", "")


def elasticache_problems(config: StackConfig) -> list[Problem]:
    """Redis on ElastiCache: an engine version ElastiCache offers and a cache node type; with a standby,
    a node type a global datastore takes (the secondary group inherits it)."""
    problems = _version_problems(config, "redis") + _tier_problems(config, "redis", "elasticache")
    tier = tier_of(config, "redis")
    family, size = _family_and_size(tier)
    if _standby_on(config) and (family not in GLOBAL_DATASTORE_FAMILIES or size in _SMALL_SIZES):
        problems.append(Problem(
            "data.redis.tier", tier,
            f"the standby replicates Redis through an ElastiCache global datastore, which takes "
            f"{'/'.join(GLOBAL_DATASTORE_FAMILIES)} nodes of size large or bigger (e.g. cache.r7g.large); "
            "pick one or set aws.standby.mode: off",
        ))
    return problems


def documentdb_problems(config: StackConfig) -> list[Problem]:
    """MongoDB on DocumentDB: a DocumentDB engine version and instance class; with a standby, an instance
    class and regions a DocumentDB global cluster takes."""
    problems = _version_problems(config, "mongodb") + _tier_problems(config, "mongodb", "documentdb")
    if not _standby_on(config):
        return problems
    tier = tier_of(config, "mongodb")
    if _family_and_size(tier)[0] in DOCDB_GLOBAL_REFUSED_FAMILIES:
        problems.append(Problem(
            "data.mongodb.tier", tier,
            "the standby replicates DocumentDB through a global cluster, which does not run on "
            f"{'/'.join(DOCDB_GLOBAL_REFUSED_FAMILIES)} instances (e.g. db.r6g.large); pick another or set "
            "aws.standby.mode: off",
        ))
    for key in ("primary", "secondary"):
        region = getattr(config.regions, key)
        if region in DOCDB_GLOBAL_REFUSED_REGIONS:
            problems.append(Problem(
                f"regions.{key}", region,
                "DocumentDB global clusters (the standby's replication) are not offered there; pick another "
                "region or set aws.standby.mode: off",
            ))
    return problems


def amazonmq_problems(config: StackConfig) -> list[Problem]:
    """RabbitMQ on Amazon MQ: a RabbitMQ version and host instance type; a CLUSTER_MULTI_AZ broker
    (`ha: true`) needs mq.m5.large or larger."""
    problems = _version_problems(config, "rabbitmq") + _tier_problems(config, "rabbitmq", "amazonmq")
    mq = config.data.rabbitmq
    tier = tier_of(config, "rabbitmq")
    if mq.ha and tier.startswith("mq.t3"):
        problems.append(Problem("data.rabbitmq.tier", tier, "a CLUSTER_MULTI_AZ broker (ha: true) needs mq.m5.large or larger"))
    return problems


# How each durable service's data reaches regions.secondary on `ecs`, and the recovery point a regional
# failover typically loses there, in seconds (AWS's published typical lag; the live figure is the
# metric named): with a standby (warm or pilotLight) a continuous replica, without one (`off`) copies
# of backups. For the `dr` output (components/dr/objectives.py) and the runbook.
CROSS_REGION_RECOVERY: Mapping[str, Mapping[bool, tuple[str, int, str]]] = {
    "postgres": {
        True: ("RDS cross-region read replica (asynchronous; lag typically seconds)", 60, "AWS/RDS ReplicaLag"),
        False: ("RDS automated backups replicated to regions.secondary (point-in-time restore)", 600,
                "aws rds describe-db-instance-automated-backups: RestoreWindow.LatestTime"),
    },
    "mongodb": {
        True: ("DocumentDB global cluster (storage replication; lag typically under a second)", 1,
               "AWS/DocDB GlobalClusterReplicationLag"),
        False: ("daily AWS Backup recovery point copied to regions.secondary", 86400, "AWS/Backup copy jobs"),
    },
}


def cross_region_recovery(config: StackConfig, service: str) -> Optional[tuple[str, int, str]]:
    """(how `service`'s data reaches regions.secondary, the seconds of writes a failover there typically
    loses, the metric that shows the live figure), or None without a secondary region; a service hosted
    in another (pgvector in PostgreSQL) takes its host's."""
    if not config.regions.secondary:
        return None
    host = endpoint_of(service, "ecs")
    return CROSS_REGION_RECOVERY[host][_standby_on(config)] if host in CROSS_REGION_RECOVERY else None


def tier_of(config: StackConfig, service: str) -> str:
    return getattr(config.data, service).tier or DEFAULT_TIERS[service][config.environment]


def aws_maintenance_window(config: StackConfig) -> str:
    """'SUN:02:00-SUN:04:00' (seed 002, UTC) -> 'sun:02:00-sun:04:00' (RDS/ElastiCache/DocumentDB)."""
    return config.dr.maintenance_window.lower()


def backup_window(config: StackConfig) -> str:
    """A one-hour backup window ending one hour before the maintenance window starts (they must
    not overlap): maintenance SUN:02:00 -> '00:00-01:00'."""
    start = config.dr.maintenance_window.split("-")[0]  # SUN:02:00
    hour = int(start.split(":")[1])
    begin = (hour - 2) % 24
    return f"{begin:02d}:00-{(begin + 1) % 24:02d}:00"


def backup_retention_days(config: StackConfig) -> int:
    """Daily tier (seed 002: 30 days), capped at the 35 days RDS/DocumentDB/ElastiCache allow;
    the longer tiers live in AWS Backup (components/dr/aws.py)."""
    return min(config.dr.retention.daily_days, 35)


def isolated_subnet_group(
    owner: PlatformComponent, service: ModuleType, name: str, subnet_ids: Any, key: str = "subnets", **opts: Any
) -> Any:
    """`service.SubnetGroup` (service: `aws.rds`, `aws.docdb`, `aws.elasticache`, whose subnet groups
    take the same arguments) named `name` over the isolated subnets: no route out of the VPC. `opts`:
    more resource options (the standby's `provider`)."""
    return service.SubnetGroup(
        owner.child_name(key),
        service.SubnetGroupArgs(
            name=name,
            description="isolated subnets (no internet route)",
            subnet_ids=subnet_ids,
            tags=owner.labels,
        ),
        opts=owner.child_opts(**opts),
    )


def parameter_group(
    owner: PlatformComponent,
    service: ModuleType,
    kind: str,
    name: str,
    family: str,
    description: str,
    parameters: Mapping[str, str],
    pending_reboot: Sequence[str] = (),
    key: str = "params",
    **opts: Any,
) -> Any:
    """The engine parameter group `service.<kind>` (`aws.rds.ParameterGroup`,
    `aws.docdb.ClusterParameterGroup`: the same arguments) named `name` for engine `family`.
    Static parameters (`pending_reboot`) take effect at the next reboot, the others at once.
    `opts`: more resource options (the standby's `provider`: a group serves its own region only)."""
    resource, args_class, parameter_class = (getattr(service, kind + suffix) for suffix in ("", "Args", "ParameterArgs"))
    return resource(
        owner.child_name(key),
        args_class(
            name=name,
            family=family,
            description=description,
            parameters=[
                parameter_class(name=key, value=value, apply_method="pending-reboot" if key in pending_reboot else None)
                for key, value in parameters.items()
            ],
            tags=owner.labels,
        ),
        # a major version upgrade replaces the group (new family, new name); where changes wait for
        # the maintenance window (prod) the database keeps the old one until then, and deleting it
        # would fail the update. Elsewhere changes apply at once and the old group can go (a
        # retained one would block rebuilding the stack under the same names).
        opts=owner.child_opts(retain_on_delete=owner.config.is_production, **opts),
    )


def service_log_groups(
    owner: PlatformComponent, prefix: str, logs: Sequence[str], kms_key_arn: Any, key: str = "logs", **opts: Any
) -> list[Any]:
    """The CloudWatch log groups `<prefix>/<log>` a database service writes its exported `logs` to,
    created before the database with `aws.logRetentionDays` and the `logs` KMS key (the service
    would otherwise create them itself, kept forever and unencrypted by a customer key). `opts`: more
    resource options (the standby's `provider`, with the secondary `logs` key)."""
    return [
        aws.cloudwatch.LogGroup(
            owner.child_name(key, log),
            aws.cloudwatch.LogGroupArgs(
                name=f"{prefix}/{log}",
                retention_in_days=owner.config.aws.log_retention_days,
                kms_key_id=kms_key_arn,
                tags=owner.labels,
            ),
            opts=owner.child_opts(**opts),
        )
        for log in logs
    ]


def standby_groups(
    owner: PlatformComponent, service: ModuleType, identifier: str, standby: "AwsStandbyPlacement", log_prefix: str,
    logs: Sequence[str],
) -> tuple[Any, list[Any]]:
    """A database copy's groups in regions.secondary: its subnet group over the standby VPC's isolated
    subnets and the log groups of its exports (the secondary `logs` key): groups serve their region only."""
    there = standby.opts()
    subnet_group = isolated_subnet_group(owner, service, identifier, standby.subnet_ids, key="standby-subnets", **there)
    log_groups = service_log_groups(owner, log_prefix, logs, standby.log_kms_key_arn, key="standby-logs", **there)
    return subnet_group, log_groups


def generated_credential(owner: PlatformComponent, key: str = "password", length: int = 32) -> random.RandomPassword:
    """The service's generated password or token: no special characters, so the connection URL
    needs no escaping; stateful, because replacing it locks every client out."""
    return random.RandomPassword(
        owner.child_name(key),
        random.RandomPasswordArgs(length=length, special=False),
        opts=owner.child_opts(stateful=True),
    )


@dataclass(frozen=True)
class AwsStandbyPlacement:
    """Where a data service's standby copy runs (`regions.secondary`, the standby VPC) and the keys
    that encrypt it there: a KMS key serves its own region only, so the copy takes the secondary ones."""

    mode: str  # "warm" | "pilotLight" (standby_mode; "off" builds no placement)
    region: str
    provider: pulumi.ProviderResource
    subnet_ids: Any  # the standby VPC's isolated subnet ids
    security_group_id: pulumi.Input[str]  # the standby VPC's security group of this data service
    kms_key_arn: pulumi.Input[str]  # keys.secondary_arn("data")
    log_kms_key_arn: pulumi.Input[str]  # keys.secondary_arn("logs")

    def opts(self) -> dict[str, Any]:
        """Resource options that place a child in the secondary region."""
        return {"provider": self.provider}


@dataclass(frozen=True)
class AwsDataArgs:
    """What every AWS data adapter needs: where it runs and the key that encrypts it; `standby`: where
    its copy in regions.secondary runs (None: no standby)."""

    context: Any  # StackContext
    subnet_ids: Any  # list of isolated subnet ids
    security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    log_kms_key_arn: Optional[pulumi.Input[str]] = None
    standby: Optional[AwsStandbyPlacement] = None
