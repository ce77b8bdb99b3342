"""The one typed schema of a stack's configuration.

Every stack file (`Pulumi.<stack>.yaml`) is read here, once, into frozen pydantic models. The rest
of the program receives a `StackConfig` and never touches `pulumi.Config` itself.

Keys live in the project namespace (`ai-assistant-platform:<key>`) and are camelCase in YAML.
Per-environment defaults (sizes, replicas, retention, thresholds) come from the seeds and are
merged under what the stack file says, so a stack file only states what differs.

Bad input raises `ConfigError` with one message that names the stack file, each bad key path, the
bad value and what is allowed -- before any resource is registered. Secret values are never part of
these models (they are read separately as secret Outputs) so they can never leak into an error.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Mapping, Optional

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components import naming

PROJECT = "ai-assistant-platform"

PLATFORMS = ("kubernetes", "gke", "cloudrun", "ecs")
ENVIRONMENTS = ("dev", "staging", "prod")
DATA_SERVICES = ("postgres", "redis", "mongodb", "rabbitmq")

class ConfigError(Exception):
    """Invalid stack configuration. The message is complete and safe to print as is."""


# ---------------------------------------------------------------------------------------------
# Quantities: CPU in millicores, memory in MiB. Accept what people write in the seeds.
# ---------------------------------------------------------------------------------------------

_CPU_RE = re.compile(r"^(?P<num>\d+(\.\d+)?)(?P<milli>m)?$")
_MEM_RE = re.compile(r"^(?P<num>\d+(\.\d+)?)(?P<unit>Mi|Gi)$")


def _parse_cpu(value: Any) -> int:
    """'500m', '0.5', 0.5, 2 -> millicores."""
    if isinstance(value, bool):
        raise ValueError("must be a number of vCPUs (0.5, 2) or millicores ('500m')")
    if isinstance(value, (int, float)):
        millis = round(float(value) * 1000)
    elif isinstance(value, str) and (m := _CPU_RE.match(value.strip())):
        num = float(m.group("num"))
        millis = round(num if m.group("milli") else num * 1000)
    else:
        raise ValueError("must be a number of vCPUs (0.5, 2) or millicores ('500m')")
    if millis < 10:
        raise ValueError("must be at least 10m")
    return millis


def _parse_memory(value: Any) -> int:
    """'512Mi', '2Gi' -> MiB."""
    if isinstance(value, str) and (m := _MEM_RE.match(value.strip())):
        num = float(m.group("num"))
        mib = round(num * 1024 if m.group("unit") == "Gi" else num)
        if mib < 16:
            raise ValueError("must be at least 16Mi")
        return mib
    raise ValueError("must be a quantity in Mi or Gi, such as '512Mi' or '2Gi'")


Millicores = Annotated[int, BeforeValidator(_parse_cpu)]
MebiBytes = Annotated[int, BeforeValidator(_parse_memory)]


def cpu_quantity(millicores: int) -> str:
    """Kubernetes CPU quantity: '500m' or '2'."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def memory_quantity(mib: int) -> str:
    """Kubernetes memory quantity: '512Mi' or '2Gi'."""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


class _Model(BaseModel):
    """Frozen, strict about unknown keys, camelCase in YAML, snake_case in Python."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
    )


_IMAGE_RE = re.compile(
    r"^(?P<repo>[a-z0-9]+([._\-/:][a-z0-9]+)*?)"  # registry[:port]/path
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_SECRET_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SECRETISH_RE = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|APIKEY|PRIVATE_KEY|CREDENTIAL|_DSN$|_URL$|_URI$)")
_LABEL_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
_HOST_LABEL_RE = re.compile(r"^(@|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$")
_DOMAIN_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

DataServiceName = Literal[DATA_SERVICES]


def secret_config_key(env_name: str) -> str:
    """The Pulumi config key that holds a provided secret: OPENAI_API_KEY -> openaiApiKey."""
    head, *rest = env_name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


class RouteConfig(_Model):
    """Where a web service is reachable from the internet: `<subdomain>.<domain><path>`."""

    subdomain: str = Field(description="host label under `domain`; '@' for the apex")
    paths: tuple[str, ...] = ("/",)

    @field_validator("subdomain")
    @classmethod
    def _subdomain_is_a_dns_label(cls, v: str) -> str:
        if not _HOST_LABEL_RE.match(v):
            raise ValueError("must be one lowercase DNS label (letters, digits, '-') or '@' for the apex")
        return v

    @field_validator("paths")
    @classmethod
    def _paths_are_absolute(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or any(not p.startswith("/") for p in v):
            raise ValueError("must be a non-empty list of absolute paths such as '/' or '/api'")
        return v


class ServiceConfig(_Model):
    """One application service: a web service (has a port) or a queue worker (no port)."""

    enabled: bool = True
    kind: Literal["web", "worker"] = "web"
    image: str = Field(description="container image pinned by tag (not 'latest') or digest")
    port: Optional[int] = Field(default=None, ge=1, le=65535, description="container port; none for workers")
    health_path: Optional[str] = Field(default="/health", description="liveness/startup HTTP path")
    readiness_path: Optional[str] = Field(default=None, description="readiness HTTP path; default healthPath")
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    health_command: tuple[str, ...] = Field(
        default=(), description="exec liveness check for services without HTTP (workers)"
    )
    cpu: Millicores = Field(description="guaranteed vCPU: Kubernetes request, Cloud Run/ECS size")
    memory: MebiBytes = Field(description="guaranteed memory: Kubernetes request, Cloud Run/ECS size")
    cpu_limit: Optional[Millicores] = Field(default=None, description="Kubernetes limit; default 2x cpu")
    memory_limit: Optional[MebiBytes] = Field(default=None, description="Kubernetes limit; default 2x memory")
    min_replicas: int = Field(ge=0, le=100, description="HPA / Cloud Run / ECS minimum")
    max_replicas: int = Field(ge=1, le=1000, description="HPA / Cloud Run / ECS maximum")
    concurrency: int = Field(default=80, ge=1, le=1000, description="requests per instance (Cloud Run)")
    route: Optional[RouteConfig] = Field(default=None, description="public route; none = internal only")
    uses: tuple[DataServiceName, ...] = Field(default=(), description="data services it connects to (env from secrets)")
    calls: tuple[str, ...] = Field(
        default=(),
        description="internal web services it calls (e.g. [mcp]); cloudrun: only these callers get "
        "`<NAME>_ENDPOINT` and `roles/run.invoker` on the callee",
    )
    secrets: tuple[str, ...] = Field(default=(), description="app secrets it reads (names from `secrets`)")
    env: dict[str, str] = Field(default_factory=dict, description="plain, non-secret environment variables")

    @field_validator("image")
    @classmethod
    def _image_is_pinned(cls, v: str) -> str:
        m = _IMAGE_RE.match(v)
        if not m:
            raise ValueError("is not a container image reference")
        if not m.group("tag") and not m.group("digest"):
            raise ValueError("must be pinned by tag or digest (e.g. 'repo/app:1.4.2' or 'repo/app@sha256:...')")
        if m.group("tag") == "latest" and not m.group("digest"):
            raise ValueError("must not use ':latest': pin a version tag or a digest so rollouts are reproducible")
        return v

    @field_validator("health_path", "readiness_path")
    @classmethod
    def _path_is_absolute(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not v.startswith("/"):
            raise ValueError("must be an absolute HTTP path such as '/health'")
        return v

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not _SECRET_NAME_RE.match(name):
                raise ValueError(f"{name!r} must be an UPPER_SNAKE_CASE environment variable name")
        return v

    @field_validator("env")
    @classmethod
    def _env_has_no_secrets(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not _SECRET_NAME_RE.match(name):
                raise ValueError(f"{name!r} must be an UPPER_SNAKE_CASE environment variable name")
            if _SECRETISH_RE.search(name):
                raise ValueError(
                    f"{name!r} looks like a secret or a connection string: list it under `secrets` "
                    "(provided with `pulumi config set --secret`) or `uses`, never as plain env"
                )
        return v

    @model_validator(mode="after")
    def _shape_matches_kind(self) -> "ServiceConfig":
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) must not exceed maxReplicas ({self.max_replicas})"
            )
        if self.kind == "web" and self.port is None:
            raise ValueError("a web service needs a `port` (set kind: worker for a service without one)")
        if self.kind == "worker":
            if self.port is not None or self.route is not None:
                raise ValueError("a worker has no `port` and no `route`; set kind: web to serve traffic")
            if not self.command:
                raise ValueError("a worker needs a `command` (what consumes the queue)")
            if not self.health_command:
                raise ValueError("a worker needs a `healthCommand` (an exec liveness check)")
        if self.cpu_limit is not None and self.cpu_limit < self.cpu:
            raise ValueError("cpuLimit must be at least cpu")
        if self.memory_limit is not None and self.memory_limit < self.memory:
            raise ValueError("memoryLimit must be at least memory")
        return self

    @property
    def effective_cpu_limit(self) -> int:
        return self.cpu_limit or self.cpu * 2

    @property
    def effective_memory_limit(self) -> int:
        return self.memory_limit or self.memory * 2

    @property
    def effective_readiness_path(self) -> Optional[str]:
        return self.readiness_path or self.health_path


class DataServiceConfig(_Model):
    """One data service. `tier` is the managed offering's size and is platform specific
    (Cloud SQL tier, RDS instance class, Memorystore GB, ...); None picks the platform default
    for the environment. `cpu`/`memory` size in-cluster StatefulSets."""

    enabled: bool = True
    version: Optional[str] = Field(default=None, description="engine version (managed services)")
    storage_gi: int = Field(ge=1, le=65536, description="disk / PVC size in GiB (seed 003)")
    cpu: Millicores = Field(description="in-cluster request (limit is 2x)")
    memory: MebiBytes = Field(description="in-cluster request (limit is 2x)")
    replicas: int = Field(default=1, ge=1, le=7, description="in-cluster members (MongoDB replica set)")
    ha: bool = Field(default=False, description="managed high availability (regional / Multi-AZ)")
    tier: Optional[str] = Field(default=None, description="managed size, platform specific; none = platform default")


class DataConfig(_Model):
    postgres: DataServiceConfig
    redis: DataServiceConfig
    mongodb: DataServiceConfig
    rabbitmq: DataServiceConfig

    def enabled(self) -> tuple[str, ...]:
        return tuple(n for n in DATA_SERVICES if getattr(self, n).enabled)


class SecretsConfig(_Model):
    """Application secrets, by environment variable name.

    `provided`: set by a person with `pulumi config set --secret <camelCaseName>` (AI provider keys).
    `generated`: random values the program creates with pulumi_random (session/JWT keys).
    """

    provided: tuple[str, ...] = Field(default=(), description="set with `pulumi config set --secret <camelCaseName>`")
    generated: tuple[str, ...] = Field(default=(), description="random values created by the program")

    @field_validator("provided", "generated")
    @classmethod
    def _names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not _SECRET_NAME_RE.match(name):
                raise ValueError(f"{name!r} must be an UPPER_SNAKE_CASE environment variable name")
        return v

    @model_validator(mode="after")
    def _disjoint(self) -> "SecretsConfig":
        both = set(self.provided) & set(self.generated)
        if both:
            raise ValueError(f"{sorted(both)} cannot be both provided and generated")
        return self

    @property
    def all(self) -> tuple[str, ...]:
        return self.provided + self.generated


class RegionsConfig(_Model):
    primary: str = Field(
        description="region of everything (kubernetes: informational); changing this replaces every "
        "regional data service (Cloud SQL, Memorystore, the RabbitMQ disk, RDS, ...) and its data"
    )
    secondary: Optional[str] = Field(
        default=None,
        description="DR region: replicas, backup copies, standby services; changing this replaces the "
        "cross-region database replicas (they re-sync from the primary) and the Backup for GKE plans "
        "stored there (with their backups)",
    )

    @model_validator(mode="after")
    def _distinct(self) -> "RegionsConfig":
        if self.secondary is not None and self.secondary == self.primary:
            raise ValueError("secondary region must differ from the primary region")
        return self


class RateLimitsConfig(_Model):
    """Seed 000: 1000 req/min global, 60 req/min per client, 30 req/min on AI routes."""

    global_per_minute: int = Field(default=1000, ge=1)
    per_client_per_minute: int = Field(default=60, ge=1)
    ai_routes_per_minute: int = Field(default=30, ge=1)
    ai_paths: tuple[str, ...] = ("/api/chat", "/api/ai", "/v1/chat")


class IngressNginxConfig(_Model):
    install: bool = Field(default=False, description="install the controller (on in dev)")
    chart_version: str = Field(default="4.13.3", description="pinned ingress-nginx chart")
    trusted_proxy_cidrs: tuple[str, ...] = Field(
        default=(),
        description=(
            "ranges of the proxies/load balancers in front of the controller whose X-Forwarded-For "
            "is believed (per-client rate limits key on it); empty: none, the TCP peer is the client"
        ),
    )

    @field_validator("trusted_proxy_cidrs")
    @classmethod
    def _proxy_ranges(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for cidr in v:
            try:
                network = ipaddress.ip_network(cidr)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR range such as '10.0.0.0/24'") from None
            if network.prefixlen == 0:
                raise ValueError(f"{cidr!r} trusts every address: any client could set its own IP")
        return v


class EdgeConfig(_Model):
    cdn: bool = Field(default=True, description="CDN on the frontend (cloud platforms)")
    waf: bool = Field(default=True, description="Cloud Armor / WAFv2 (cloud platforms)")
    rate_limits: RateLimitsConfig = RateLimitsConfig()
    streaming_timeout_seconds: int = Field(
        default=600, ge=300, le=3600, description="SSE responses need 300-600 s without buffering"
    )
    max_body_size_mb: int = Field(default=50, ge=1, le=1024)
    hsts_max_age_seconds: int = Field(
        default=31536000,
        ge=0,
        le=63072000,
        description="Strict-Transport-Security max-age (with includeSubDomains) the cloud load balancers "
        "add to every public response (cloudrun, gke); 0 sends no header",
    )
    tls_cluster_issuer: Optional[str] = Field(
        default=None, description="cert-manager ClusterIssuer for Ingress TLS (kubernetes)"
    )
    ingress_nginx: IngressNginxConfig = IngressNginxConfig()

    @property
    def hsts_header(self) -> Optional[str]:
        """The `Strict-Transport-Security` response header ('Name: value'), None when off."""
        if not self.hsts_max_age_seconds:
            return None
        return f"Strict-Transport-Security: max-age={self.hsts_max_age_seconds}; includeSubDomains"


class ThresholdsConfig(_Model):
    """Seeds 001/002 alert thresholds."""

    service_down_minutes: int = 1
    error_rate_percent: float = 5.0
    error_rate_minutes: int = 2
    latency_p95_seconds: float = 2.0
    latency_minutes: int = 5
    cpu_percent: float = 80.0
    memory_percent: float = 80.0
    resource_minutes: int = 5
    disk_percent: float = 85.0
    backup_max_age_hours: int = 26


class TargetsConfig(_Model):
    availability_percent: float = 99.9
    latency_p95_seconds: float = 2.0
    error_rate_percent: float = 1.0


class BudgetsConfig(_Model):
    """Seed 000 cost alerts (in the billing currency)."""

    monthly_infrastructure: float = 500.0
    monthly_storage: float = 50.0
    daily_ai_spend: float = 100.0
    billing_account: Optional[str] = None


class NotificationsConfig(_Model):
    """Where alerts go. Slack and PagerDuty credentials are provided secrets, named here."""

    emails: tuple[str, ...] = ()
    slack_channel: Optional[str] = None
    slack_token_secret: Optional[str] = None
    pagerduty_key_secret: Optional[str] = None

    @field_validator("emails")
    @classmethod
    def _emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for e in v:
            if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", e):
                raise ValueError(f"{e!r} is not an email address")
        return v

    @model_validator(mode="after")
    def _slack_pair(self) -> "NotificationsConfig":
        if (self.slack_channel is None) != (self.slack_token_secret is None):
            raise ValueError("slackChannel and slackTokenSecret go together")
        return self


class PrometheusStackConfig(_Model):
    install: bool = True
    chart_version: str = Field(default="79.5.0", description="pinned kube-prometheus-stack chart")
    retention_days: int = Field(default=15, ge=1, le=365)
    storage_gi: int = Field(default=20, ge=1)


class MonitoringConfig(_Model):
    enabled: bool = True
    prometheus_stack: PrometheusStackConfig = PrometheusStackConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    thresholds: ThresholdsConfig = ThresholdsConfig()
    targets: TargetsConfig = TargetsConfig()
    budgets: BudgetsConfig = BudgetsConfig()


class RetentionConfig(_Model):
    """Seed 002 backup tiers."""

    daily_days: int = Field(default=30, ge=1)
    weekly_weeks: int = Field(default=12, ge=0)
    monthly_months: int = Field(default=12, ge=0)
    yearly_years: int = Field(default=7, ge=0)


class DrConfig(_Model):
    rpo_minutes: int = Field(default=60, ge=1, description="seed 000/001: RPO 1 h")
    rto_minutes: int = Field(default=240, ge=1, description="seed 000/001: RTO 4 h")
    backup_schedule: str = Field(default="0 2 * * *", description="cron, UTC")
    retention: RetentionConfig = RetentionConfig()
    backup_storage_gi: int = Field(default=20, ge=1, description="backup volume (kubernetes)")
    health_check_interval_seconds: int = Field(default=30, ge=10, le=300)
    failure_threshold: int = Field(default=3, ge=1, le=10)
    maintenance_window: str = Field(default="SUN:02:00-SUN:04:00", description="seed 002, UTC")

    @field_validator("backup_schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        if len(v.split()) != 5:
            raise ValueError("must be a 5-field cron expression such as '0 2 * * *'")
        return v


class MetricsServerConfig(_Model):
    """metrics-server: the resource-metrics API (`metrics.k8s.io`) the HPAs scale on."""

    install: Optional[bool] = Field(
        default=None,
        description="install metrics-server (kube-system); default: on in dev (kind, minikube and Docker "
        "Desktop ship none), off elsewhere (a managed cluster usually has one; a second release fails on "
        "its cluster-wide APIService); never on gke (GKE runs its own)",
    )
    kubelet_insecure_tls: Optional[bool] = Field(
        default=None,
        description="pass --kubelet-insecure-tls (skip verifying the kubelets' serving certificates); "
        "default: on in dev, whose local clusters' kubelets serve self-signed certificates, off elsewhere",
    )
    chart_version: str = Field(default="3.13.0", description="pinned metrics-server chart (kubernetes-sigs)")


class KubernetesConfig(_Model):
    """Settings for platforms that run workloads on Kubernetes (`kubernetes`, `gke`)."""

    namespace: str = "ai-assistant"
    storage_class: Optional[str] = None
    ingress_controller_namespace: str = "ingress-nginx"
    monitoring_namespace: str = "monitoring"
    metrics_server: MetricsServerConfig = MetricsServerConfig()

    @field_validator("namespace", "ingress_controller_namespace", "monitoring_namespace")
    @classmethod
    def _dns_label(cls, v: str) -> str:
        if not re.match(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", v):
            raise ValueError("must be a DNS-1123 label (lowercase letters, digits, '-')")
        return v


class GcpConfig(_Model):
    """GCP-wide settings (`cloudrun`, `gke`). The project comes from `gcp:project`."""

    project: Optional[str] = None
    network_cidr: str = Field(
        default="10.10.0.0/20",
        description="subnet of regions.primary: Cloud Run Direct VPC egress (one IP per instance) and VMs",
    )
    secondary_network_cidr: str = Field(default="10.20.0.0/20", description="subnet of regions.secondary")
    private_service_cidr: str = Field(
        default="10.100.0.0/16",
        description="Private Service Access range peered to Google (Cloud SQL, Memorystore private IPs)",
    )
    deletion_protection: bool = Field(
        default=True,
        description="provider-side deletion protection on data services (Cloud SQL, Memorystore, Firestore) "
        "and the backup buckets' retention; prod always keeps it, set false only to tear down a non-prod stack",
    )
    allow_iap_ssh: bool = Field(
        default=False,
        description="open tcp:22 from Identity-Aware Proxy (35.235.240.0/20) to the RabbitMQ VM for "
        "break-glass `gcloud compute ssh --tunnel-through-iap` (IAM-checked; the VM has no public IP)",
    )
    ssl_policy_profile: Literal["MODERN", "RESTRICTED"] = Field(
        default="MODERN",
        description="SSL policy profile of the load balancer / GKE Ingress (TLS 1.2 cipher suites); "
        "prod default RESTRICTED; minTlsVersion TLS_1_3 requires RESTRICTED",
    )
    cloud_armor_tier: Optional[Literal["CA_ENTERPRISE_PAYGO", "CA_ENTERPRISE_ANNUAL", "CA_STANDARD"]] = Field(
        default=None,
        description="enrol the project in this Cloud Armor tier (billed per project); Enterprise turns on "
        "Adaptive Protection auto-deploy in prod, the only automatic L7 flood mitigation (Standard "
        "Adaptive Protection only alerts); none: leave the project's tier as it is",
    )
    min_tls_version: Literal["TLS_1_2", "TLS_1_3"] = Field(
        default="TLS_1_2",
        description="minimum TLS version of the load balancer / GKE Ingress SSL policy; prod default "
        "TLS_1_3 (seeds 001/002); clients without TLS 1.3 are then refused",
    )
    firestore_location: Optional[str] = Field(
        default=None,
        description="Firestore (MongoDB compatibility) location, pinned at creation; default: the "
        "multi-region of regions.primary's continent (nam5/eur3) in prod, else regions.primary; "
        "production stacks set it explicitly. Changing this replaces the Firestore database (its data)",
    )
    backup_location: Optional[str] = Field(
        default=None,
        description="backup bucket location, pinned at creation; default: the multi-region (US/EU/ASIA) of "
        "regions.primary; production stacks set it explicitly. Changing this replaces the backup bucket "
        "(its exports)",
    )
    redis_tier: Optional[Literal["BASIC", "STANDARD_HA"]] = Field(
        default=None,
        description="Memorystore tier, pinned at creation; default: STANDARD_HA in prod, else BASIC; must agree "
        "with data.redis.ha; production stacks set it explicitly. Changing this replaces the Memorystore "
        "instance (cache and sessions)",
    )
    export_schedule: Optional[str] = Field(
        default=None,
        description="cron (UTC) of the nightly database export to the backup bucket; default: the first slot "
        "an hour clear of the Cloud SQL backup window (dr.backupSchedule + 4 h) and dr.maintenanceWindow",
    )
    postgres_max_connections: int = Field(
        default=200, ge=25, le=10000, description="Cloud SQL max_connections flag; the alert fires at 80 %"
    )
    cdn_services: tuple[str, ...] = Field(
        default=("frontend",),
        description="routed services whose load-balancer backend has Cloud CDN (static assets); the rest "
        "(APIs, streaming) are never cached",
    )

    @field_validator("export_schedule")
    @classmethod
    def _export_cron(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and len(v.split()) != 5:
            raise ValueError("must be a 5-field cron expression such as '0 7 * * *'")
        return v

    @model_validator(mode="after")
    def _tls_1_3_is_restricted(self) -> "GcpConfig":
        # The SSL policy API refuses TLS_1_3 with any profile but RESTRICTED (pinned SDK docs).
        if self.min_tls_version == "TLS_1_3" and self.ssl_policy_profile != "RESTRICTED":
            raise ValueError(
                f"minTlsVersion TLS_1_3 needs sslPolicyProfile RESTRICTED (got {self.ssl_policy_profile!r}); "
                "set sslPolicyProfile: RESTRICTED or minTlsVersion: TLS_1_2"
            )
        return self

    @model_validator(mode="after")
    def _ranges_are_disjoint(self) -> "GcpConfig":
        # Subnets and the Private Service Access range share one VPC: overlapping ranges would make
        # Cloud SQL / Memorystore private IPs unroutable from Cloud Run, so reject them up front.
        import ipaddress

        nets = {}
        for key in ("network_cidr", "secondary_network_cidr", "private_service_cidr"):
            value = getattr(self, key)
            try:
                nets[key] = ipaddress.IPv4Network(value)
            except ValueError:
                raise ValueError(f"{to_camel(key)} {value!r} must be an IPv4 network such as '10.10.0.0/20'") from None
            if not nets[key].is_private:
                raise ValueError(f"{to_camel(key)} {value!r} must be a private (RFC 1918) range")
        if nets["network_cidr"].prefixlen > 26 or nets["secondary_network_cidr"].prefixlen > 26:
            raise ValueError("networkCidr and secondaryNetworkCidr must be /26 or larger (Direct VPC egress minimum)")
        if nets["private_service_cidr"].prefixlen > 24:
            raise ValueError("privateServiceCidr must be /24 or larger (Private Service Access minimum)")
        keys = list(nets)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if nets[a].overlaps(nets[b]):
                    raise ValueError(f"{to_camel(a)} and {to_camel(b)} overlap; the VPC needs disjoint ranges")
        return self


class GkeConfig(_Model):
    """GKE cluster settings (`gke`).

    `masterAuthorizedNetworks`: the only source ranges that may reach the cluster's public control
    plane *IP* endpoint (the operators' VPN); the DNS endpoint (`controlPlaneDnsEndpoint`) is
    guarded by IAM instead, so CI runners without stable ranges use it. The nodes are private.
    `subnetCidr`/`podsCidr`/`servicesCidr`: the cluster's own VPC-native subnet and its secondary
    ranges; they must not overlap the other GCP ranges nor `masterCidr` (a /28 for the control plane).
    """

    master_authorized_networks: tuple[str, ...] = ()
    control_plane_dns_endpoint: bool = Field(
        default=True,
        description="the control plane's DNS endpoint (`gke-....gke.goog`) with IAM-only access from anywhere "
        "(container.clusters.connect; authorized networks do not apply to it); the program's Kubernetes provider "
        "and CI connect through it. false: only the IP endpoint, reachable from masterAuthorizedNetworks",
    )
    master_cidr: str = "172.16.0.32/28"
    subnet_cidr: str = "10.40.0.0/20"
    pods_cidr: str = "10.44.0.0/14"
    services_cidr: str = "10.48.0.0/20"
    machine_type: str = "e2-standard-4"
    disk_size_gb: int = Field(default=100, ge=20, le=65536)
    min_nodes_per_zone: int = Field(default=1, ge=0)
    max_nodes_per_zone: int = Field(default=3, ge=1)
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    secrets_key_rotation_days: int = Field(default=90, ge=1, le=36500)

    @field_validator("master_authorized_networks", "master_cidr", "subnet_cidr", "pods_cidr", "services_cidr")
    @classmethod
    def _cidrs(cls, v: Any) -> Any:
        import ipaddress

        for cidr in (v if isinstance(v, tuple) else (v,)):
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a network in CIDR notation such as '203.0.113.0/24'") from None
        return v

    @model_validator(mode="after")
    def _ranges(self) -> "GkeConfig":
        import ipaddress

        if ipaddress.ip_network(self.master_cidr).prefixlen != 28:
            raise ValueError(f"masterCidr {self.master_cidr!r} must be a /28 (GKE private control plane)")
        ranges = {
            "masterCidr": self.master_cidr,
            "subnetCidr": self.subnet_cidr,
            "podsCidr": self.pods_cidr,
            "servicesCidr": self.services_cidr,
        }
        nets = {k: ipaddress.ip_network(v) for k, v in ranges.items()}
        keys = list(nets)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if nets[a].overlaps(nets[b]):
                    raise ValueError(f"{a} {ranges[a]!r} overlaps {b} {ranges[b]!r}")
        if self.min_nodes_per_zone > self.max_nodes_per_zone:
            raise ValueError(
                f"minNodesPerZone ({self.min_nodes_per_zone}) must not exceed maxNodesPerZone ({self.max_nodes_per_zone})"
            )
        return self


_CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                              2192, 2557, 2922, 3288, 3653)


class AwsConfig(_Model):
    """AWS settings (`ecs`). The region comes from `regions.primary`, the DR region from
    `regions.secondary`; see docs/deploy-aws.md."""

    vpc_cidr: str = Field(default="10.30.0.0/16", description="VPC range, /16 to /20; cut into /20-sized subnets")
    az_count: int = Field(default=3, ge=2, le=3)
    hosted_zone_id: Optional[str] = Field(
        default=None,
        description="Route 53 public hosted zone of `domain`: certificate validation, alias and failover "
        "records are created only when it is set (otherwise the outputs list the records to create)",
    )
    secondary_origin_domain: Optional[str] = Field(
        default=None,
        description="DNS name of the standby origin (ALB) in regions.secondary: the SECONDARY failover record",
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
    cloudfront_price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_All"
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
        import ipaddress

        try:
            net = ipaddress.IPv4Network(v)
        except ValueError:
            raise ValueError("must be an IPv4 network such as '10.30.0.0/16'") from None
        if not 16 <= net.prefixlen <= 20:
            raise ValueError("must be a /16 to /20 (nine subnets of 1/16 of the range are cut from it)")
        return v

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, v: int) -> int:
        if v not in _CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(f"must be one of CloudWatch's values: {', '.join(map(str, _CLOUDWATCH_RETENTION_DAYS))}")
        return v

    @field_validator("secondary_origin_domain")
    @classmethod
    def _origin_domain(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not _DOMAIN_RE.match(v):
            raise ValueError("must be a lowercase DNS name such as 'origin-dr.example.com'")
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


class StackConfig(_Model):
    """The whole validated configuration of one stack."""

    platform: Literal[PLATFORMS] = Field(description="picks the app layer")
    environment: Literal[ENVIRONMENTS] = Field(description="picks the seed defaults; prod protects data")
    regions: RegionsConfig
    domain: str = Field(description="public hosts are <route.subdomain>.<domain>")
    settings: dict[str, str] = Field(default_factory=dict, description="plain app settings (ConfigMap)")
    secrets: SecretsConfig = SecretsConfig()
    services: dict[str, ServiceConfig]
    data: DataConfig
    edge: EdgeConfig = EdgeConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    dr: DrConfig = DrConfig()
    tags: dict[str, str] = Field(default_factory=dict, description="extra labels/tags on every resource")
    name_prefix: Optional[str] = Field(
        default=None,
        description="pins the start of every physical cloud name (default: derived from the project and stack "
        "names, see README 'Physical names'); set it to the old prefix the plan's warning names to keep the names "
        "of a stack deployed before; changing this replaces every named resource and the data in it",
    )
    kubernetes: KubernetesConfig = KubernetesConfig()
    gcp: GcpConfig = GcpConfig()
    gke: GkeConfig = GkeConfig()
    aws: AwsConfig = AwsConfig()

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str) -> str:
        if not _DOMAIN_RE.match(v):
            raise ValueError("must be a lowercase DNS name such as 'ai.example.com'")
        return v

    @field_validator("services")
    @classmethod
    def _service_names(cls, v: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        for name in v:
            if not re.match(r"^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$", name):
                raise ValueError(f"service name {name!r} must be a short DNS label (<= 20 chars)")
        return v

    @field_validator("settings")
    @classmethod
    def _settings_have_no_secrets(cls, v: dict[str, str]) -> dict[str, str]:
        return ServiceConfig._env_has_no_secrets(v)

    @field_validator("tags")
    @classmethod
    def _tags_are_labels(cls, v: dict[str, str]) -> dict[str, str]:
        # The strictest of the three label systems (GCP) decides, so one set works everywhere.
        for key, value in v.items():
            if not _LABEL_RE.match(key) or not _LABEL_VALUE_RE.match(str(value)):
                raise ValueError(
                    f"{key}: {value!r} must be lowercase letters, digits, '_' or '-' (GCP label rules)"
                )
        return v

    @field_validator("name_prefix")
    @classmethod
    def _name_prefix(cls, v: Optional[str]) -> Optional[str]:
        problem = v is not None and naming.prefix_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _cross_references(self) -> "StackConfig":
        enabled_data = set(self.data.enabled())
        declared_secrets = set(self.secrets.all)
        for name, svc in self.services.items():
            if not svc.enabled:
                continue
            for used in svc.uses:
                if used not in enabled_data:
                    raise ValueError(
                        f"services.{name}.uses: '{used}' is disabled in data.{used}.enabled; "
                        f"enable it or remove it from uses (enabled: {sorted(enabled_data) or 'none'})"
                    )
            for callee in svc.calls:
                target = self.services.get(callee)
                if callee == name or target is None or not target.enabled or target.kind != "web":
                    callable_ = sorted(n for n, s in self.services.items() if s.enabled and s.kind == "web" and n != name)
                    raise ValueError(
                        f"services.{name}.calls: '{callee}' is not another enabled web service "
                        f"(callable: {callable_ or 'none'})"
                    )
            for secret in svc.secrets:
                if secret not in declared_secrets:
                    raise ValueError(
                        f"services.{name}.secrets: '{secret}' is not declared in secrets.provided "
                        f"or secrets.generated (declared: {sorted(declared_secrets) or 'none'})"
                    )
        notif = self.monitoring.notifications
        for ref in (notif.slack_token_secret, notif.pagerduty_key_secret):
            if ref is not None and ref not in self.secrets.provided:
                raise ValueError(
                    f"monitoring.notifications: secret '{ref}' must be listed in secrets.provided"
                )
        if not any(s.enabled and s.route for s in self.services.values()):
            raise ValueError("services: at least one enabled web service needs a public `route`")
        if self.environment == "prod" and self.platform != "kubernetes":
            for name, svc in self.services.items():
                if svc.enabled and svc.kind == "web" and svc.min_replicas < 2:
                    raise ValueError(
                        f"services.{name}.minReplicas: {svc.min_replicas} -- production web services "
                        "run at least 2 replicas (seed 000: 99.9 % availability)"
                    )
        return self

    @model_validator(mode="after")
    def _gcp_placement(self) -> "StackConfig":
        # pinned ForceNew placement and the export schedule of the GCP data services
        from components.data.gcp_placement import placement_problems

        problems = placement_problems(self)
        if problems:
            raise ValueError(f"GCP data placement ({len(problems)} problem(s)):\n    " + "\n    ".join(problems))
        return self

    # --- derived facts the components share -------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.environment == "prod"

    @property
    def enabled_services(self) -> dict[str, ServiceConfig]:
        return {n: s for n, s in self.services.items() if s.enabled}

    def host(self, route: RouteConfig) -> str:
        return self.domain if route.subdomain == "@" else f"{route.subdomain}.{self.domain}"


# Top-level keys of the project namespace that the schema knows. Provided secrets add their own
# (camelCase) keys; anything else in the project namespace is a typo and is rejected.
TOP_LEVEL_KEYS = tuple(field.alias or name for name, field in StackConfig.model_fields.items())


# ---------------------------------------------------------------------------------------------
# Per-environment defaults (seeds 000, 002, 003, 004)
# ---------------------------------------------------------------------------------------------

_SERVICE_SHAPES: dict[str, dict[str, Any]] = {
    # seed 000 ports/health, seed 004 readiness
    "frontend": {"kind": "web", "port": 3000, "healthPath": "/api/health", "route": {"subdomain": "app"}},
    "api": {"kind": "web", "port": 8080, "healthPath": "/health", "readinessPath": "/ready",
            "route": {"subdomain": "api"}},
    "mcp": {"kind": "web", "port": 8001, "healthPath": "/health"},
    # the worker touches /tmp/worker-heartbeat after each poll of the queue; stale for 2 min = stuck
    "worker": {"kind": "worker", "healthPath": None, "healthCommand": [
        "sh", "-c", "test $(( $(date +%s) - $(stat -c %Y /tmp/worker-heartbeat) )) -lt 120"]},
}

# seed 000 sizes (frontend/api), seed 003 worker and HPA ranges
_SERVICE_SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "dev": {
        "frontend": {"cpu": "0.5", "memory": "1Gi", "minReplicas": 1, "maxReplicas": 2},
        "api": {"cpu": "1", "memory": "2Gi", "minReplicas": 1, "maxReplicas": 2},
        "mcp": {"cpu": "250m", "memory": "512Mi", "minReplicas": 1, "maxReplicas": 2},
        "worker": {"cpu": "100m", "memory": "256Mi", "cpuLimit": "200m", "memoryLimit": "512Mi",
                   "minReplicas": 1, "maxReplicas": 2},
    },
    "staging": {
        "frontend": {"cpu": "1", "memory": "2Gi", "minReplicas": 1, "maxReplicas": 4},
        "api": {"cpu": "2", "memory": "4Gi", "minReplicas": 1, "maxReplicas": 3},
        "mcp": {"cpu": "1", "memory": "1Gi", "minReplicas": 1, "maxReplicas": 3},
        "worker": {"cpu": "1", "memory": "512Mi", "minReplicas": 1, "maxReplicas": 3},
    },
    "prod": {
        "frontend": {"cpu": "2", "memory": "4Gi", "minReplicas": 2, "maxReplicas": 10},
        "api": {"cpu": "4", "memory": "8Gi", "minReplicas": 2, "maxReplicas": 5},
        "mcp": {"cpu": "1", "memory": "2Gi", "minReplicas": 2, "maxReplicas": 6},
        "worker": {"cpu": "1", "memory": "1Gi", "minReplicas": 2, "maxReplicas": 6},
    },
}

# seed 003 resource table (prod), scaled down for dev and staging
_DATA_SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "dev": {
        "postgres": {"storageGi": 10, "cpu": "250m", "memory": "512Mi", "version": "16"},
        "redis": {"storageGi": 2, "cpu": "100m", "memory": "256Mi", "version": "7.2"},
        "mongodb": {"storageGi": 10, "cpu": "250m", "memory": "512Mi", "version": "7.0"},
        "rabbitmq": {"storageGi": 5, "cpu": "250m", "memory": "512Mi", "version": "3.13"},
    },
    "staging": {
        "postgres": {"storageGi": 20, "cpu": "500m", "memory": "1Gi", "version": "16"},
        "redis": {"storageGi": 5, "cpu": "100m", "memory": "256Mi", "version": "7.2"},
        "mongodb": {"storageGi": 20, "cpu": "500m", "memory": "1Gi", "version": "7.0"},
        "rabbitmq": {"storageGi": 10, "cpu": "500m", "memory": "1Gi", "version": "3.13"},
    },
    "prod": {
        "postgres": {"storageGi": 100, "cpu": "500m", "memory": "1Gi", "version": "16", "ha": True},
        "redis": {"storageGi": 10, "cpu": "100m", "memory": "256Mi", "version": "7.2", "ha": True},
        "mongodb": {"storageGi": 100, "cpu": "500m", "memory": "1Gi", "version": "7.0", "ha": True,
                    "replicas": 3},
        "rabbitmq": {"storageGi": 20, "cpu": "500m", "memory": "1Gi", "version": "3.13", "ha": True,
                     "replicas": 3},
    },
}


def environment_defaults(environment: str) -> dict[str, Any]:
    """The seed defaults for an environment, in stack-file shape (camelCase)."""
    services = {
        name: {**shape, **_SERVICE_SIZES[environment][name]} for name, shape in _SERVICE_SHAPES.items()
    }
    return {
        "services": services,
        "data": copy.deepcopy(_DATA_SIZES[environment]),
        "monitoring": {"prometheusStack": {"install": True}},
        "edge": {"ingressNginx": {"install": environment == "dev"}},
        # seeds 001/002: TLS 1.3 in production (the API allows it only with the RESTRICTED profile)
        "gcp": {"minTlsVersion": "TLS_1_3", "sslPolicyProfile": "RESTRICTED"} if environment == "prod" else {},
    }


def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base.get(key), value) if key in base else value
        return merged
    return override


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def _format_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif str(item).startswith(("function-", "literal[", "constrained-")):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _lookup(doc: Any, loc: tuple[Any, ...]) -> Any:
    node = doc
    for item in loc:
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            return "<missing>"
    return node


def _describe_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def format_validation_error(stack_file: str, raw: Mapping[str, Any], err: ValidationError) -> str:
    lines = [f"{stack_file}: invalid configuration ({err.error_count()} problem(s)); nothing was created."]
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        path = _format_loc(loc)
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against the config reference in README.md)"
        elif e["type"] == "missing":
            message = "is required"
        value = e.get("input", _lookup(raw, loc))
        shown = "" if e["type"] in ("missing",) or isinstance(value, dict) else f" = {_describe_value(value)}"
        key = f"{PROJECT}:{path}" if path else PROJECT
        lines.append(f"  {key}{shown}: {message}")
    return "\n".join(lines)


def parse_stack_config(raw: Mapping[str, Any], stack_file: str) -> StackConfig:
    """Validate a stack's raw project config (keys without the project prefix) into a StackConfig.

    Environment defaults are merged under the raw values first, so errors name the user's keys.
    """
    raw = dict(raw)
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS))
    if unknown:
        allowed = ", ".join(TOP_LEVEL_KEYS)
        raise ConfigError(
            f"{stack_file}: invalid configuration; nothing was created.\n"
            + "\n".join(f"  {PROJECT}:{k}: unknown key (allowed: {allowed}, or a provided secret)" for k in unknown)
        )
    platform = raw.get("platform")
    if platform not in PLATFORMS:
        raise ConfigError(
            f"{stack_file}: invalid configuration; nothing was created.\n"
            f"  {PROJECT}:platform = {platform!r}: must be one of {', '.join(PLATFORMS)}"
        )
    environment = raw.get("environment")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"{stack_file}: invalid configuration; nothing was created.\n"
            f"  {PROJECT}:environment = {environment!r}: must be one of {', '.join(ENVIRONMENTS)}"
        )
    merged = _deep_merge(environment_defaults(environment), raw)
    try:
        return StackConfig.model_validate(merged)
    except ValidationError as err:
        raise ConfigError(format_validation_error(stack_file, merged, err)) from None


def split_project_config(all_config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split `project:key` config into (structured keys, everything else in the project namespace)."""
    ours: dict[str, Any] = {}
    for full_key, value in all_config.items():
        namespace, _, key = full_key.partition(":")
        if namespace == PROJECT and key:
            ours[key] = value
    structured = {k: v for k, v in ours.items() if k in TOP_LEVEL_KEYS}
    other = {k: v for k, v in ours.items() if k not in TOP_LEVEL_KEYS}
    return structured, other


def declared_provided_secret_keys(structured: Mapping[str, Any]) -> list[str]:
    """Config keys of the secrets a stack says a person provides (camelCase), from raw config."""
    secrets = structured.get("secrets") or {}
    provided = secrets.get("provided") or () if isinstance(secrets, dict) else ()
    return [secret_config_key(name) for name in provided if isinstance(name, str)]


# ---------------------------------------------------------------------------------------------
# The stack context: validated config plus the provided secrets as secret Outputs
# ---------------------------------------------------------------------------------------------


def _decode(value: Any) -> Any:
    """Structured config arrives as JSON text; scalars stay as they are."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def load_stack_context() -> "StackContext":
    """Read the current stack's Pulumi config once, validate it, and return the StackContext.

    Raises ConfigError (and registers nothing) when the stack file is invalid or a provided secret
    is missing or was set without `--secret`.
    """
    import pulumi
    from pulumi.runtime.config import CONFIG, get_config_env, is_config_secret

    stack = pulumi.get_stack()
    stack_file = f"Pulumi.{stack}.yaml"
    all_config = {**get_config_env(), **CONFIG.get()}
    structured, other = split_project_config(all_config)

    secret_structured = sorted(k for k in structured if is_config_secret(f"{PROJECT}:{k}"))
    if secret_structured:
        raise ConfigError(
            f"{stack_file}: {', '.join(f'{PROJECT}:{k}' for k in secret_structured)} must not be secret; "
            "put secret values in their own keys listed under secrets.provided"
        )
    config = parse_stack_config({k: _decode(v) for k, v in structured.items()}, stack_file)

    expected = {secret_config_key(name): name for name in config.secrets.provided}
    problems = [
        f"  {PROJECT}:{k}: unknown key (allowed: {', '.join(TOP_LEVEL_KEYS)}, or a secret listed in secrets.provided)"
        for k in sorted(set(other) - set(expected))
    ]
    for key in sorted(expected):
        if key not in other:
            problems.append(
                f"  {PROJECT}:{key}: secret {expected[key]} is not set; run "
                f"`pulumi config set --secret {key} <value> --stack {stack}`"
            )
        elif not is_config_secret(f"{PROJECT}:{key}"):
            problems.append(
                f"  {PROJECT}:{key}: is stored in plain text; set it again with "
                f"`pulumi config set --secret {key} <value> --stack {stack}` (the value is not shown here)"
            )
    if problems:
        raise ConfigError(f"{stack_file}: invalid configuration; nothing was created.\n" + "\n".join(problems))

    pulumi_config = pulumi.Config(PROJECT)
    provided = {name: pulumi_config.require_secret(key) for key, name in expected.items()}
    return StackContext(project=pulumi.get_project(), stack=stack, config=config, provided_secrets=provided)


@dataclass(frozen=True)
class StackContext:
    """What every component needs to know about the stack it is part of."""

    project: str
    stack: str
    config: StackConfig
    provided_secrets: Mapping[str, Any] = field(default_factory=dict)  # name -> secret Output[str]

    @property
    def labels(self) -> dict[str, str]:
        """The project's labels/tags: valid as Kubernetes labels, GCP labels and AWS tags."""
        return {
            "app": PROJECT,
            "environment": self.config.environment,
            "managed-by": "pulumi",
            "stack": re.sub(r"[^a-z0-9_-]", "-", self.stack.lower())[:63],
            **self.config.tags,
        }

    @property
    def protect_stateful(self) -> bool:
        """Stateful resources of production stacks get `protect=True`."""
        return self.config.is_production

    @property
    def prefix(self) -> str:
        """The start of every physical cloud name: `namePrefix`, or `aia-<stack>` when the stack name
        is clean and fits 16 characters, else hash-shortened (components/naming.py)."""
        return self.config.name_prefix or naming.stack_prefix(self.project, self.stack, PROJECT)

    @property
    def stack_token(self) -> str:
        """The full stack name as a name part (sanitised + hash when it is not clean); for names that
        carry the stack beside another identity, such as `<gcp project>-<stack>-backups`."""
        return naming.stack_token(self.project, self.stack, PROJECT)

    @property
    def naming_notice(self) -> Optional[str]:
        """A warning when the prefix differs from the one the old scheme gave and nothing pins it."""
        return naming.rename_notice(self.project, self.stack, PROJECT, self.config.name_prefix)
