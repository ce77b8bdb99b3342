"""The app layer on Cloud Run v2 (`cloudrun`): one service in one region per component.

Web services (`kind: web`) become `cloudrunv2.Service`:
- image pinned by the config (tag or digest), CPU/memory as the config states
  them (see below), min/max instances from min/maxReplicas, `max_instance_request_concurrency`
  from `concurrency`;
- request timeout = `edge.streamingTimeoutSeconds` (SSE responses stream for minutes; behind a
  serverless NEG the load balancer honours the Cloud Run timeout, it has no timeout of its own);
- startup probe and liveness probe on the health path (liveness every
  `dr.healthCheckIntervalSeconds`, restart after `dr.failureThreshold` failures, seeds 001/002);
- env: plain settings as values; every secret (AI keys, generated keys, DATABASE_URL, REDIS_URL,
  MONGODB_CONNECTION_URI, QUEUE_CONNECTIONURL) only as `value_source.secret_key_ref` to a Secret
  Manager version the service account may read;
- Direct VPC egress on the region's subnet with `PRIVATE_RANGES_ONLY` (private data-service IPs go
  through the VPC, public APIs such as the AI providers go direct). Calls to another service's
  `run.app` URL go through the VPC too: the platform's private `run.app` zone
  (`components/network/gcp_run_dns.py`) resolves it to Private Google Access addresses, so an
  `INTERNAL_ONLY` callee sees them as internal;
- `<NAME>_ENDPOINT` (the callee's run.app URL) only for the services in `calls`, and
  `roles/run.invoker` on an internal callee only for its callers;
- ingress `INTERNAL_LOAD_BALANCER` for services with a public route (the run.app URL is closed to
  the internet; the global load balancer is the only way in, so the IAM invoker check is disabled
  for them: the LB carries no identity), `INTERNAL_ONLY` for internal services (e.g. MCP) which
  keep the IAM invoker check (callers send an ID token for the callee's URL);
- the service's own service account, deletion protection in prod, labels;
- releases (components/app/cloudrun_release.py): labels `release-strategy`/`release-rollback`, and for
  canary/blue-green services `ignore_changes` on traffic, which the release loop owns.

The worker (`kind: worker`) becomes a `cloudrunv2.WorkerPool` (the pinned provider has it): no
ingress at all, CPU always allocated, a fixed instance count of at least one
(`max(1, minReplicas)`), same egress and secret references.

CPU and memory are the config's, unrounded: Cloud Run offers 1, 2, 4, 6 or 8 vCPU with memory in
a range per size, or less than one vCPU only with concurrency 1, at most 1 GiB and the first
generation execution environment (which such a service then gets); worker pools take whole vCPUs
only. The `cloudrun` adapter refuses any other size before anything is built
(`components/platforms/limits.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Union

import pulumi
import pulumi_gcp as gcp

from components.app.cloudrun_release import release_labels
from components.base import PlatformComponent
from components.config import ServiceConfig, StackContext, cpu_quantity, memory_quantity
from components.platforms.limits import cloud_run_fractional
from components.secrets.gcp import SecretRef

# Cloud Run sets these itself and rejects them in a revision.
RESERVED_ENV = frozenset({"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"})


def cloud_run_size(millicores: int, memory_mib: int) -> tuple[str, str]:
    """(cpu, memory) of a Cloud Run container: exactly the config's, which the `cloudrun` adapter's
    problems have checked against what Cloud Run offers (`components/platforms/limits.py`)."""
    return cpu_quantity(millicores), memory_quantity(memory_mib)


@dataclass(frozen=True)
class Invoker:
    """A caller allowed to invoke an internal service: `key` names the binding."""

    key: str
    member: pulumi.Input[str]


@dataclass(frozen=True)
class CloudRunServiceArgs:
    context: StackContext
    project: pulumi.Input[str]
    service_name: str  # the config key (frontend, api, mcp, worker)
    service: ServiceConfig
    region: str
    service_account_email: pulumi.Input[str]
    network: pulumi.Input[str]  # VPC id
    subnetwork: pulumi.Input[str]  # the region's subnet id
    secret_env: Mapping[str, SecretRef] = field(default_factory=dict)
    plain_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    invokers: Sequence[Invoker] = ()  # internal services only: the services that call it
    network_tags: Sequence[str] = ()
    # Secret accessor bindings of this service account (Cloud Run checks access when it deploys a
    # revision) and the Cloud Run API: real preconditions the data flow does not express.
    depends_on: Sequence[pulumi.Resource] = ()


class CloudRunService(PlatformComponent):
    """One service (web: Service, worker: WorkerPool) in one region. Exposes `resource`,
    `physical_name`, `uri` (web only) and `public` (has a route behind the load balancer)."""

    TYPE = "aiplatform:app:CloudRunService"

    def __init__(self, name: str, args: CloudRunServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        svc = args.service
        # the `cloudrun` adapter's problems refuse these configs before anything is built
        assert not set(args.secret_env) & set(args.plain_env), "a name is both a secret and a plain setting"
        assert not RESERVED_ENV & (set(args.secret_env) | set(args.plain_env)), "Cloud Run sets these itself"
        worker = svc.kind == "worker"
        cpu, memory = cloud_run_size(svc.cpu, svc.memory)

        super().__init__(name, args.context, opts)
        cfg = self.config
        self.physical_name = f"{self.context.prefix}-{args.service_name}"
        self.public = svc.route is not None
        self.region = args.region
        labels = {**self.labels, "service": args.service_name}

        command = dict(commands=list(svc.command) or None, args=list(svc.args) or None)
        protect = cfg.is_production
        self.uri: Optional[pulumi.Output[str]] = None

        # Env and VPC access are the same for both kinds; only the provider's Args types differ.
        if worker:
            Env, Source, Ref, VpcAccess, Interface = (
                gcp.cloudrunv2.WorkerPoolTemplateContainerEnvArgs,
                gcp.cloudrunv2.WorkerPoolTemplateContainerEnvValueSourceArgs,
                gcp.cloudrunv2.WorkerPoolTemplateContainerEnvValueSourceSecretKeyRefArgs,
                gcp.cloudrunv2.WorkerPoolTemplateVpcAccessArgs,
                gcp.cloudrunv2.WorkerPoolTemplateVpcAccessNetworkInterfaceArgs,
            )
        else:
            Env, Source, Ref, VpcAccess, Interface = (
                gcp.cloudrunv2.ServiceTemplateContainerEnvArgs,
                gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs,
                gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs,
                gcp.cloudrunv2.ServiceTemplateVpcAccessArgs,
                gcp.cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs,
            )
        # Direct VPC egress: private ranges (the data services) through the VPC, the rest direct.
        vpc_access = VpcAccess(
            network_interfaces=[
                Interface(network=args.network, subnetwork=args.subnetwork, tags=list(args.network_tags) or None)
            ],
            egress="PRIVATE_RANGES_ONLY",
        )
        envs = [Env(name=k, value=v) for k, v in sorted(args.plain_env.items())] + [
            Env(name=k, value_source=Source(secret_key_ref=Ref(secret=ref.secret, version=ref.version)))
            for k, ref in sorted(args.secret_env.items())
        ]

        self.resource: Union[gcp.cloudrunv2.Service, gcp.cloudrunv2.WorkerPool]
        if worker:
            self.resource = gcp.cloudrunv2.WorkerPool(
                self.child_name("pool"),
                gcp.cloudrunv2.WorkerPoolArgs(
                    project=args.project,
                    name=self.physical_name,
                    location=args.region,
                    deletion_protection=protect,
                    labels=labels,
                    scaling=gcp.cloudrunv2.WorkerPoolScalingArgs(
                        scaling_mode="MANUAL", manual_instance_count=max(1, svc.min_replicas)
                    ),
                    template=gcp.cloudrunv2.WorkerPoolTemplateArgs(
                        service_account=args.service_account_email,
                        labels=labels,
                        vpc_access=vpc_access,
                        containers=[
                            gcp.cloudrunv2.WorkerPoolTemplateContainerArgs(
                                name=args.service_name,
                                image=svc.image,
                                **command,
                                envs=envs,
                                resources=gcp.cloudrunv2.WorkerPoolTemplateContainerResourcesArgs(
                                    limits={"cpu": cpu, "memory": memory}
                                ),
                            )
                        ],
                    ),
                ),
                opts=self.child_opts(depends_on=args.depends_on),
            )
        else:
            port = svc.port
            probe_path = svc.health_path or "/"
            self.resource = gcp.cloudrunv2.Service(
                self.child_name("service"),
                gcp.cloudrunv2.ServiceArgs(
                    project=args.project,
                    name=self.physical_name,
                    location=args.region,
                    ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" if self.public else "INGRESS_TRAFFIC_INTERNAL_ONLY",
                    # Behind the load balancer the caller has no Google identity; ingress already
                    # limits who can reach the service. Internal services keep the IAM check.
                    invoker_iam_disabled=self.public,
                    deletion_protection=protect,
                    # the release contract (components/app/cloudrun_release.py): service labels only,
                    # a template label would be part of every revision
                    labels={**labels, **release_labels(svc)},
                    template=gcp.cloudrunv2.ServiceTemplateArgs(
                        service_account=args.service_account_email,
                        labels=labels,
                        timeout=f"{cfg.edge.streaming_timeout_seconds}s",
                        max_instance_request_concurrency=svc.concurrency,
                        # less than one vCPU runs only in the first generation (limits.py)
                        execution_environment="EXECUTION_ENVIRONMENT_GEN1"
                        if cloud_run_fractional(svc.cpu)
                        else "EXECUTION_ENVIRONMENT_GEN2",
                        scaling=gcp.cloudrunv2.ServiceTemplateScalingArgs(
                            min_instance_count=svc.min_replicas, max_instance_count=svc.max_replicas
                        ),
                        vpc_access=vpc_access,
                        containers=[
                            gcp.cloudrunv2.ServiceTemplateContainerArgs(
                                name=args.service_name,
                                image=svc.image,
                                **command,
                                ports=gcp.cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=port, name="http1"),
                                envs=envs,
                                resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                                    limits={"cpu": cpu, "memory": memory},
                                    # CPU only while serving (streams keep it) keeps idle cost down;
                                    # the startup boost shortens cold starts.
                                    cpu_idle=True,
                                    startup_cpu_boost=True,
                                ),
                                startup_probe=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
                                    http_get=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(
                                        path=probe_path, port=port
                                    ),
                                    initial_delay_seconds=0,
                                    period_seconds=10,
                                    timeout_seconds=5,
                                    failure_threshold=30,
                                ),
                                liveness_probe=gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeArgs(
                                    http_get=gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeHttpGetArgs(
                                        path=probe_path, port=port
                                    ),
                                    period_seconds=cfg.dr.health_check_interval_seconds,
                                    timeout_seconds=5,
                                    failure_threshold=cfg.dr.failure_threshold,
                                ),
                            )
                        ],
                    ),
                ),
                # a canary/blue-green release's traffic belongs to the release loop (tools/release.py),
                # which pins it to named revisions: Pulumi sets it at creation only
                opts=self.child_opts(
                    depends_on=args.depends_on, ignore_changes=["traffics"] if svc.shifts_traffic else None
                ),
            )
            self.uri = self.resource.uri
            if not self.public:
                for invoker in args.invokers:
                    gcp.cloudrunv2.ServiceIamMember(
                        self.child_name("invoker", invoker.key),
                        gcp.cloudrunv2.ServiceIamMemberArgs(
                            project=args.project,
                            location=args.region,
                            name=self.resource.name,
                            role="roles/run.invoker",
                            member=invoker.member,
                        ),
                        opts=self.child_opts(),
                    )
        self.register_outputs({"name": self.physical_name, "region": args.region, "uri": self.uri})
