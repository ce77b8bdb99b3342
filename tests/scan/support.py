"""The scan venv's Checkov for the tests, and small plan documents built from shipped stacks."""

from __future__ import annotations

import copy
import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.helpers import plan_of
from tools.terraform_plan import TerraformPlan, convert
from tools.scan import DEFAULT_CHECKOV

SCAN_PYTHON = DEFAULT_CHECKOV.parent / "python"


def checkov() -> Path:
    """./venv-scan/bin/checkov; without it the test skips locally and fails in CI (`make venv-scan`)."""
    if not DEFAULT_CHECKOV.exists():
        message = f"{DEFAULT_CHECKOV} is missing: run `make venv-scan`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return DEFAULT_CHECKOV


@functools.lru_cache(maxsize=None)
def terraform_plan_of(stack: str) -> TerraformPlan:
    return convert(plan_of(stack).capture.resources)


def planned(stack: str) -> list[dict[str, Any]]:
    return terraform_plan_of(stack).document["planned_values"]["root_module"]["resources"]


def configuration(stack: str, address: str) -> dict[str, Any]:
    resources = terraform_plan_of(stack).document["configuration"]["root_module"]["resources"]
    return next(r for r in resources if r["address"] == address)


def pair(stack: str, address: str, rename: str | None = None,
         mutate: Callable[[dict[str, Any]], None] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(planned, configuration) of `address` in `stack`, optionally copied under a new name and changed."""
    resource = copy.deepcopy(next(r for r in planned(stack) if r["address"] == address))
    config = copy.deepcopy(configuration(stack, address))
    resource["after_unknown"] = {}
    if rename:
        for item in (resource, config):
            item["name"] = rename
            item["address"] = f"{item['type']}.{rename}"
    if mutate:
        mutate(resource["values"])
    return resource, config


def checkov_types() -> set[str]:
    """Every Terraform resource type the pinned Checkov knows (its resource-type registry)."""
    script = (
        "import json; from checkov.common.checks_infra.resources_types import resources_types as t; "
        "print(json.dumps(sorted({x for v in t.values() for x in v})))"
    )
    done = subprocess.run([str(SCAN_PYTHON), "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))
