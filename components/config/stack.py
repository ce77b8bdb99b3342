"""The whole stack schema: `StackConfig` and the sections without a module of their own (secrets, regions)."""

from __future__ import annotations

import re
from typing import Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from components import naming
from components.config.base import (
    _DOMAIN_RE,
    _LABEL_RE,
    _LABEL_VALUE_RE,
    _SECRET_NAME_RE,
    ENVIRONMENTS,
    PLATFORMS,
    _Model,
)
from components.config.data import DataConfig
from components.config.dr import DrConfig
from components.config.edge import EdgeConfig
from components.config.monitoring import MonitoringConfig
from components.config.services import RouteConfig, ServiceConfig
from components.platforms.aws_settings import AwsConfig
from components.platforms.gcp_settings import GcpConfig
from components.platforms.gke_settings import GkeConfig
from components.platforms.kubernetes_settings import KubernetesConfig


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
        "regional data service (Cloud SQL, Memorystore, the RabbitMQ disk, RDS, ...) and its data, except on "
        "GCP where a pinned placement key holds it (gcp.cloudSql, gcp.redisRegion, gcp.rabbitmqZone, "
        "gke.region; production stacks pin them all, so the failover runbook can swap the regions)"
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


class StackConfig(_Model):
    """The whole validated configuration of one stack."""

    platform: Literal[PLATFORMS] = Field(
        description="picks the app layer and with it every cloud resource: kubernetes (an existing cluster), "
        "gke (a GKE cluster the program creates), cloudrun (Cloud Run) or ecs (ECS Fargate); see the platform matrix"
    )
    environment: Literal[ENVIRONMENTS] = Field(
        description="picks the seed defaults (sizes, replicas, tiers, policy enforcement); prod also protects "
        "data (`protect`, deletion protection, final snapshots) and runs web services on at least 2 replicas"
    )
    regions: RegionsConfig = Field(description="cloud regions of the stack: the primary and an optional DR region")
    domain: str = Field(
        description="DNS domain you control; public hosts are `<route.subdomain>.<domain>` and get managed "
        "certificates for them"
    )
    settings: dict[str, str] = Field(default_factory=dict, description="plain, non-secret app settings every service gets as environment variables (a ConfigMap on Kubernetes); secrets go under `secrets`")
    secrets: SecretsConfig = Field(default=SecretsConfig(), description="Application secrets, by environment variable name.")
    services: dict[str, ServiceConfig]
    data: DataConfig = Field(description="the data services (PostgreSQL, Redis, MongoDB, RabbitMQ, the vector database), each enabled and sized per stack")
    edge: EdgeConfig = Field(default=EdgeConfig(), description="the public edge: CDN, WAF, rate limits, timeouts, TLS headers")
    monitoring: MonitoringConfig = Field(
        default=MonitoringConfig(), description="alerts, dashboards, notification targets and budgets (seeds 000-002)"
    )
    dr: DrConfig = Field(default=DrConfig(), description="disaster recovery: RPO/RTO, backups and their retention, failover checks")
    tags: dict[str, str] = Field(default_factory=dict, description="extra labels/tags on every resource, beside app, environment and managed-by (GCP label rules: lowercase)")
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

    @field_validator("services", mode="before")
    @classmethod
    def _service_names(cls, v: Any) -> Any:
        # before the services themselves: the rule is shown even when a badly named service has
        # other problems (they are reported under its new name)
        if not isinstance(v, dict):
            return v
        bad = [name for name in v if not isinstance(name, str) or not re.match(r"^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$", name)]
        if bad:
            raise ValueError(
                f"service name(s) {', '.join(map(repr, bad))}: a service name is a DNS label of at most 20 "
                "characters (lowercase letters, digits and '-', starting with a letter, not ending with '-'), "
                "because the Kubernetes objects, Cloud Run and ECS services, target groups and service "
                "accounts are named after it, behind the stack prefix, within their clouds' length limits"
            )
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
