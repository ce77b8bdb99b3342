"""The offline plan as Terraform plan JSON: names, shapes, secrets and references as Terraform writes them."""

from __future__ import annotations

import json

import pytest

from tests.helpers import plan_of
from tests.scan.support import configuration, planned, terraform_plan_of
from tools.harness import SECRET_PLACEHOLDER
from tools.plan import available_stacks
from tools.terraform_names import args_class, fields, singular
from tools.terraform_plan import _references, main, manifest_id
from tools.terraform_types import PROVIDERS, TERRAFORM_TYPES

CLOUD_STACKS = [s for s in available_stacks() if s != "dev"]


def _one(stack: str, tf_type: str, name_part: str = "") -> dict:
    found = [r for r in planned(stack) if r["type"] == tf_type and name_part in r["name"]]
    assert found, f"{stack} has no {tf_type} named *{name_part}*"
    return found[0]


def _undeclared(value: dict, cls: type, path: str) -> list[str]:
    declared = fields(cls)
    missing = []
    for key, item in value.items():
        spec = declared.get(key)
        if spec is None:
            missing.append(f"{path}{key}")
        elif spec.nested is not None:
            for element in item if isinstance(item, list) else [item]:
                if isinstance(element, dict):
                    missing += _undeclared(element, spec.nested, f"{path}{key}.")
    return missing


@pytest.mark.parametrize("stack", available_stacks())
def test_every_cloud_resource_is_in_the_document_once_with_declared_properties(stack):
    registrations = [r for r in plan_of(stack).capture.resources if r.custom and r.type.split(":")[0] in PROVIDERS]
    document = terraform_plan_of(stack).document
    resources = document["planned_values"]["root_module"]["resources"]
    assert len(resources) == len(registrations)
    addresses = [r["address"] for r in resources]
    assert len(set(addresses)) == len(addresses)
    assert [c["address"] for c in document["resource_changes"]] == addresses
    assert [c["address"] for c in document["configuration"]["root_module"]["resources"]] == addresses
    assert document["format_version"] and document["terraform_version"]
    for resource, change in zip(resources, document["resource_changes"]):
        assert resource["mode"] == "managed" and resource["address"] == f"{resource['type']}.{resource['name']}"
        assert resource["provider_name"].startswith("registry.terraform.io/hashicorp/")
        assert change["change"]["actions"] == ["create"] and change["change"]["after"] == resource["values"]
    # the SDK's own type information names every property the stack sets: nothing is guessed
    undeclared = [f"{r.type}: {p}" for r in registrations for p in _undeclared(r.inputs, args_class(r.type), "")]
    assert not undeclared


def test_list_blocks_take_terraform_singular_names_and_plural_terraform_names_stay():
    listener = _one("prod-aws", "aws_lb_listener", "http")["values"]
    assert listener["default_action"][0]["type"] == "redirect" and "default_actions" not in listener
    assert listener["default_action"][0]["redirect"][0]["protocol"] == "HTTPS"  # max-1 block -> list of one
    bucket = _one("prod", "google_storage_bucket")["values"]
    assert "lifecycle_rule" in bucket and "lifecycle_rules" not in bucket
    assert isinstance(bucket["lifecycle_rule"][0]["condition"], list)
    service = _one("prod", "google_cloud_run_v2_service")["values"]
    assert isinstance(service["template"], list) and "containers" in service["template"][0]
    assert isinstance(service["template"][0]["containers"][0]["env"], list)  # Pulumi `envs`
    assert _one("prod", "google_compute_firewall")["values"].keys() & {"allow", "deny"}
    alarm = _one("prod-aws", "aws_cloudwatch_metric_alarm")["values"]
    assert "alarm_name" in alarm and "name" not in alarm  # renamed by hand in the bridge


def test_maps_stay_maps():
    for stack, tf_type, key in (("prod-aws", "aws_lb", "tags"), ("prod", "google_storage_bucket", "labels")):
        value = _one(stack, tf_type)["values"][key]
        assert isinstance(value, dict) and "environment" in value


def test_singular_follows_the_bridge_inflector():
    assert [singular(w) for w in ("rules", "policies", "aliases", "failover_routing_policies", "addresses", "envs")] \
        == ["rule", "policy", "alias", "failover_routing_policy", "address", "env"]


@pytest.mark.parametrize("stack", available_stacks())
def test_secrets_stay_redacted_placeholders(stack):
    text = json.dumps(terraform_plan_of(stack).document) + json.dumps(terraform_plan_of(stack).manifests)
    assert "mock-random-" not in text and "offline-plan-placeholder" not in text
    if stack == "prod-aws":
        version = _one(stack, "aws_secretsmanager_secret_version")["values"]
        assert version["secret_string"] == SECRET_PLACEHOLDER


def test_references_link_resources_and_leave_computed_outputs_unknown():
    block = next(r for r in planned("prod-aws") if r["type"] == "aws_s3_bucket_public_access_block")
    config = configuration("prod-aws", block["address"])
    references = config["expressions"]["bucket"]["references"]
    assert references[1].startswith("aws_s3_bucket.") and references[0] == references[1] + ".id"
    assert "bucket" not in block["values"]
    change = next(c for c in terraform_plan_of("prod-aws").document["resource_changes"] if c["address"] == block["address"])
    assert change["change"]["after_unknown"]["bucket"] is True
    # every reference names a resource of the document
    addresses = {r["address"] for r in planned("prod-aws")}
    for item in terraform_plan_of("prod-aws").document["configuration"]["root_module"]["resources"]:
        for expression in item["expressions"].values():
            assert all(ref in addresses or ref.rsplit(".", 1)[0] in addresses for ref in _references(expression))
    # a reference inside a block is written inside the block, as Terraform does
    cdn = next(r for r in planned("prod-aws") if r["type"] == "aws_cloudfront_distribution")
    nested = configuration("prod-aws", cdn["address"])["expressions"]["logging_config"]
    assert isinstance(nested, list) and nested[0]["bucket"]["references"][1].startswith("aws_s3_bucket.")


def test_a_known_name_of_a_dependency_is_a_reference_and_keeps_its_value():
    # the RDS instance names its parameter group: graph checks (CKV2_AWS_30) must see the link,
    # and Terraform plans the argument with its known value
    for stack in ("prod-aws", "staging-aws"):
        instance = _one(stack, "aws_db_instance")
        group = _one(stack, "aws_db_parameter_group")
        expression = configuration(stack, instance["address"])["expressions"]["parameter_group_name"]
        assert expression["references"] == [group["address"] + ".name", group["address"]]
        assert instance["values"]["parameter_group_name"] == group["values"]["name"]


def test_kubernetes_objects_become_manifests():
    manifests = terraform_plan_of("dev").manifests
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "Service", "NetworkPolicy"} <= kinds
    assert len({manifest_id(m) for m in manifests}) == len(manifests)
    assert not terraform_plan_of("dev").document["planned_values"]["root_module"]["resources"]


def test_cli_writes_the_document(tmp_path, capsys):
    assert main(["--stack", "prod", "--out", str(tmp_path / "plan.json"), "--k8s-dir", str(tmp_path / "k8s")]) == 0
    document = json.loads((tmp_path / "plan.json").read_text())
    assert {r["type"] for r in document["planned_values"]["root_module"]["resources"]} <= set(TERRAFORM_TYPES.values())
    assert main(["--stack", "nope"]) == 2
