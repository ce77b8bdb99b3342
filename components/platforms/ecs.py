"""`platform: ecs` -- the platform on AWS: ECS Fargate, RDS, ElastiCache, DocumentDB, Amazon MQ,
ALB + CloudFront + WAF, CloudWatch, AWS Backup. See docs/deploy-aws.md.

Wiring (network -> secrets -> data -> app -> edge -> monitoring -> dr):

1. explicit AWS providers: `regions.primary` (every component's default), us-east-1 (CloudFront
   certificate, WAF, Route 53 health-check and CloudFront alarms) and `regions.secondary` (DR copies);
   no resource uses the ambient default provider, so `aws:region` in the stack file is irrelevant;
2. KMS keys, then the VPC (flow logs need the logs key);
3. the data services, in parallel (none depends on another), each returning a `DataConnection`; with a
   standby, each also builds its copy in the standby VPC (`_data_standby`) and returns its
   `standby_connection` (the `standbyDataEndpoints` output; what the standby services read);
4. certificates and the ALB (origin secret, target groups, listener rules);
5. Secrets Manager: app secrets, generated passwords, connection URLs, the origin secret;
6. ECS services (they reference secrets by ARN and attach to the target groups);
7. CloudFront + WAF with the us-east-1 provider;
8. CloudWatch alarms, dashboard, health checks, budgets; AWS Backup, replication, failover records;
   AWS Backup restore testing of the backed-up databases (components/dr/restore_test_aws.py).

Config problems AWS cannot honour (a region it does not have, a Fargate size it does not offer,
`edge.cdn: false`, and the data backends' engine versions and instance classes in the registry's backend checks)
are reported by `problems` before anything is built (`components/platform.py`).
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.app.ecs import EcsApp, EcsAppArgs
from components.app.ecs_release import release_problems
from components.config import Problem, StackConfig, StackContext
from components.data.aws import AwsDataArgs, AwsStandbyPlacement
from components.data.connection import DataConnection
from components.data.registry import built_on, component_class, hosted_connections
from components.dr.aws import AwsDisasterRecovery, AwsDisasterRecoveryArgs, origin_hostname
from components.dr.restore_test_aws import AwsRestoreTests, AwsRestoreTestsArgs
from components.dr.objectives import dr_output
from components.edge.alb import AwsLoadBalancer, AwsLoadBalancerArgs
from components.edge.aws import AwsCertificates, AwsCertificatesArgs
from components.edge.cloudfront import AwsCdn, AwsCdnArgs
from components.monitoring.aws import AwsMonitoring, AwsMonitoringArgs
from components.network.aws import AwsNetwork, AwsNetworkArgs
from components.platforms.aws_settings import origin_failover, standby_mode
from components.platforms.ecs_standby import build_standby, build_standby_network, standby_connections, standby_tasks
from components.platforms.limits import fargate_problems
from components.regions import region_problems
from components.sdk import load_sdk
from components.secrets.app_secrets import AppSecrets, AppSecretsArgs
from components.secrets.aws import AwsKeys, AwsKeysArgs, AwsSecretStore, AwsSecretStoreArgs

GLOBAL_REGION = "us-east-1"


def problems(config: StackConfig) -> list[Problem]:
    """Everything the ECS platform needs from the config that the schema cannot know (its data
    backends' problems come from the registry); nothing is registered."""
    found = region_problems(config, "aws")
    if not config.edge.cdn:
        found.append(Problem(
            "edge.cdn", False,
            "platform ecs serves traffic only through CloudFront (the ALB accepts CloudFront's origin "
            "requests only); set it to true",
        ))
    routed = {n for n, s in config.enabled_services.items() if s.kind == "web" and s.route is not None}
    for name in config.aws.cached_services:
        if name not in routed:
            found.append(Problem(
                "aws.cachedServices", name,
                f"is not an enabled service with a route (routed: {', '.join(sorted(routed)) or 'none'})",
            ))
    for name in config.aws.runtimes:
        if name not in config.enabled_services:
            found.append(Problem(
                "aws.runtimes", name, f"is not an enabled service (enabled: {', '.join(sorted(config.enabled_services))})"
            ))
    found += standby_problems(config)
    for name, svc in config.enabled_services.items():
        found += fargate_problems(f"services.{name}", svc.cpu, svc.memory)
    found += release_problems(config)
    return found


ROUTE53_REQUEST_INTERVALS = (10, 30)  # the only request intervals Route 53 health checks accept


def standby_problems(config: StackConfig) -> list[Problem]:
    """A standby needs a region to stand by in, its VPC a range of its own (peered later, routed apart),
    a hosted zone for the failover records (without them no traffic ever reaches it), a floor its
    services' autoscaling can hold; the Route 53 health checks an interval Route 53 offers."""
    import ipaddress

    found: list[Problem] = []
    mode = config.aws.standby.mode
    if mode in ("warm", "pilotLight") and not config.regions.secondary:
        found.append(Problem(
            "aws.standby.mode", mode, "needs regions.secondary (the region the standby runs in); set it or use 'off'"
        ))
    standby_net = ipaddress.IPv4Network(config.aws.standby.vpc_cidr)
    if standby_mode(config) != "off" and standby_net.overlaps(ipaddress.IPv4Network(config.aws.vpc_cidr)):
        found.append(Problem(
            "aws.standby.vpcCidr", config.aws.standby.vpc_cidr,
            f"overlaps aws.vpcCidr {config.aws.vpc_cidr}; the two VPCs need disjoint ranges",
        ))
    interval = config.dr.health_check_interval_seconds
    if interval not in ROUTE53_REQUEST_INTERVALS:
        found.append(Problem(
            "dr.healthCheckIntervalSeconds", interval,
            "Route 53 health checks (the origin failover and the public hosts' checks on ecs) run every 10 or 30 "
            "seconds only; use 10 or 30",
        ))
    if standby_mode(config) == "off":
        return found
    if not config.aws.hosted_zone_id:
        found.append(Problem(
            "aws.standby.mode", standby_mode(config),
            "needs aws.hostedZoneId: the standby takes traffic only through the Route 53 failover records of "
            "origin.<domain>; set the zone or use 'off'",
        ))
    if standby_mode(config) == "warm":
        for name, svc in config.enabled_services.items():
            if config.aws.standby.min_tasks > svc.max_replicas:
                found.append(Problem(
                    "aws.standby.minTasks", config.aws.standby.min_tasks,
                    f"is above services.{name}.maxReplicas ({svc.max_replicas}): Application Auto Scaling refuses "
                    "a floor above the ceiling",
                ))
    return found


def _data_standby(config: StackConfig, name: str, provider: Any, network: Optional[AwsNetwork], keys: AwsKeys) -> Any:
    """Where data service `name`'s copy runs with a standby (the standby VPC in regions.secondary and the
    secondary keys), else None (components/data/aws.py: AwsStandbyPlacement)."""
    if network is None or provider is None:
        return None
    return AwsStandbyPlacement(
        mode=standby_mode(config),
        region=config.regions.secondary,
        provider=provider,
        subnet_ids=network.isolated_subnet_ids,
        security_group_id=network.data_security_group_ids[name],
        kms_key_arn=keys.secondary_arn("data"),
        log_kms_key_arn=keys.secondary_arn("logs"),
    )


def _provider(name: str, region: str) -> aws.Provider:
    return aws.Provider(name, aws.ProviderArgs(region=region))


# the pulumi_aws modules this platform uses (see components.sdk.load_sdk)
AWS_SDK_MODULES = (
    "acm", "appautoscaling", "backup", "budgets", "cloudfront", "cloudwatch", "docdb", "ec2", "ecs",
    "elasticache", "elb", "iam", "kms", "lb", "mq", "rds", "route53", "s3", "secretsmanager",
    "servicediscovery", "sns", "vpc", "wafv2",
)


def build(context: StackContext) -> dict[str, Any]:
    cfg = context.config
    load_sdk("pulumi_aws", AWS_SDK_MODULES)

    primary = _provider("aws-primary", cfg.regions.primary)
    global_provider = _provider("aws-us-east-1", GLOBAL_REGION)
    secondary = _provider("aws-secondary", cfg.regions.secondary) if cfg.regions.secondary else None
    on_primary = pulumi.ResourceOptions(providers={"aws": primary})
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=primary)).account_id

    keys = AwsKeys(
        "keys",
        AwsKeysArgs(context, account_id, secondary_provider=secondary, global_provider=global_provider),
        opts=on_primary,
    )
    network = AwsNetwork("network", AwsNetworkArgs(context, account_id, keys.arn("logs")), opts=on_primary)
    standby_network = build_standby_network(context, account_id, keys, secondary)
    app_secrets = AppSecrets("app-secrets", AppSecretsArgs(context))

    # every data service with a backend of its own here (the registry's), in parallel
    data = {
        name: component_class(name, cfg.platform)(
            name,
            AwsDataArgs(
                context=context,
                subnet_ids=network.isolated_subnet_ids,
                security_group_id=network.data_security_group_ids[name],
                kms_key_arn=keys.arn("data"),
                log_kms_key_arn=keys.arn("logs"),
                standby=_data_standby(cfg, name, secondary, standby_network, keys),
            ),
            opts=on_primary,
        )
        for name in built_on(cfg)
    }
    connections: dict[str, DataConnection] = {c.connection.service: c.connection for c in data.values()}
    connections.update(hosted_connections(cfg, connections))  # the vector database: pgvector in RDS
    # what the standby services read: the copies' endpoints (a promoted copy keeps its endpoint)
    standby_endpoints = (
        {n: c.host for n, c in standby_connections(cfg, data).items() if n in data} if standby_network else {}
    )

    certificates = AwsCertificates(
        "certificates",
        AwsCertificatesArgs(context, global_provider, standby_provider=secondary if standby_network else None),
        opts=on_primary,
    )
    alb = AwsLoadBalancer(
        "alb",
        AwsLoadBalancerArgs(
            context=context,
            account_id=account_id,
            **network.alb_placement(),
            certificate_arn=certificates.alb_certificate_arn,
            health_check_rules=origin_failover(cfg),
        ),
        opts=on_primary,
    )

    values: dict[str, Any] = dict(app_secrets.values)
    values.update({c.env_var: c.url for c in connections.values()})
    credentials = {k: v for component in data.values() for k, v in component.credentials().items()}
    credentials["CLOUDFRONT_ORIGIN_SECRET"] = alb.origin_secret
    values.update({k: pulumi.Output.secret(v) for k, v in credentials.items()})
    store = AwsSecretStore(
        "secrets",
        AwsSecretStoreArgs(
            context=context,
            values=values,
            kms_key_arn=keys.arn("secrets"),
            replica_kms_key_arn=keys.secondary_arn("secrets"),
        ),
        opts=on_primary,
    )

    app = EcsApp(
        "app",
        EcsAppArgs(
            context=context,
            account_id=account_id,
            **network.task_placement(),
            secret_arns=store.arns,
            secret_versions=store.versions,
            secrets_kms_key_arn=keys.arn("secrets"),
            logs_kms_key_arn=keys.arn("logs"),
            target_group_arns=alb.target_group_arns,
            load_balancer_dependencies=alb.rules,
            alternate_target_group_arns=alb.alternate_target_group_arns,
            production_rule_arns={n: alb.rules_by_service[n].arn for n in alb.alternate_target_groups},
            alb_arn_suffix=alb.alb.arn_suffix,
            target_group_dimensions={
                n: [tg.arn_suffix] + ([alb.alternate_target_groups[n].arn_suffix] if n in alb.alternate_target_groups else [])
                for n, tg in alb.target_groups.items()
            },
        ),
        opts=on_primary,
    )

    standby = None
    if standby_network is not None:
        standby = build_standby(
            context,
            account_id=account_id,
            secondary=secondary,
            network=standby_network,
            keys=keys,
            certificate_arn=certificates.standby_alb_certificate_arn,
            origin_secret=alb.origin_secret,
            data=data,
            store=store,
            health_check_rules=origin_failover(cfg),
        )

    origin_domain = origin_hostname(cfg) or alb.alb.dns_name
    cdn = AwsCdn(
        "edge",
        AwsCdnArgs(
            context=context,
            origin_domain=origin_domain,
            origin_secret=alb.origin_secret,
            certificate_arn=certificates.cloudfront_certificate_arn,
            logs_bucket_domain_name=alb.logs_bucket.bucket_domain_name,
            logs_bucket_acl_dependencies=[alb.logs_bucket_ownership],
            log_kms_key_arn=keys.global_logs_arn,
        ),
        opts=pulumi.ResourceOptions(providers={"aws": global_provider}),
    )

    tg_suffixes = {n: tg.arn_suffix for n, tg in alb.target_groups.items()}
    monitoring = None
    if cfg.monitoring.enabled:
        monitoring = AwsMonitoring(
            "monitoring",
            AwsMonitoringArgs(
                context=context,
                account_id=account_id,
                kms_key_arn=keys.arn("logs"),
                global_provider=global_provider,
                global_kms_key_arn=keys.global_logs_arn,
                cluster_name=app.cluster_name,
                service_names=app.service_names,
                alb_arn_suffix=alb.alb.arn_suffix,
                target_group_arn_suffixes=tg_suffixes,
                distribution_ids={n: d.id for n, d in cdn.distributions.items()},
                hosts=cdn.hosts,
                **{k: v for component in data.values() for k, v in component.monitoring_args().items()},
            ),
            opts=on_primary,
        )

    dr = AwsDisasterRecovery(
        "dr",
        AwsDisasterRecoveryArgs(
            context=context,
            account_id=account_id,
            backup_kms_key_arn=keys.arn("backup"),
            alert_topic_arn=monitoring.topic_arn if monitoring else None,
            secondary_provider=secondary,
            secondary_backup_kms_key_arn=keys.secondary_arn("backup"),
            **{k: v for component in data.values() for k, v in component.dr_args().items()},
            alb_dns_name=alb.alb.dns_name,
            standby_alb_dns_name=standby.alb.alb.dns_name if standby else None,
            health_check_paths=alb.health_check_paths,
            alb_arn_suffix=alb.alb.arn_suffix,
            target_group_arn_suffixes=tg_suffixes,
            cluster_name=app.cluster_name,
        ),
        opts=on_primary,
    )
    restore_tests = AwsRestoreTests(
        "restore-tests",
        AwsRestoreTestsArgs(context, account_id, dr.vault_name, data, monitoring.topic_arn if monitoring else None, [dr]),
        opts=on_primary,
    )

    outputs: dict[str, Any] = {
        "platform": "ecs",
        "region": cfg.regions.primary,
        "secondaryRegion": cfg.regions.secondary,
        "urls": {n: f"https://{h}" for n, h in cdn.hosts.items()},
        "cloudfrontDomains": {n: d.domain_name for n, d in cdn.distributions.items()},
        "albDnsName": alb.alb.dns_name,
        "originDomain": origin_domain,
        "ecsCluster": app.cluster_name,
        "ecsServices": dict(app.service_names),
        "taskSizes": {n: {"cpu": c, "memory": m} for n, (c, m) in app.task_sizes.items()},
        "internalServices": dict(app.internal_hosts),
        "dataEndpoints": {name: data[name].connection.host for name in data},
        **({"standbyDataEndpoints": standby_endpoints} if standby_endpoints else {}),
        "secretNames": sorted(store.arns),
        "backupVault": dr.vault_name,
        "backupBucket": dr.backup_bucket.bucket,
        "failover": dr.failover_status,
        "originHealthChecks": dict(dr.origin_health_checks),
        "failoverRunbook": dr.runbook,
        "restoreTests": restore_tests.status,
        "dr": dr_output(cfg),
    }
    if standby is not None:
        outputs["standby"] = {
            "mode": standby_mode(cfg),
            "region": cfg.regions.secondary,
            "albDnsName": standby.alb.alb.dns_name,
            "ecsCluster": standby.app.cluster_name,
            "ecsServices": dict(standby.app.service_names),
            "tasksPerService": standby_tasks(cfg),
            "secrets": standby.secret_names,
        }
    if monitoring is not None:
        outputs["alertTopicArn"] = monitoring.topic_arn
        outputs["dashboard"] = context.prefix
        outputs["healthChecks"] = monitoring.health_check_ids
    if not cfg.aws.hosted_zone_id:
        outputs["dnsValidationRecords"] = certificates.validation_records
        outputs["dnsRecordsToCreate"] = pulumi.Output.all(
            *[cdn.distributions[n].domain_name for n in cdn.hosts]
        ).apply(
            lambda domains: [
                {"name": host, "type": "CNAME (or Route 53 alias A/AAAA)", "value": d}
                for host, d in zip(cdn.hosts.values(), domains)
            ]
        )
    return outputs
