"""The app layer on ECS Fargate (`ecs`).

Creates an ECS cluster with Container Insights and, per enabled service:

- a CloudWatch log group `/ecs/<prefix>/<service>` (retention `aws.logRetentionDays`, `logs` KMS key);
- an execution role (used by the ECS agent) that may only pull from the private ECR repositories
  its images come from (no ECR grant at all when none is: ghcr.io, ECR Public), write to that one
  log group, and read exactly the Secrets Manager secrets the service uses (decrypting through
  Secrets Manager only); a task role (the application's identity) with no
  permissions: add what the application needs there, nothing else gets it. Both roles can only be
  assumed by ECS tasks of this account;
- a task definition: FARGATE, `awsvpc`, CPU/memory as configured (a valid Fargate size, below), non-root
  user `1000`, read-only root filesystem, all capabilities dropped, an init process; a task volume at
  every path the image writes (`WRITABLE_PATHS` per `aws.runtimes` kind: /tmp, and .next/cache for
  Next.js), which a non-essential `volume-init` container (`aws.initImage`, root without any
  capability) makes writable for uid 1000 first -- Fargate creates volumes root-owned 0755 -- and the
  app container starts only after it exits 0 (`dependsOn` SUCCESS); secrets (the service's
  `secrets` and the connection URLs of the data services it `uses`: DATABASE_URL, REDIS_URL, MONGODB_CONNECTION_URI, QUEUE_CONNECTIONURL) injected through
  `secrets[].valueFrom` = Secrets Manager ARNs, never `environment`; awslogs logging (non-blocking);
  a container health check: HTTP on the health path (web services), the config's `healthCommand`
  (workers: a heartbeat file the worker touches after each queue poll);
- a service in the private subnets without public IPs, created only after the execution role's
  policy and the SecretVersion of every secret its tasks read (a task that starts earlier fails,
  the circuit breaker stops the first deployment and there is nothing to roll back to), and waiting
  for steady state, so `up` fails when the tasks do not run; its own security group, the deployment
  circuit breaker with rollback, minimum healthy 100 % / maximum 200 % (rolling without capacity
  loss), zone rebalancing; routed web services register with their ALB target group, internal web
  services (no route, e.g. MCP) in Cloud Map (`<service>.<prefix>.internal`); the worker has neither;
- target-tracking autoscaling between min/max replicas on CPU 70 % and memory 80 % (seeds 000/003),
  scale-in cooldown 300 s (the seeds' scale-down window), scale-out 60 s. The service ignores
  `desiredCount` changes after creation, so a deployment never resets what autoscaling chose.

Fargate sizes (config `cpu`/`memory` are the task size and must be one of these pairs: the `ecs`
adapter refuses any other before anything is built, `components/platforms/limits.py`):

| vCPU | CPU units | memory (MiB) |
|---|---|---|
| 0.25 | 256 | 512, 1024, 2048 |
| 0.5 | 512 | 1024 - 4096, step 1024 |
| 1 | 1024 | 2048 - 8192, step 1024 |
| 2 | 2048 | 4096 - 16384, step 1024 |
| 4 | 4096 | 8192 - 30720, step 1024 |
| 8 | 8192 | 16384 - 61440, step 4096 |
| 16 | 16384 | 32768 - 122880, step 8192 |

e.g. prod frontend 2 vCPU/4 GiB -> 2048/4096, API 4/8 GiB -> 4096/8192, worker 1 vCPU/1 GiB ->
1024/2048 (1 vCPU needs at least 2 GiB), dev worker 100m/256Mi -> 256/512.

The standby (`standby` in the args: components/platforms/ecs.py builds it in `regions.secondary` when
`aws.standby.mode` is warm or pilotLight) is the same app with these differences:
- its tasks run `standby.tasks` as the autoscaling floor (warm: `aws.standby.minTasks`; pilot light:
  0, scaled up by the runbook) and scale up to the service's maxReplicas when traffic arrives;
- regional names (cluster, log groups, Cloud Map namespace, task families) are the primary's in the
  other region; IAM role names are global, so the standby's carry `-standby`;
- every service rolls (circuit breaker with rollback: the `automatic-rollback-in-production`
  policy's ECS condition), with no alternate target groups or release alarms: a release reaches the
  standby only with `pulumi up`, and a canary there would bake against no traffic;
- its resources are tagged `dr-role: standby`: the `min-replicas` policy exempts them, since the
  floor is the standby's (1 by default, 0 in pilot light) and the runbook raises it to the service's
  minReplicas when traffic fails over;
- the services do not wait for steady state: until a failover the standby's data endpoints are
  replicas (read-only, or not yet promoted), so a task may not turn healthy, and `up` must not hang
  or fail on it; the standby ALB's Route 53 health check shows its state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.app.ecs_release import (
    deployment_configuration,
    load_balancer_role_policy,
    load_balancer_trust,
    release_alarms,
    routed,
)
from components.config import ServiceConfig, StackContext
from components.data.connection import ENV_VARS
from components.images import ecr_repository_arns
from components.naming import bounded
from components.platforms.limits import FARGATE_SIZES

CPU_TARGET_PERCENT = 70.0
MEMORY_TARGET_PERCENT = 80.0
SCALE_IN_COOLDOWN_SECONDS = 300
SCALE_OUT_COOLDOWN_SECONDS = 60
APP_USER = "1000"
INIT_CONTAINER = "volume-init"
WRITABLE_MODE = "1777"
STANDBY_TAG = "dr-role"  # `dr-role: standby` on every resource of a standby service

# What each kind of image writes at run time. The root filesystem is read-only, so every such path
# is a task volume; Fargate creates a volume root-owned 0755, so the init container (below) hands it
# to the app user before the app starts. `aws.runtimes` says which kind each service is.
WRITABLE_PATHS: dict[str, tuple[str, ...]] = {
    # tempfile (uploads, spooled responses), gunicorn's worker heartbeat (worker_tmp_dir defaults to
    # the temp dir), the queue worker's heartbeat file /tmp/worker-heartbeat
    "python": ("/tmp",),
    # the Next.js server (standalone output, WORKDIR /app): image optimisation and ISR cache
    # under .next/cache, plus the Node temp dir
    "nextjs": ("/tmp", "/app/.next/cache"),
}


def fargate_size(millicores: int, memory_mib: int) -> tuple[int, int]:
    """The Fargate task (cpu units, memory MiB) of a service: exactly its config, which the `ecs`
    adapter's problems have checked against the offered combinations (`limits.FARGATE_SIZES`)."""
    assert memory_mib in FARGATE_SIZES.get(millicores, ()), "ecs.problems refuses sizes Fargate does not offer"
    return millicores * 1024 // 1000, memory_mib


def _assume_role_policy(account_id: str, region: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{region}:{account_id}:*"},
                    },
                }
            ],
        }
    )


def execution_policy(
    region: str,
    log_group_arn: str,
    secret_arns: Sequence[str],
    secrets_key_arn: str,
    images: Sequence[str] = (),
) -> str:
    """Least privilege for the ECS agent of one service: pull from exactly the ECR repositories its
    images come from (no ECR statement when none is in ECR: ghcr.io, ECR Public), write to its log
    group, read its own secrets."""
    statements: list[dict] = []
    repositories = ecr_repository_arns(images)
    if repositories:
        statements += [
            # GetAuthorizationToken supports no resource-level permission: "*" is the only resource
            {"Sid": "EcrToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "EcrPull",
                "Effect": "Allow",
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                "Resource": repositories,
            },
        ]
    statements.append(
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        }
    )
    if secret_arns:
        statements += [
            {
                "Sid": "Secrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": sorted(secret_arns),
            },
            {
                "Sid": "DecryptSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": secrets_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def health_command(port: int, path: str) -> list[str]:
    """curl or wget, whichever the image has (slim Node/Python images ship one of them)."""
    url = f"http://localhost:{port}{path}"
    return ["CMD-SHELL", f"curl -fsS -o /dev/null {url} || wget -q -O /dev/null {url} || exit 1"]


def volume_name(path: str) -> str:
    """The task volume mounted at `path`: '/tmp' -> 'tmp', '/app/.next/cache' -> 'app-next-cache'."""
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _log_configuration(log_group: str, region: str, stream_prefix: str) -> dict:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": log_group,
            "awslogs-region": region,
            "awslogs-stream-prefix": stream_prefix,
            "mode": "non-blocking",
            "max-buffer-size": "25m",
        },
    }


def init_container(image: str, paths: Sequence[str], log_group: str, region: str) -> dict:
    """A non-essential container that runs first and exits: it makes each writable volume writable
    for the app user (a Fargate volume starts root-owned 0755). It must run as root -- only the
    owner may change a directory's mode -- but as the owner it needs no capability: every
    capability is dropped, the root filesystem is read-only, and it has no ports and no secrets.
    Mode 1777 is /tmp's usual mode (sticky: a user can remove only its own files); the volume is
    private to the task, whose app container is its only other user."""
    return {
        "name": INIT_CONTAINER,
        "image": image,
        "essential": False,
        "user": "0",
        "readonlyRootFilesystem": True,
        "entryPoint": ["sh", "-c"],
        "command": [f"chmod {WRITABLE_MODE} {' '.join(paths)}"],
        "mountPoints": [{"sourceVolume": volume_name(p), "containerPath": p, "readOnly": False} for p in paths],
        "linuxParameters": {"capabilities": {"drop": ["ALL"]}},
        "logConfiguration": _log_configuration(log_group, region, INIT_CONTAINER),
    }


def container_definition(
    name: str,
    svc: ServiceConfig,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
    log_group: str,
    region: str,
    writable_paths: Sequence[str] = WRITABLE_PATHS["python"],
    init_image: Optional[str] = None,
) -> list[dict]:
    """The containers of a task, in ECS API shape: the app container and, when it has writable
    paths, the init container that prepares them (the app starts only after it exits 0)."""
    container: dict = {
        "name": name,
        "image": svc.image,
        "essential": True,
        "user": APP_USER,
        "readonlyRootFilesystem": True,
        "mountPoints": [
            {"sourceVolume": volume_name(p), "containerPath": p, "readOnly": False} for p in writable_paths
        ],
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
        "logConfiguration": _log_configuration(log_group, region, name),
        # lets in-flight streaming responses finish before SIGKILL (Fargate maximum)
        "stopTimeout": 120,
    }
    if svc.command:
        container["entryPoint"] = list(svc.command)
    if svc.args:
        container["command"] = list(svc.args)
    if svc.port is not None:
        container["portMappings"] = [{"name": name, "containerPort": svc.port, "protocol": "tcp"}]
    check = None
    if svc.port is not None and svc.health_path:
        check = health_command(svc.port, svc.health_path)
    elif svc.health_command:
        # workers: the exec liveness check of the config (e.g. a heartbeat file younger than 2 min)
        check = ["CMD", *svc.health_command]
    if check:
        container["healthCheck"] = {"command": check, "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 60}
    if not writable_paths:
        return [container]
    if init_image is None:
        raise AssertionError(f"service {name}: writable paths {list(writable_paths)} need an init image")
    container["dependsOn"] = [{"containerName": INIT_CONTAINER, "condition": "SUCCESS"}]
    return [init_container(init_image, writable_paths, log_group, region), container]


@dataclass(frozen=True)
class EcsAppArgs:
    context: StackContext
    account_id: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    service_security_group_ids: Mapping[str, pulumi.Input[str]]  # service -> its own group
    # env name -> Secrets Manager ARN (app secrets and data connection URLs)
    secret_arns: Mapping[str, pulumi.Input[str]]
    secrets_kms_key_arn: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    # env name -> the resource that writes that secret's value (the SecretVersion): a task reads its
    # secrets when it starts, so its service must not start before they exist
    secret_versions: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    # routed service -> ALB target group ARN
    target_group_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # the listener rules that attach those target groups (ECS rejects a target group without one)
    load_balancer_dependencies: Sequence[pulumi.Resource] = ()
    # the groups every task joins besides its own (components/network/aws.py: `tasks`)
    shared_security_group_ids: Sequence[pulumi.Input[str]] = ()
    # releases (components/app/ecs_release.py): routed service -> its alternate target group ARN and
    # production listener rule ARN (every routed service, whatever its strategy: `routed`), and the
    # CloudWatch dimensions of the ALB and of each routed service's target groups (primary,
    # alternate) for the rollback alarms
    alternate_target_group_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    production_rule_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    alb_arn_suffix: Optional[pulumi.Input[str]] = None
    target_group_dimensions: Mapping[str, Sequence[pulumi.Input[str]]] = field(default_factory=dict)
    # the standby's app (see the module docstring); None: the primary's
    standby: Optional["EcsStandby"] = None


@dataclass(frozen=True)
class EcsStandby:
    region: str  # regions.secondary
    tasks: int  # the autoscaling floor and first desired count: warm minTasks, pilot light 0


class EcsApp(PlatformComponent):
    """ECS cluster, task definitions, services, autoscaling. Exposes `cluster_name`,
    `service_names` (service -> ECS service name), `log_group_names`, `task_sizes`."""

    TYPE = "aiplatform:app:EcsApp"

    def __init__(self, name: str, args: EcsAppArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        region = args.standby.region if args.standby else cfg.regions.primary
        self.args = args
        # IAM role and scaling-policy names are account-wide: the standby's must not take the primary's
        self.account_prefix = f"{self.context.prefix}-standby" if args.standby else self.context.prefix
        self.cluster_name = self.context.prefix
        cluster = aws.ecs.Cluster(
            self.child_name("cluster"),
            aws.ecs.ClusterArgs(
                name=self.cluster_name,
                settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
                tags=self.labels,
            ),
            opts=self.child_opts(),
        )
        self.cluster = cluster
        services = cfg.enabled_services
        internal = [n for n, s in services.items() if s.kind == "web" and s.route is None]
        namespace = None
        if internal:
            namespace = aws.servicediscovery.PrivateDnsNamespace(
                self.child_name("namespace"),
                aws.servicediscovery.PrivateDnsNamespaceArgs(
                    name=f"{self.context.prefix}.internal",
                    description="service discovery for internal services",
                    vpc=args.vpc_id,
                    tags=self.labels,
                ),
                opts=self.child_opts(),
            )
        self.service_names: dict[str, str] = {}
        self.log_group_names: dict[str, str] = {}
        self.task_sizes: dict[str, tuple[int, int]] = {}
        self.internal_hosts: dict[str, str] = {}
        self._release_grants: list[pulumi.Resource] = []
        for svc_name, svc in services.items():
            self._service(svc_name, svc, cluster, namespace, region)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "services": dict(self.service_names),
            }
        )

    def _traffic_shift(self, name: str, svc: ServiceConfig, tags: dict) -> Optional[aws.ecs.ServiceLoadBalancerAdvancedConfigurationArgs]:
        """The alternate target group, the production listener rule and the role ECS assumes to move
        traffic between them (a canary/blue-green release; a rolling service has them too, so a
        switch of strategy is one update: components/app/ecs_release.py `routed`)."""
        args = self.args
        if name not in args.alternate_target_group_arns:
            return None
        if name not in args.production_rule_arns:
            raise ValueError(f"service {name}: a {svc.release.strategy} release needs its production listener rule")
        primary, alternate, rule = (
            args.target_group_arns[name], args.alternate_target_group_arns[name], args.production_rule_arns[name]
        )
        role = aws.iam.Role(
            self.child_name(name, "ecs-lb"),
            aws.iam.RoleArgs(
                name=bounded(f"{self.account_prefix}-{name}-ecs-lb", 64),
                description=f"ECS moves {name}'s ALB traffic between its two target groups during a release",
                assume_role_policy=pulumi.Output.from_input(args.account_id).apply(load_balancer_trust),
                tags=tags,
            ),
            opts=self.child_opts(),
        )
        grant = aws.iam.RolePolicy(
            self.child_name(name, "ecs-lb-policy"),
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.all(primary, alternate, rule).apply(
                    lambda a: load_balancer_role_policy(a[:2], a[2])
                ),
            ),
            opts=self.child_opts(),
        )
        self._release_grants.append(grant)
        return aws.ecs.ServiceLoadBalancerAdvancedConfigurationArgs(
            alternate_target_group_arn=alternate, production_listener_rule=rule, role_arn=role.arn
        )

    def _service(self, name: str, svc: ServiceConfig, cluster, namespace, region: str) -> None:
        cfg = self.config
        args = self.args
        tags = {**self.labels, "service": name}
        if args.standby is not None:
            tags[STANDBY_TAG] = "standby"  # the min-replicas policy exempts it (policies/rules/availability.py)
        log_group_name = f"/ecs/{self.context.prefix}/{name}"
        log_group = aws.cloudwatch.LogGroup(
            self.child_name(name, "logs"),
            aws.cloudwatch.LogGroupArgs(
                name=log_group_name,
                retention_in_days=cfg.aws.log_retention_days,
                kms_key_id=args.logs_kms_key_arn,
                tags=tags,
            ),
            opts=self.child_opts(),
        )
        secret_names = list(svc.secrets) + [ENV_VARS[used] for used in svc.uses]
        missing = [s for s in secret_names if s not in args.secret_arns]
        if missing:
            raise ValueError(f"service {name}: no Secrets Manager secret for {missing}")
        secret_arns = {s: args.secret_arns[s] for s in secret_names}
        trust = pulumi.Output.from_input(args.account_id).apply(lambda a: _assume_role_policy(a, region))

        def role(kind: str, description: str) -> aws.iam.Role:
            """A role of this service's tasks (`<prefix>-<service>-<kind>`), assumable by ECS only."""
            return aws.iam.Role(
                self.child_name(name, kind),
                aws.iam.RoleArgs(
                    name=bounded(f"{self.account_prefix}-{name}-{kind}", 64),  # IAM's maximum
                    description=description,
                    assume_role_policy=trust,
                    tags=tags,
                ),
                opts=self.child_opts(),
            )

        missing_versions = [s for s in secret_names if s not in args.secret_versions]
        if missing_versions:
            raise ValueError(f"service {name}: no secret version (the value) for {missing_versions}")
        writable = WRITABLE_PATHS[cfg.aws.runtimes.get(name, "python")]
        images = [svc.image, cfg.aws.init_image] if writable else [svc.image]

        execution_role = role("execution", f"ECS agent for {name}: image pull, logs, its own secrets")
        ordered = list(secret_arns.values())
        execution_grant = aws.iam.RolePolicy(
            self.child_name(name, "execution-policy"),
            aws.iam.RolePolicyArgs(
                role=execution_role.id,
                policy=pulumi.Output.all(log_group.arn, args.secrets_kms_key_arn, *ordered).apply(
                    lambda a: execution_policy(region, a[0], a[2:], a[1], images)
                ),
            ),
            opts=self.child_opts(),
        )
        task_role = role("task", f"application identity of {name}; no AWS permissions unless added here")

        cpu, memory = fargate_size(svc.cpu, svc.memory)
        self.task_sizes[name] = (cpu, memory)
        environment = {"ENVIRONMENT": cfg.environment, **cfg.settings, **svc.env}
        if svc.port is not None:
            environment["PORT"] = str(svc.port)
        names = list(secret_arns)
        definitions = pulumi.Output.all(*ordered).apply(
            lambda arns: json.dumps(
                container_definition(
                    name, svc, environment, dict(zip(names, arns)), log_group_name, region, writable, cfg.aws.init_image
                )
            )
        )
        task = aws.ecs.TaskDefinition(
            self.child_name(name, "task-definition"),
            aws.ecs.TaskDefinitionArgs(
                family=f"{self.context.prefix}-{name}",
                requires_compatibilities=["FARGATE"],
                network_mode="awsvpc",
                cpu=str(cpu),
                memory=str(memory),
                runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                    operating_system_family="LINUX", cpu_architecture="X86_64"
                ),
                execution_role_arn=execution_role.arn,
                task_role_arn=task_role.arn,
                container_definitions=definitions,
                volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=volume_name(p)) for p in writable],
                tags=tags,
            ),
            opts=self.child_opts(),
        )

        load_balancers = None
        registries = None
        alarms = None
        # the service starts tasks at once: the agent's grant and every secret value must exist first
        depends_on: list[pulumi.Resource] = [execution_grant, *(args.secret_versions[s] for s in secret_names)]
        if svc.kind == "web" and svc.route is not None:
            if name not in args.target_group_arns:
                raise ValueError(f"service {name} has a route but no ALB target group")
            load_balancers = [
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=args.target_group_arns[name],
                    container_name=name,
                    container_port=svc.port,
                    advanced_configuration=self._traffic_shift(name, svc, tags),
                )
            ]
            depends_on += list(args.load_balancer_dependencies)
            if name in args.alternate_target_group_arns:
                # ECS assumes the role as soon as the service exists: its grant first
                depends_on.append(self._release_grants[-1])
            if routed(svc) and args.standby is None:
                if args.alb_arn_suffix is None or name not in args.target_group_dimensions:
                    raise ValueError(f"service {name}: its release alarms need the ALB and target group dimensions")
                alarms = release_alarms(
                    self, self.child_name, self.child_opts, self.context.prefix, name, svc,
                    args.target_group_dimensions[name], args.alb_arn_suffix, tags,
                )
        elif svc.kind == "web" and namespace is not None:
            discovery = aws.servicediscovery.Service(
                self.child_name(name, "discovery"),
                aws.servicediscovery.ServiceArgs(
                    name=name,
                    description=f"{name} tasks (A records)",
                    dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                        namespace_id=namespace.id,
                        dns_records=[aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(ttl=10, type="A")],
                        routing_policy="MULTIVALUE",
                    ),
                    tags=tags,
                ),
                opts=self.child_opts(),
            )
            registries = aws.ecs.ServiceServiceRegistriesArgs(registry_arn=discovery.arn)
            self.internal_hosts[name] = f"{name}.{self.context.prefix}.internal:{svc.port}"

        # services without a load balancer have no traffic to shift, the standby's none to bake
        # against: rolling (see the module docstring)
        rolls = not load_balancers or args.standby is not None
        release = svc.release.model_copy(update={"strategy": "rolling"}) if rolls else svc.release
        floor = args.standby.tasks if args.standby else svc.min_replicas
        service = aws.ecs.Service(
            self.child_name(name, "service"),
            aws.ecs.ServiceArgs(
                name=name,
                cluster=cluster.arn,
                task_definition=task.arn,
                desired_count=floor,
                launch_type="FARGATE",
                platform_version="LATEST",
                network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                    subnets=list(args.private_subnet_ids),
                    security_groups=[args.service_security_group_ids[name], *args.shared_security_group_ids],
                    assign_public_ip=False,
                ),
                load_balancers=load_balancers,
                health_check_grace_period_seconds=60 if load_balancers else None,
                service_registries=registries,
                deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
                # the release strategy and its rollback alarms (components/app/ecs_release.py);
                # services without a load balancer have no traffic to shift: rolling
                deployment_configuration=deployment_configuration(release),
                alarms=alarms,
                deployment_minimum_healthy_percent=100,
                deployment_maximum_percent=200,
                availability_zone_rebalancing="ENABLED",
                enable_ecs_managed_tags=True,
                propagate_tags="SERVICE",
                enable_execute_command=False,
                # `up` fails when the tasks do not start, instead of reporting success with none running.
                # A canary/blue-green release is steady only after its last bake (hours in prod, past
                # the provider's 20 min timeout): the deploy workflow's release wait
                # (`tools/release.py <stack> all wait`) watches those and fails when ECS rolls back.
                wait_for_steady_state=not svc.shifts_traffic and args.standby is None,
                tags=tags,
            ),
            # a canary/blue-green release ends with ECS swapping the primary and alternate target
            # groups of `loadBalancers`: that is the release's outcome, not drift to undo. Ignored
            # for every routed service, whose `loadBalancers` has one shape in every strategy
            # (ecs_release.routed), so a strategy switch is not lost to the ignore
            opts=self.child_opts(
                depends_on=depends_on,
                ignore_changes=["desiredCount", "loadBalancers"] if load_balancers else ["desiredCount"],
            ),
        )
        self.service_names[name] = name
        self.log_group_names[name] = log_group_name

        target = aws.appautoscaling.Target(
            self.child_name(name, "scaling"),
            aws.appautoscaling.TargetArgs(
                service_namespace="ecs",
                scalable_dimension="ecs:service:DesiredCount",
                resource_id=pulumi.Output.concat("service/", cluster.name, "/", service.name),
                min_capacity=floor,
                max_capacity=svc.max_replicas,
                tags=tags,
            ),
            opts=self.child_opts(),
        )
        for metric, predefined, value in (
            ("cpu", "ECSServiceAverageCPUUtilization", CPU_TARGET_PERCENT),
            ("memory", "ECSServiceAverageMemoryUtilization", MEMORY_TARGET_PERCENT),
        ):
            aws.appautoscaling.Policy(
                self.child_name(name, "scale", metric),
                aws.appautoscaling.PolicyArgs(
                    name=f"{self.account_prefix}-{name}-{metric}",
                    policy_type="TargetTrackingScaling",
                    service_namespace=target.service_namespace,
                    scalable_dimension=target.scalable_dimension,
                    resource_id=target.resource_id,
                    target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                        target_value=value,
                        predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                            predefined_metric_type=predefined
                        ),
                        scale_in_cooldown=SCALE_IN_COOLDOWN_SECONDS,
                        scale_out_cooldown=SCALE_OUT_COOLDOWN_SECONDS,
                    ),
                ),
                opts=self.child_opts(),
            )
