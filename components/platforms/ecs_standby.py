"""The standby of `platform: ecs` in `regions.secondary` (issue 14; docs/deploy-aws.md "Failover").

Built from the same stack when `aws.standby.mode` is warm or pilotLight (components/platforms/
aws_settings.py `standby_mode`), with the secondary provider:

- `network-standby`: a second `AwsNetwork` (VPC `aws.standby.vpcCidr`, the same tiers, NAT,
  endpoints and security groups, flow logs with the secondary `logs` key); the data replicas
  (components/data) and the app below attach to it;
- `alb-standby`: an `AwsLoadBalancer` with its own ACM certificate in that region and **the
  primary's origin secret** (one Output: CloudFront sends one header value, whichever ALB answers);
- `secrets-standby`: the secrets whose value differs in the standby -- the data connection URLs,
  `<prefix>/standby/<env-name>` -- pointing at each data service's `standby_connection` (the
  replica's endpoint, which stays the endpoint after promotion) when its component has one, else
  at the primary's endpoint (unreachable from the standby VPC: the runbook's data step sets it);
- `app-standby`: an `EcsApp` whose services read every other secret from the Secrets Manager
  replicas in that region (the primary's ARN with the region swapped: a replica keeps its name and
  suffix) and run `aws.standby.minTasks` tasks (warm) or 0 (pilot light) as their floor.

Route 53 failover records and health checks on both ALBs are built by components/dr/aws.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pulumi

from components.app.ecs import EcsApp, EcsAppArgs, EcsStandby
from components.config import StackContext
from components.data.connection import DataConnection
from components.data.registry import hosted_connections
from components.edge.alb import AwsLoadBalancer, AwsLoadBalancerArgs
from components.network.aws import AwsNetwork, AwsNetworkArgs
from components.platforms.aws_settings import standby_mode
from components.secrets.aws import AwsKeys, AwsSecretStore, AwsSecretStoreArgs, secret_path

STANDBY_SECRETS_PATH = "standby"  # `<prefix>/standby/<env-name>`


def standby_tasks(config) -> int:
    """Tasks per standby service: warm `aws.standby.minTasks`, pilot light 0 (the runbook scales up)."""
    return config.aws.standby.min_tasks if standby_mode(config) == "warm" else 0


def replica_arn(arn: pulumi.Input[str], primary: str, secondary: str) -> pulumi.Output[str]:
    """The ARN of a secret's replica in `secondary`: the same name and suffix, the other region."""
    return pulumi.Output.from_input(arn).apply(lambda a: a.replace(f":{primary}:", f":{secondary}:", 1))


def standby_connections(config, data: Mapping[str, Any]) -> dict[str, DataConnection]:
    """Per data service, the connection the standby uses: the component's `standby_connection` (its
    replica in regions.secondary) when it has one, else its primary connection."""
    found = {
        c.connection.service: getattr(c, "standby_connection", None) or c.connection for c in data.values()
    }
    found.update(hosted_connections(config, found))
    return found


def build_standby_network(context: StackContext, account_id, keys: AwsKeys, secondary) -> Optional[AwsNetwork]:
    """The standby's VPC (None without a standby)."""
    cfg = context.config
    if standby_mode(cfg) == "off" or secondary is None:
        return None
    return AwsNetwork(
        "network-standby",
        AwsNetworkArgs(
            context, account_id, keys.secondary_arn("logs"),
            region=cfg.regions.secondary, vpc_cidr=cfg.aws.standby.vpc_cidr, role="standby",
        ),
        opts=pulumi.ResourceOptions(providers={"aws": secondary}),
    )


@dataclass
class Standby:
    network: AwsNetwork
    alb: AwsLoadBalancer
    store: AwsSecretStore
    app: EcsApp
    secret_names: dict[str, str]  # env name -> the secret the standby reads it from


def build_standby(
    context: StackContext,
    *,
    account_id,
    secondary,
    network: AwsNetwork,
    keys: AwsKeys,
    certificate_arn,
    origin_secret: pulumi.Output[str],
    data: Mapping[str, Any],
    store: AwsSecretStore,
    health_check_rules: bool,
) -> Standby:
    """The standby ALB, its secrets and its app in regions.secondary (see the module docstring)."""
    cfg = context.config
    primary_region, region = cfg.regions.primary, cfg.regions.secondary
    on_secondary = pulumi.ResourceOptions(providers={"aws": secondary})
    alb = AwsLoadBalancer(
        "alb-standby",
        AwsLoadBalancerArgs(
            context=context,
            account_id=account_id,
            **network.alb_placement(),
            certificate_arn=certificate_arn,
            origin_secret=origin_secret,
            region=region,
            releases=False,
            health_check_rules=health_check_rules,
        ),
        opts=on_secondary,
    )
    urls = {c.env_var: c.url for c in standby_connections(cfg, data).values()}
    path_prefix = f"{context.prefix}/{STANDBY_SECRETS_PATH}"
    own = AwsSecretStore(
        "secrets-standby",
        AwsSecretStoreArgs(
            context=context,
            values={k: pulumi.Output.secret(v) for k, v in urls.items()},
            kms_key_arn=keys.secondary_arn("secrets"),
            path_prefix=path_prefix,
            descriptions={k: f"{k} of the standby in {region} ({context.stack})" for k in urls},
        ),
        opts=on_secondary,
    )
    arns = {k: replica_arn(v, primary_region, region) for k, v in store.arns.items()}
    arns.update(own.arns)
    versions = {**store.versions, **own.versions}
    secret_names = {
        k: secret_path(path_prefix, k) if k in own.arns else f"{secret_path(context.prefix, k)} (replica)"
        for k in sorted(arns)
    }
    app = EcsApp(
        "app-standby",
        EcsAppArgs(
            context=context,
            account_id=account_id,
            **network.task_placement(),
            secret_arns=arns,
            secret_versions=versions,
            secrets_kms_key_arn=keys.secondary_arn("secrets"),
            logs_kms_key_arn=keys.secondary_arn("logs"),
            target_group_arns=alb.target_group_arns,
            load_balancer_dependencies=alb.rules,
            alb_arn_suffix=alb.alb.arn_suffix,
            standby=EcsStandby(region=region, tasks=standby_tasks(cfg)),
        ),
        opts=on_secondary,
    )
    return Standby(network=network, alb=alb, store=own, app=app, secret_names=secret_names)
