"""The whole stack schema: `StackConfig` and the sections without a module of their own (secrets, regions)."""

from __future__ import annotations

import re
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

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
