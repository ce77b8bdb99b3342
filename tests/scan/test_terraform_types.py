"""The Pulumi token -> Terraform type table covers every stack and names types Checkov knows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pulumi_aws
import pulumi_gcp

from tests.helpers import plan_of
from tests.scan.support import checkov, checkov_types
from tools.plan import available_stacks
from tools.terraform_names import args_class
from tools.terraform_types import NEWER_THAN_CHECKOV, PROVIDERS, TERRAFORM_TYPES, WITHOUT_CHECKOV_CHECKS


def _sdk_tokens(package) -> set[str]:
    """Every resource token the pinned SDK registers (its `_utilities.register` table)."""
    text = (Path(package.__file__).parent / "__init__.py").read_text()
    return set(re.findall(r'"((?:aws|gcp):[\w/]+:\w+)": "\w+"', text))


def test_every_cloud_type_any_stack_registers_is_in_the_table():
    used = {
        r.type
        for stack in available_stacks()
        for r in plan_of(stack).capture.resources
        if r.custom and r.type.split(":")[0] in PROVIDERS
    }
    missing = sorted(used - set(TERRAFORM_TYPES))
    assert not missing, f"add these tokens to tools/terraform_types.py: {missing}"


def test_every_token_in_the_table_is_a_resource_of_the_pinned_sdks():
    known = _sdk_tokens(pulumi_aws) | _sdk_tokens(pulumi_gcp)
    assert not sorted(set(TERRAFORM_TYPES) - known)
    assert not [t for t in TERRAFORM_TYPES if args_class(t) is None]


def test_every_terraform_type_is_one_checkov_knows():
    checkov()
    known = checkov_types()
    assert len(known) > 1000  # the registry really was read
    unknown = sorted(f"{token} -> {tf}" for token, tf in TERRAFORM_TYPES.items()
                     if tf not in known and tf not in NEWER_THAN_CHECKOV | WITHOUT_CHECKOV_CHECKS)
    assert not unknown, f"Checkov has no such Terraform type: {unknown}"
    # the exception list stays exact: once Checkov learns a type, it leaves the list
    assert not sorted((NEWER_THAN_CHECKOV | WITHOUT_CHECKOV_CHECKS) & known)
    assert NEWER_THAN_CHECKOV | WITHOUT_CHECKOV_CHECKS <= set(TERRAFORM_TYPES.values())


def test_terraform_types_follow_the_provider_prefix_and_are_unique():
    for token, tf_type in TERRAFORM_TYPES.items():
        prefix = {"aws": "aws_", "gcp": "google_"}[token.split(":")[0]]
        assert tf_type.startswith(prefix) and re.fullmatch(r"[a-z0-9_]+", tf_type), token
    assert len(set(TERRAFORM_TYPES.values())) == len(TERRAFORM_TYPES)


def test_the_issue_examples():
    assert TERRAFORM_TYPES["gcp:cloudrunv2/service:Service"] == "google_cloud_run_v2_service"
    assert TERRAFORM_TYPES["aws:rds/instance:Instance"] == "aws_db_instance"
    assert TERRAFORM_TYPES["aws:lb/loadBalancer:LoadBalancer"] == "aws_lb"
    json.dumps(TERRAFORM_TYPES)
