"""A service's release strategy (`services.<name>.release`): rolling, canary or blue/green, and the
triggers of an automatic rollback.

Seed 001: canary at 10 % then 25 %, 50 %, 100 % with 30 minutes of monitoring per step, automated
failure detection and rollback. Seed 002: roll back when health checks fail 3+ times in a row, the
error rate is above 5 % for 5+ minutes, or p95 latency is above 5 s for 10+ minutes. Each platform
turns this into its own objects (Argo Rollouts, ECS deployment strategies, Cloud Run revisions).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from components.config.base import _Model

RELEASE_STRATEGIES = ("rolling", "canary", "blueGreen")


class RollbackConfig(_Model):
    """Seed 002 triggers of an automatic rollback; any one of them aborts the release."""

    automatic: bool = Field(
        default=True, description="roll back by itself when a trigger holds; false: stop and wait for a person"
    )
    consecutive_health_failures: int = Field(
        default=3, ge=1, le=10, description="failed health checks in a row of the new version (seed 002: 3)"
    )
    error_rate_percent: float = Field(
        default=5.0, gt=0, le=100, description="5xx share of the new version's responses (seed 002: 5 %)"
    )
    error_rate_minutes: int = Field(
        default=5, ge=1, le=60, description="for at least this long (seed 002: 5 min)"
    )
    latency_p95_seconds: float = Field(
        default=5.0, gt=0, le=600, description="p95 response time of the new version (seed 002: 5 s)"
    )
    latency_minutes: int = Field(
        default=10, ge=1, le=60, description="for at least this long (seed 002: 10 min)"
    )


class ReleaseConfig(_Model):
    """How a new image or setting reaches users."""

    strategy: Literal[RELEASE_STRATEGIES] = Field(
        default="rolling",
        description="rolling (replace instances in place), canary (shift traffic in `canarySteps`) or "
        "blueGreen (start the new version beside the old, switch all traffic at once); default: canary for "
        "web services in staging and prod, rolling elsewhere; a worker takes no traffic and is always rolling",
    )
    canary_steps: tuple[int, ...] = Field(
        default=(10, 25, 50, 100),
        description="traffic percentages of a canary, increasing, ending at 100 (seed 001: 10/25/50/100)",
    )
    step_minutes: int = Field(
        default=30,
        ge=1,
        le=1440,
        description="monitoring time per canary step, and the blue/green bake time before the old version "
        "goes away (seed 001: 30 min in prod; staging 5 min)",
    )
    rollback: RollbackConfig = RollbackConfig()

    @field_validator("canary_steps")
    @classmethod
    def _steps_increase_to_100(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(not 1 <= step <= 100 for step in v) or list(v) != sorted(set(v)) or v[-1] != 100:
            raise ValueError("must be increasing percentages from 1 to 100 that end at 100, such as [10, 25, 50, 100]")
        return v


# Per-environment defaults by service kind, in stack-file shape (merged under each service).
RELEASE_DEFAULTS: dict[str, dict[str, dict]] = {
    "dev": {"web": {"strategy": "rolling"}, "worker": {"strategy": "rolling"}},
    "staging": {"web": {"strategy": "canary", "stepMinutes": 5}, "worker": {"strategy": "rolling"}},
    "prod": {"web": {"strategy": "canary", "stepMinutes": 30}, "worker": {"strategy": "rolling"}},
}
