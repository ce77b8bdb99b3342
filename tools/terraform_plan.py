"""The offline plan as a Terraform plan JSON document, for IaC scanners (Checkov's `terraform_plan`).

    python -m tools.terraform_plan --stack prod                  # the document on stdout
    python -m tools.terraform_plan --stack prod --out plan.json --k8s-dir manifests/

Bridged Pulumi providers map 1:1 to Terraform resources, so every GCP and AWS resource of the
offline plan (`tools.plan.run_plan`) becomes the resource Terraform would plan to create:

- `planned_values.root_module.resources[]`: address `<type>.<name>`, mode `managed`, the Terraform
  type (`tools.terraform_types`), `provider_name`, and `values` with Terraform's attribute names and
  shapes (`tools.terraform_names`);
- `resource_changes[]`: `change.actions: ["create"]`, `change.after` (the same values) and
  `change.after_unknown` (what only the provider can compute);
- `configuration.root_module.resources[].expressions`: `{"references": [...]}` for each argument that
  takes another resource's computed output (an id, ARN, self link), so graph checks can link, say,
  a bucket to its public access block. As in a real plan those arguments are unknown until apply,
  so they are left out of `values` and listed in `after_unknown`. An argument that carries the
  configured `name` of a resource it depends on (an RDS instance's `parameter_group_name`) is a
  reference too, but a known one: Terraform plans it with its value, so it stays in `values`.

Secrets keep the plan's non-empty placeholder ("[secret]"); values the offline plan cannot know
("[unknown]") are left out and marked unknown. Kubernetes objects are written as YAML manifests
(one file each) for Checkov's `kubernetes` framework; Helm releases are not rendered offline and
are left out. This is a sibling of `tools.plan`, which it calls; it changes nothing there.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi.runtime
import yaml

from tools.harness import SECRET_PLACEHOLDER, Registration
from tools.mocks import PlanMocks
from tools.plan import PlanError, available_stacks, run_plan
from tools.terraform_names import Field, args_class, fields, flattened_scalar_list, snake, terraform_name
from tools.terraform_types import PROVIDERS, terraform_type

UNKNOWN = "[unknown]"
#: The plan JSON format this document follows (Terraform 1.x `terraform show -json`).
FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.0"
#: Outputs every GCP resource shares in the mocks: equal values say nothing about a reference.
_SHARED_OUTPUTS = frozenset({"project", "region", "location", "zone"})


@dataclass
class TerraformPlan:
    """The document, the Kubernetes manifests beside it, and where each address came from."""

    document: dict[str, Any]
    manifests: list[dict[str, Any]] = field(default_factory=list)
    urns: dict[str, str] = field(default_factory=dict)  # Terraform address / k8s id -> Pulumi URN


# --- values ----------------------------------------------------------------------------------


def _convert_object(value: dict[str, Any], cls: Optional[type], tf_type: str, path: str) -> tuple[dict, dict]:
    """(values, after_unknown) of one object in Terraform names and shapes."""
    declared = fields(cls) if cls is not None else {}
    values: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for key, item in value.items():
        spec = declared.get(key) or _guess(key, item)
        name = terraform_name(tf_type, path, spec)
        child_path = f"{path}.{name}" if path else name
        if item == UNKNOWN:
            unknown[name] = True
            continue
        if spec.kind == "object" and isinstance(item, dict):
            inner, inner_unknown = _convert_object(item, spec.nested, tf_type, child_path)
            values[name] = [inner]
            if inner_unknown:
                unknown[name] = [inner_unknown]
        elif spec.kind == "object_list" and isinstance(item, list):
            converted = [_convert_object(v, spec.nested, tf_type, child_path) if isinstance(v, dict) else (v, {}) for v in item]
            values[name] = [v for v, _ in converted]
            if any(u for _, u in converted):
                unknown[name] = [u for _, u in converted]
        elif flattened_scalar_list(tf_type, child_path) and not isinstance(item, list):
            values[name] = [item]
        else:
            values[name] = item
    return values, unknown


def _guess(key: str, item: Any) -> Field:
    """A property the SDK type does not declare (should not happen for real inputs): shape by value."""
    if isinstance(item, list) and item and all(isinstance(v, dict) for v in item):
        return Field(snake(key), "object_list")
    return Field(snake(key), "scalar")


# --- references ------------------------------------------------------------------------------


def _computed_outputs(reg: Registration) -> dict[str, Any]:
    """What the mocks compute for `reg` beyond its inputs (id, ARN, self link, ...): the values
    another resource can only get by referencing it."""
    _, state = PlanMocks().new_resource(pulumi.runtime.MockResourceArgs(reg.type, reg.name, dict(reg.inputs)))
    computed = {k: v for k, v in state.items() if k not in reg.inputs and k not in _SHARED_OUTPUTS}
    computed["id"] = f"{reg.name}-id"
    return computed


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value] if isinstance(value, str) else []


# --- the document ----------------------------------------------------------------------------


def _addresses(resources: list[Registration]) -> dict[str, tuple[str, str]]:
    """URN -> (Terraform type, unique Terraform name) for every GCP/AWS resource, in URN order."""
    taken: set[str] = set()
    result: dict[str, tuple[str, str]] = {}
    for reg in sorted(resources, key=lambda r: r.urn):
        tf_type = terraform_type(reg.type) if reg.custom else None
        if tf_type is None:
            continue
        base = re.sub(r"[^A-Za-z0-9_-]", "_", reg.name)
        base = base if re.match(r"[A-Za-z_]", base) else f"_{base}"
        name, n = base, 2
        while f"{tf_type}.{name}" in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(f"{tf_type}.{name}")
        result[reg.urn] = (tf_type, name)
    return result


def _resource(reg: Registration, tf_type: str, name: str, by_urn: dict, addresses: dict) -> tuple[dict, dict]:
    """(planned resource, configuration resource) of one registration; `after_unknown` rides along
    in the planned resource under "after_unknown" until `assemble` moves it into the change."""
    values, unknown = _convert_object(reg.inputs, args_class(reg.type), tf_type, "")
    # outputs of the resources this one depends on -> the addresses they come from
    produced: dict[str, list[str]] = {}
    for dep in reg.dependencies:
        if dep not in addresses:
            continue
        dep_type, dep_name = addresses[dep]
        for key, output in _computed_outputs(by_urn[dep]).items():
            if isinstance(output, str) and len(output) > 3:
                produced.setdefault(output, []).extend([f"{dep_type}.{dep_name}.{snake(key)}", f"{dep_type}.{dep_name}"])
    # configured names of the dependencies: referenced, but known at plan time
    named: dict[str, list[str]] = {value: list(refs) for value, refs in produced.items()}
    for dep in reg.dependencies:
        dep_name_value = by_urn[dep].inputs.get("name") if dep in addresses else None
        if isinstance(dep_name_value, str) and len(dep_name_value) > 3 and dep_name_value not in produced:
            dep_type, dep_name = addresses[dep]
            named.setdefault(dep_name_value, []).extend([f"{dep_type}.{dep_name}.name", f"{dep_type}.{dep_name}"])
    expressions: dict[str, Any] = {}
    for key in list(values):
        expression = _expression(values[key], named)
        if expression is None:
            continue
        expressions[key] = expression
        flat = values[key] if isinstance(values[key], list) else [values[key]]
        if all(isinstance(v, str) and v in produced for v in flat):
            del values[key]  # only another resource's computed output: unknown until apply, as Terraform plans it
            unknown[key] = True
    _link_unknown(reg, unknown, expressions, addresses)
    provider = PROVIDERS[reg.type.split(":")[0]]
    planned = {
        "address": f"{tf_type}.{name}", "mode": "managed", "type": tf_type, "name": name,
        "provider_name": provider, "schema_version": 0, "values": values, "sensitive_values": {},
        "after_unknown": unknown,
    }
    config = {
        "address": f"{tf_type}.{name}", "mode": "managed", "type": tf_type, "name": name,
        "provider_config_key": provider.rsplit("/", 1)[-1], "expressions": expressions, "schema_version": 0,
    }
    return planned, config


def _expression(value: Any, produced: dict[str, list[str]]) -> Any:
    """The `configuration` expression of an argument, as Terraform writes it: `{"references": [...]}`
    for a value (or a map or list of values) taken from other resources, a list of nested
    expression objects for a block; None when nothing in it is a reference."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        nested = [{k: e for k, v in block.items() if (e := _expression(v, produced)) is not None} for block in value]
        return nested if any(nested) else None
    refs = [ref for leaf in _leaves(value) for ref in produced.get(leaf, [])]
    return {"references": list(dict.fromkeys(refs))} if refs else None


def _references(expression: Any) -> list[str]:
    if isinstance(expression, list):
        return [ref for block in expression for e in block.values() for ref in _references(e)]
    return list(expression.get("references", []))


def _link_unknown(reg: Registration, unknown: dict, expressions: dict, addresses: dict) -> None:
    """An argument the mocks left unknown came from a dependency's output they do not compute (an
    EIP's allocation id): when exactly one argument is unknown and exactly one dependency is not
    referenced by any other argument, that dependency is what the argument references."""
    open_keys = [k for k, v in unknown.items() if v is True and k not in expressions]
    referenced = {ref.rsplit(".", 1)[0] if ref.count(".") > 1 else ref
                  for e in expressions.values() for ref in _references(e)}
    unexplained = [addresses[d] for d in reg.dependencies if d in addresses and ".".join(addresses[d]) not in referenced]
    if len(open_keys) == 1 and len(unexplained) == 1:
        dep_type, dep_name = unexplained[0]
        expressions[open_keys[0]] = {"references": [f"{dep_type}.{dep_name}.id", f"{dep_type}.{dep_name}"]}


def assemble(resources: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """The plan document of (planned resource, configuration resource) pairs: every resource is
    created (`change.actions: ["create"]`, `change.after` = its planned values)."""
    planned, changes, configs = [], [], []
    for resource, config in resources:
        resource = dict(resource)
        unknown = resource.pop("after_unknown", {})
        planned.append(resource)
        configs.append(config)
        changes.append({
            **{k: resource[k] for k in ("address", "mode", "type", "name", "provider_name")},
            "change": {"actions": ["create"], "before": None, "after": resource["values"], "after_unknown": unknown,
                       "before_sensitive": False, "after_sensitive": {}},
        })
    used = sorted({p["provider_name"] for p in planned})
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {p.rsplit("/", 1)[-1]: {"name": p.rsplit("/", 1)[-1], "full_name": p} for p in used},
            "root_module": {"resources": configs},
        },
    }


def _manifest(reg: Registration) -> dict[str, Any]:
    manifest = json.loads(json.dumps(reg.inputs))
    for key in ("data", "stringData"):
        if manifest.get(key) == SECRET_PLACEHOLDER:  # keep a non-empty placeholder, never the value
            manifest[key] = {"redacted": "W3NlY3JldF0=" if key == "data" else SECRET_PLACEHOLDER}
    return manifest


def convert(resources: list[Registration]) -> TerraformPlan:
    """The Terraform plan document (and Kubernetes manifests) of a plan's registrations."""
    by_urn = {r.urn: r for r in resources}
    addresses = _addresses(resources)
    pairs = [_resource(by_urn[urn], tf_type, name, by_urn, addresses) for urn, (tf_type, name) in addresses.items()]
    manifests, urns = [], {f"{t}.{n}": urn for urn, (t, n) in addresses.items()}
    for reg in sorted(resources, key=lambda r: r.urn):
        if reg.custom and reg.type.startswith("kubernetes:") and "kind" in reg.inputs:
            manifests.append(_manifest(reg))
            urns[manifest_id(manifests[-1])] = reg.urn
    return TerraformPlan(assemble(pairs), manifests, urns)


def manifest_id(manifest: dict[str, Any]) -> str:
    """`Kind.namespace.name`, the resource id Checkov's kubernetes framework reports."""
    meta = manifest.get("metadata") or {}
    return f"{manifest.get('kind')}.{meta.get('namespace', 'default')}.{meta.get('name')}"


def write_manifests(manifests: list[dict[str, Any]], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, manifest in enumerate(manifests):
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", manifest_id(manifest))
        path = directory / f"{index:03d}-{stem}.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        paths.append(path)
    return paths


def stack_plan(stack: str) -> TerraformPlan:
    return convert(run_plan(stack, evaluate_policies=False).capture.resources)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.terraform_plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: " + ", ".join(available_stacks()))
    parser.add_argument("--out", type=Path, help="write the document here instead of stdout")
    parser.add_argument("--k8s-dir", type=Path, help="write the Kubernetes manifests (YAML) into this directory")
    args = parser.parse_args(argv)
    try:
        plan = stack_plan(args.stack)
    except PlanError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    text = json.dumps(plan.document, indent=2, sort_keys=True) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    if args.k8s_dir:
        write_manifests(plan.manifests, args.k8s_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
