"""Run AWS components alone under mocks, with the explicit providers the ECS platform creates,
and record which provider every resource was registered with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pulumi
import pulumi_aws as aws

from components.config import PROJECT, StackContext
from tests.helpers import make_context
from tools.harness import Capture, Registration, run_mocked

STACK = "prod-aws"
ACCOUNT = "123456789012"


@dataclass
class Providers:
    primary: aws.Provider
    us_east_1: aws.Provider
    secondary: Optional[aws.Provider]


@dataclass
class AwsRun:
    capture: Capture
    result: Any

    @property
    def resources(self) -> list[Registration]:
        return self.capture.resources

    def of_type(self, type_token: str) -> list[Registration]:
        return self.capture.of_type(type_token)

    def one(self, type_token: str, name: Optional[str] = None) -> Registration:
        return self.capture.one(type_token, name)

    def named(self, name: str) -> Registration:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"{name}: {[r.name for r in self.resources]}"
        return found[0]

    def provider_name(self, reg: Registration) -> str:
        """'aws-primary' / 'aws-us-east-1' / 'aws-secondary' / '' (default provider)."""
        ref = reg.provider
        return ref.rsplit("::", 1)[0].rsplit("::", 1)[-1] if ref else ""


def run_aws(
    build: Callable[[StackContext, Providers], Any],
    overrides: Optional[dict[str, Any]] = None,
    stack: str = STACK,
) -> AwsRun:
    """Build `build(context, providers)` alone under mocks; the component gets the primary provider
    through `providers=` like in components/platforms/ecs.py."""
    holder: dict[str, Any] = {}

    def program() -> None:
        context = make_context(stack, overrides)
        cfg = context.config
        providers = Providers(
            primary=aws.Provider("aws-primary", region=cfg.regions.primary),
            us_east_1=aws.Provider("aws-us-east-1", region="us-east-1"),
            secondary=aws.Provider("aws-secondary", region=cfg.regions.secondary) if cfg.regions.secondary else None,
        )
        holder["result"] = build(context, providers)

    capture = run_mocked(program, project=PROJECT, stack=stack)
    return AwsRun(capture=capture, result=holder.get("result"))


def on_primary(providers: Providers) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(providers={"aws": providers.primary})


def policy(reg: Registration, key: str = "policy") -> dict:
    return json.loads(reg.inputs[key])


def assert_explicit_providers(run: AwsRun) -> None:
    """No AWS resource may fall back to the ambient default provider (its region would come from
    `aws:region`, not from regions.primary)."""
    for reg in run.resources:
        if reg.custom and reg.type.startswith("aws:"):
            assert run.provider_name(reg) in ("aws-primary", "aws-us-east-1", "aws-secondary"), reg.urn
