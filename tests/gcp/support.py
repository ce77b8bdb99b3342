"""Helpers for the GCP component tests: build one component under mocks with its inputs stubbed."""

from __future__ import annotations

from typing import Any, Callable, Optional

import pulumi
import pulumi_gcp as gcp

from tests.helpers import dig, make_context
from tools.harness import Capture, Registration, run_mocked

PROJECT = "test-project"


def run_gcp(build: Callable[[Any], Any], stack: str = "prod", overrides: Optional[dict] = None) -> Capture:
    """Run `build(context)` alone under mocks with a context from the shipped stack file."""
    return run_mocked(lambda: build(make_context(stack, overrides)), project="ai-assistant-platform", stack=stack)


def stub_psa() -> gcp.servicenetworking.Connection:
    """A Private Service Access connection standing in for the network component."""
    return gcp.servicenetworking.Connection(
        "stub-psa",
        gcp.servicenetworking.ConnectionArgs(
            network="projects/test-project/global/networks/vpc",
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=["psa"],
        ),
    )


def by_name(capture: Capture, name: str) -> Registration:
    found = [r for r in capture.resources if r.name == name]
    assert len(found) == 1, f"expected one resource named {name}, found {[r.name for r in capture.resources]}"
    return found[0]


def inputs(capture: Capture, type_token: str, name: Optional[str] = None) -> dict:
    return capture.one(type_token, name).inputs


__all__ = ["PROJECT", "run_gcp", "stub_psa", "by_name", "inputs", "dig", "pulumi"]
