"""The `aws` section: settings of `ecs` (VPC, Route 53, CloudFront, logs, backups, task runtimes)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator

from components.config.base import _IMAGE_RE, _Model


_CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                              2192, 2557, 2922, 3288, 3653)


class AwsStandbyConfig(_Model):
    """The standby in `regions.secondary` (docs/deploy-aws.md "Failover"): a second VPC, ALB and ECS
    services of this same stack, with the data plane replicated there."""

    mode: Optional[Literal["warm", "pilotLight", "off"]] = Field(
        default=None,
        description="warm: every service runs `minTasks` tasks in regions.secondary behind its own ALB, the data "
        "services are replicated there (RDS read replica, DocumentDB global cluster, ElastiCache global "
        "datastore); pilotLight: the same, with the services at 0 tasks (scaled up in the runbook: slower RTO, "
        "cheaper); off: backups are copied to regions.secondary only. Default: warm in prod when "
        "regions.secondary is set, else off",
    )
    min_tasks: int = Field(
        default=1, ge=1, le=10,
        description="tasks per service the warm standby runs (its autoscaling floor); it scales up to the "
        "service's maxReplicas when traffic fails over",
    )
    vpc_cidr: str = Field(
        default="10.31.0.0/16",
        description="the standby VPC's range, /16 to /20, disjoint from aws.vpcCidr; changing this replaces the "
        "standby VPC and the replicas in it",
    )

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, v: str) -> str:
        return _checked_vpc_cidr(v)


def _checked_vpc_cidr(v: str) -> str:
    import ipaddress

    try:
        net = ipaddress.IPv4Network(v)
    except ValueError:
        raise ValueError("must be an IPv4 network such as '10.30.0.0/16'") from None
    if not 16 <= net.prefixlen <= 20:
        raise ValueError("must be a /16 to /20 (nine subnets of 1/16 of the range are cut from it)")
    return v


def standby_mode(config) -> str:
    """The standby mode a stack runs: `aws.standby.mode`, else warm in prod with a secondary region."""
    explicit = config.aws.standby.mode
    if explicit is not None:
        return explicit
    return "warm" if config.environment == "prod" and config.regions.secondary else "off"


def origin_failover(config) -> bool:
    """Whether Route 53 fails the origin over to the standby: a standby runs and `aws.hostedZoneId` holds
    the failover records (components/dr/aws.py); the ALBs then admit the Route 53 health checkers."""
    return standby_mode(config) != "off" and bool(config.aws.hosted_zone_id)


class AwsConfig(_Model):
    """AWS settings (`ecs`). The region comes from `regions.primary`, the DR region from
    `regions.secondary`; see docs/deploy-aws.md."""

    vpc_cidr: str = Field(default="10.30.0.0/16", description="VPC range, /16 to /20, cut into 16 equal subnets (private, isolated, public per AZ); "
        "changing this replaces the VPC, its subnets and the Amazon MQ broker (its queues); RDS, DocumentDB and "
        "ElastiCache cannot move to a new VPC in place")
    az_count: int = Field(
        default=3, ge=2, le=3,
        description="availability zones used (2 or 3); with data.rabbitmq.ha, changing this replaces the Amazon MQ "
        "broker (its subnets are fixed at creation) and its queues",
    )
    hosted_zone_id: Optional[str] = Field(
        default=None,
        description="Route 53 public hosted zone of `domain`: certificate validation, alias and failover "
        "records are created only when it is set (otherwise the outputs list the records to create)",
    )
    standby: AwsStandbyConfig = Field(
        default=AwsStandbyConfig(),
        description="the standby in regions.secondary that traffic fails over to (warm, pilot light or off)",
    )
    log_retention_days: int = Field(default=90, description="CloudWatch Logs retention (a value CloudWatch accepts)")
    cached_services: tuple[str, ...] = Field(
        default=("frontend",),
        description="routed services whose CloudFront default behaviour caches (honouring Cache-Control); "
        "every other route is uncached (APIs, streaming)",
    )
    origin_read_timeout_seconds: int = Field(
        default=60, ge=1, le=180, description="CloudFront origin read timeout; above 60 s needs a quota increase"
    )
    cloudfront_price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = Field(
        default="PriceClass_All", description="CloudFront edge locations served from; PriceClass_All: every region's users get a nearby edge"
    )
    backup_vault_lock_mode: Literal["governance", "compliance"] = Field(
        default="governance",
        description="AWS Backup vault lock in prod: governance (privileged users may lift it) or compliance "
        "(immutable after a 3-day grace period)",
    )
    runtimes: dict[str, Literal["python", "nextjs"]] = Field(
        default_factory=lambda: {"frontend": "nextjs"},
        description="what each service's image runs, which decides the paths its task makes writable for the "
        "app user (uid 1000) on the read-only root filesystem: `python` /tmp; `nextjs` /tmp and "
        "/app/.next/cache; a service not listed is `python`",
    )
    init_image: str = Field(
        default="public.ecr.aws/docker/library/busybox:1.37.0",
        description="image of the init container that hands the writable volumes to the app user before the "
        "app starts (needs `sh` and `chmod`); pinned by tag or digest (a digest is safer)",
    )

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, v: str) -> str:
        return _checked_vpc_cidr(v)

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, v: int) -> int:
        if v not in _CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(f"must be one of CloudWatch's values: {', '.join(map(str, _CLOUDWATCH_RETENTION_DAYS))}")
        return v

    storage_usage_type_groups: tuple[str, ...] = Field(
        default=(
            "S3: Storage - Standard", "S3: Storage - Standard Infrequent Access",
            "S3: Storage - Glacier Flexible Retrieval", "RDS: Storage", "RDS: Backup Storage",
            "DocumentDB: Storage", "DocumentDB: Backup Storage", "ElastiCache: Backup Storage",
            "AWS Backup: Warm Storage",
        ),
        description="Cost Explorer usage type groups the monthly storage budget counts (S3, RDS, DocumentDB, "
        "ElastiCache and AWS Backup storage); list the account's with `aws ce get-dimension-values "
        "--dimension USAGE_TYPE_GROUP`",
    )
    waf_ai_body_rules: Literal["count", "block"] = Field(
        default="count",
        description="what the WAF does on `edge.rateLimits.aiPaths` when the managed SQL-injection/XSS body "
        "rules match: count (log only; free-text prompts trip them) or block; other paths always block",
    )
    @field_validator("init_image")
    @classmethod
    def _init_image_is_pinned(cls, v: str) -> str:
        m = _IMAGE_RE.match(v)
        if not m or (not m.group("digest") and m.group("tag") in (None, "latest")):
            raise ValueError("must be an image pinned by a version tag or a digest (e.g. 'busybox:1.37.0')")
        return v
