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


def elasticache_problems(config: StackConfig) -> list[Problem]:
    """Redis on ElastiCache: an engine version ElastiCache offers and a cache node type."""
    return _version_problems(config, "redis") + _tier_problems(config, "redis", "elasticache")


def documentdb_problems(config: StackConfig) -> list[Problem]:
    """MongoDB on DocumentDB: a DocumentDB engine version and instance class."""
    return _version_problems(config, "mongodb") + _tier_problems(config, "mongodb", "documentdb")


def amazonmq_problems(config: StackConfig) -> list[Problem]:
    """RabbitMQ on Amazon MQ: a RabbitMQ version and host instance type; a CLUSTER_MULTI_AZ broker
    (`ha: true`) needs mq.m5.large or larger."""
    problems = _version_problems(config, "rabbitmq") + _tier_problems(config, "rabbitmq", "amazonmq")
    mq = config.data.rabbitmq
    tier = tier_of(config, "rabbitmq")
    if mq.ha and tier.startswith("mq.t3"):
        problems.append(Problem("data.rabbitmq.tier", tier, "a CLUSTER_MULTI_AZ broker (ha: true) needs mq.m5.large or larger"))
    return problems


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


def isolated_subnet_group(owner: PlatformComponent, service: ModuleType, name: str, subnet_ids: Any) -> Any:
    """`service.SubnetGroup` (service: `aws.rds`, `aws.docdb`, `aws.elasticache`, whose subnet groups
    take the same arguments) named `name` over the isolated subnets: no route out of the VPC."""
    return service.SubnetGroup(
        owner.child_name("subnets"),
        service.SubnetGroupArgs(
            name=name,
            description="isolated subnets (no internet route)",
            subnet_ids=subnet_ids,
            tags=owner.labels,
        ),
        opts=owner.child_opts(),
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
) -> Any:
    """The engine parameter group `service.<kind>` (`aws.rds.ParameterGroup`,
    `aws.docdb.ClusterParameterGroup`: the same arguments) named `name` for engine `family`.
    Static parameters (`pending_reboot`) take effect at the next reboot, the others at once."""
    resource, args_class, parameter_class = (getattr(service, kind + suffix) for suffix in ("", "Args", "ParameterArgs"))
    return resource(
        owner.child_name("params"),
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
        opts=owner.child_opts(retain_on_delete=owner.config.is_production),
    )


def service_log_groups(owner: PlatformComponent, prefix: str, logs: Sequence[str], kms_key_arn: Any) -> list[Any]:
    """The CloudWatch log groups `<prefix>/<log>` a database service writes its exported `logs` to,
    created before the database with `aws.logRetentionDays` and the `logs` KMS key (the service
    would otherwise create them itself, kept forever and unencrypted by a customer key)."""
    return [
        aws.cloudwatch.LogGroup(
            owner.child_name("logs", log),
            aws.cloudwatch.LogGroupArgs(
                name=f"{prefix}/{log}",
                retention_in_days=owner.config.aws.log_retention_days,
                kms_key_id=kms_key_arn,
                tags=owner.labels,
            ),
            opts=owner.child_opts(),
        )
        for log in logs
    ]


def generated_credential(owner: PlatformComponent, key: str = "password", length: int = 32) -> random.RandomPassword:
    """The service's generated password or token: no special characters, so the connection URL
    needs no escaping; stateful, because replacing it locks every client out."""
    return random.RandomPassword(
        owner.child_name(key),
        random.RandomPasswordArgs(length=length, special=False),
        opts=owner.child_opts(stateful=True),
    )


@dataclass(frozen=True)
class AwsDataArgs:
    """What every AWS data adapter needs: where it runs and the key that encrypts it."""

    context: Any  # StackContext
    subnet_ids: Any  # list of isolated subnet ids
    security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    log_kms_key_arn: Optional[pulumi.Input[str]] = None
