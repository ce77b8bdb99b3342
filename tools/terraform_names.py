"""Pulumi property names and shapes -> Terraform attribute names and shapes, read from the pinned SDKs.

A bridged provider's Python SDK knows, for every resource and nested type, each property's Python
name, its Pulumi (camelCase) name and its type annotation. Both names come from the Terraform name:
the Python name is the Terraform name, except where the bridge renamed it:

- list blocks and list attributes with a singular Terraform name are pluralised
  (`aws_lb_listener.default_action` -> `default_actions`, `google_storage_bucket.lifecycle_rule` ->
  `lifecycle_rules`); names Terraform already writes in the plural keep it (`containers`);
- a handful of fields are renamed by hand in the provider (`aws_cloudwatch_metric_alarm.alarm_name`
  -> `name`), and digits that stand alone in the Terraform name are glued to the word before
  (`layer_7_ddos_defense_config` -> `layer7_ddos_defense_config`).

Shapes: Terraform writes every nested block as a list of objects; Pulumi flattens blocks that hold
at most one element into a single object, which this module wraps back into a one-element list.
A property's annotation tells an object type (`...Args`), a list and a map (`tags`, `labels`)
apart, so a map is never mistaken for a block.

The exceptions below are the ones the shipped stacks meet (checked against the Terraform
providers' documented arguments); `tests/scan/test_terraform_plan.py` pins them.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from dataclasses import dataclass
from typing import Any, Optional

import pulumi._types as pulumi_types

#: Terraform attribute path (dot-separated, in Terraform names) -> Pulumi's Python name, for the
#: fields the bridge renamed by hand or whose digits it glued (not derivable from the SDK).
RENAMED: dict[str, dict[str, str]] = {
    "aws_cloudwatch_metric_alarm": {"alarm_name": "name"},
    "aws_sns_topic_subscription": {"topic_arn": "topic"},
    "google_compute_security_policy": {
        "adaptive_protection_config.layer_7_ddos_defense_config": "layer7_ddos_defense_config",
    },
    "google_cloud_run_v2_service": {"template.containers.command": "commands"},
    "google_cloud_run_v2_worker_pool": {"template.containers.command": "commands"},
    "google_cloud_run_v2_job": {"template.template.containers.command": "commands"},
    "google_storage_bucket": {
        "lifecycle_rule.condition.matches_prefix": "matches_prefixes",
        "lifecycle_rule.condition.matches_suffix": "matches_suffixes",
        "lifecycle_rule.condition.matches_storage_class": "matches_storage_classes",
    },
}

#: Lists of at most one scalar that the bridge flattened to the scalar (path in Terraform names):
#: Terraform writes them as a one-element list.
FLATTENED_SCALAR_LISTS: dict[str, frozenset[str]] = {
    "google_compute_resource_policy": frozenset({"snapshot_schedule_policy.snapshot_properties.storage_locations"}),
}

#: List properties whose Terraform name is itself plural, so the bridge kept it (path in Terraform
#: names). Every other list of objects is a block with a singular Terraform name.
PLURAL_IN_TERRAFORM: dict[str, frozenset[str]] = {
    "aws_service_discovery_service": frozenset({"dns_config.dns_records"}),
    "google_cloud_run_v2_service": frozenset({
        "template.containers", "template.volumes", "template.containers.volume_mounts",
        "template.vpc_access.network_interfaces", "template.containers.ports",
    }),
    "google_cloud_run_v2_worker_pool": frozenset({
        "template.containers", "template.volumes", "template.containers.volume_mounts",
        "template.vpc_access.network_interfaces",
    }),
    "google_container_cluster": frozenset({"master_authorized_networks_config.cidr_blocks"}),
    "google_container_node_pool": frozenset(),
    "google_logging_metric": frozenset({"metric_descriptor.labels"}),
    "google_monitoring_alert_policy": frozenset({"conditions", "conditions.condition_threshold.aggregations",
                                                 "conditions.condition_absent.aggregations"}),
    "google_sql_database_instance": frozenset({"settings.database_flags"}),
}

_INVERTED = {tf: {py: path.rsplit(".", 1)[-1] for path, py in renames.items()} for tf, renames in RENAMED.items()}


def singular(word: str) -> str:
    """English singular of the last word of a snake_case name, as the bridge's inflector would
    have pluralised it (`policies` -> `policy`, `aliases` -> `alias`, `rules` -> `rule`)."""
    head, _, last = word.rpartition("_")
    if last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif re.search(r"(alias|status|address|ss|x|ch|sh)es$", last):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith("ss"):
        last = last[:-1]
    return f"{head}_{last}" if head else last


@dataclass(frozen=True)
class Field:
    """One property of an SDK input type: its Python name, its kind and (for objects) its type."""

    python_name: str
    kind: str  # "scalar" | "list" | "map" | "object" | "object_list"
    nested: Optional[type] = None


def args_class(token: str) -> Optional[type]:
    """The SDK's `<Resource>Args` class of a type token (`aws:ec2/vpc:Vpc` -> pulumi_aws.ec2.VpcArgs)."""
    package, module_path, name = token.split(":")
    module = module_path.split("/")[0]
    try:
        sdk = importlib.import_module(f"pulumi_{package}.{module}" if module != "index" else f"pulumi_{package}")
    except ImportError:
        return None
    resource = getattr(sdk, name, None)
    if resource is None:
        return None
    # the resource's own module; where a nested type in `_inputs` already has the name `<Name>Args`
    # (pulumi_aws.s3: the inline block of a Bucket), the SDK calls the resource's `<Name>InitArgs`
    module = sys.modules[resource.__module__]
    for candidate in (f"{name}InitArgs", f"{name}Args"):
        found = getattr(module, candidate, None)
        if found is not None and found.__module__ == module.__name__:
            return found
    return None


def _resolve(name: str, owner: type) -> Optional[type]:
    """A nested input type named in an annotation: it lives in the SDK module's `_inputs`."""
    package = owner.__module__.rsplit(".", 1)[0] if owner.__module__.count(".") > 1 else owner.__module__
    inputs = sys.modules.get(f"{package}._inputs")
    found = getattr(inputs, name, None) if inputs is not None else None
    return found if found is not None else getattr(sys.modules[owner.__module__], name, None)


def _field(python_name: str, annotation: Any, owner: type) -> Field:
    text = str(annotation)
    found = re.search(r"ForwardRef\('(\w+Args)'\)", text)
    # the outermost container decides: Union[Sequence[...]] / Union[Mapping[...]] / Union[ForwardRef(...)]
    outer = re.match(r"typing\.Union\[(typing\.Sequence|typing\.Mapping|ForwardRef)", text)
    kind = outer.group(1) if outer else ""
    if kind == "typing.Sequence":
        nested = _resolve(found.group(1), owner) if found else None
        return Field(python_name, "object_list" if nested else "list", nested)
    if kind == "typing.Mapping":
        return Field(python_name, "map")
    if kind == "ForwardRef" and found:
        nested = _resolve(found.group(1), owner)
        if nested is not None:
            return Field(python_name, "object", nested)
    return Field(python_name, "scalar")


@functools.lru_cache(maxsize=None)
def fields(cls: type) -> dict[str, Field]:
    """Pulumi (camelCase) property name -> Field, for an SDK input type."""
    result: dict[str, Field] = {}
    for python_name, pulumi_name in pulumi_types.input_type_py_to_pulumi_names(cls).items():
        prop = getattr(cls, python_name, None)
        annotation = getattr(getattr(prop, "fget", None), "__annotations__", {}).get("return")
        result[pulumi_name] = _field(python_name, annotation, cls)
    return result


def flattened_scalar_list(tf_type: str, path: str) -> bool:
    return path in FLATTENED_SCALAR_LISTS.get(tf_type, ())


def snake(name: str) -> str:
    """camelCase -> snake_case, for properties the SDK does not declare."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def terraform_name(tf_type: str, parent_path: str, field: Field) -> str:
    """The Terraform attribute name of `field` found under `parent_path` of a `tf_type` resource."""
    renamed = _INVERTED.get(tf_type, {}).get(field.python_name)
    if renamed is not None:
        candidate = f"{parent_path}.{renamed}" if parent_path else renamed
        if RENAMED[tf_type].get(candidate) == field.python_name:
            return renamed
    if field.kind == "object_list":
        path = f"{parent_path}.{field.python_name}" if parent_path else field.python_name
        if path in PLURAL_IN_TERRAFORM.get(tf_type, ()):
            return field.python_name
        return singular(field.python_name)
    return field.python_name
