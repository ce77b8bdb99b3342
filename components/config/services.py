"""The `services` section: one application service each (web or worker) and its public route."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from components.config.base import (
    _HOST_LABEL_RE,
    _IMAGE_RE,
    _SECRET_NAME_RE,
    _SECRETISH_RE,
    DataServiceName,
    MebiBytes,
    Millicores,
    _Model,
)
from components.config.release import ReleaseConfig


class RouteConfig(_Model):
    """Where a web service is reachable from the internet: `<subdomain>.<domain><path>`."""

    subdomain: str = Field(description="host label under `domain`; '@' for the apex")
    paths: tuple[str, ...] = Field(
        default=("/",), description="URL path prefixes of the host routed to the service; default `/`: the whole host"
    )

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

    enabled: bool = Field(
        default=True, description="false leaves the service out of the stack (a seed service this stack does not run)"
    )
    kind: Literal["web", "worker"] = Field(
        default="web",
        description="`web` serves HTTP on `port`; `worker` consumes the queue and has no port or route (seed 003)",
    )
    image: str = Field(description="container image pinned by tag (not 'latest') or digest")
    port: Optional[int] = Field(default=None, ge=1, le=65535, description="container port; none for workers")
    health_path: Optional[str] = Field(default="/health", description="liveness/startup HTTP path (seed 000: frontend `/api/health`, API and MCP `/health`)")
    readiness_path: Optional[str] = Field(default=None, description="readiness HTTP path; default healthPath")
    command: tuple[str, ...] = Field(
        default=(), description="entrypoint override; empty: the image's own (a worker needs one: what consumes the queue)"
    )
    args: tuple[str, ...] = Field(default=(), description="arguments to the command; empty: the image's own")
    health_command: tuple[str, ...] = Field(
        default=(), description="exec liveness check for services without HTTP (workers)"
    )
    cpu: Millicores = Field(description="guaranteed vCPU: Kubernetes request, Cloud Run/ECS size (seed 000: prod frontend 2, API 4; seed 003 worker 100m)")
    memory: MebiBytes = Field(description="guaranteed memory: Kubernetes request, Cloud Run/ECS size (seed 000: prod frontend 4Gi, API 8Gi; seed 003 worker 256Mi)")
    cpu_limit: Optional[Millicores] = Field(default=None, description="Kubernetes limit; default 2x cpu")
    memory_limit: Optional[MebiBytes] = Field(default=None, description="Kubernetes limit; default 2x memory")
    min_replicas: int = Field(ge=0, le=100, description="fewest instances: HPA / Cloud Run / ECS minimum (seed 000: 2 in prod, the least a prod web service "
        "on a cloud platform may run)")
    max_replicas: int = Field(ge=1, le=1000, description="most instances the autoscaler may run: HPA / Cloud Run / ECS maximum (seed 000: prod frontend 10, API 5)")
    concurrency: int = Field(default=80, ge=1, le=1000, description="concurrent requests one Cloud Run instance takes before another starts (Cloud Run's default 80)")
    route: Optional[RouteConfig] = Field(default=None, description="public route (`<subdomain>.<domain><paths>`); none: internal only")
    uses: tuple[DataServiceName, ...] = Field(default=(), description="data services it connects to; each adds its connection variables (`DATABASE_URL`, `REDIS_URL`, ...) from secrets and opens the network path")
    calls: tuple[str, ...] = Field(
        default=(),
        description="internal web services it calls (e.g. [mcp]); cloudrun: only these callers get "
        "`<NAME>_ENDPOINT` and `roles/run.invoker` on the callee",
    )
    secrets: tuple[str, ...] = Field(default=(), description="app secrets it reads as environment variables (names declared in `secrets`)")
    env: dict[str, str] = Field(default_factory=dict, description="plain, non-secret environment variables; names that look secret (`*_TOKEN`, `*_URL`, ...) are refused")
    release: ReleaseConfig = Field(default=ReleaseConfig(), description="release strategy and rollback triggers")

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
            if self.release.strategy != "rolling":
                raise ValueError(
                    f"release.strategy {self.release.strategy!r}: a worker takes no traffic to shift; "
                    "workers are released rolling"
                )
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

    @property
    def shifts_traffic(self) -> bool:
        """A routed web service whose release is not rolling: the platform's release (an ECS
        deployment, the Cloud Run release loop, an Argo Rollout) moves its traffic, not Pulumi."""
        return self.kind == "web" and self.route is not None and self.release.strategy != "rolling"
