"""Run the policy pack over an offline plan, the way the Pulumi CLI runs it over a preview.

    evaluate("prod", plan_resources, project_dir=REPO) -> [{"policy", "enforcement", "urn", "message"}]

`tools/plan.py` calls this with the plan's resource dicts (urn, type, name, parent, custom, protect,
dependencies, inputs). Faithful to the CLI and the policy SDK:

- every `ResourceValidationPolicy` runs on every custom resource, every `StackValidationPolicy`
  once over all resources, with real `ResourceValidationArgs` / `StackValidationArgs` /
  `PolicyResource` / `PolicyResourceOptions` objects;
- props are the SDK's unknown-checking proxies, built from the plan's inputs with numbers as
  floats (protobuf `Struct`) and "[unknown]" turned into the SDK's unknown sentinel ("[secret]"
  stays as the string it is in the plan);
- `policies/config/<stack>.json` is read like `--policy-pack-config`: `"all"` sets every level,
  `"<policy>": "advisory" | {"enforcementLevel": ..., <config>}` overrides one, `"disabled"` skips it,
  config values (with schema defaults) reach the rule through `args.get_config()`; `remediate`
  counts as mandatory;
- a rule that cannot read a value raises `UnknownValueError` and yields one *advisory* violation,
  as the SDK reports it during preview.

Keys starting with "_" are this project's metadata, ignored by the CLI: `"_waivers"` documents why a
rule is lowered for a stack ({"<policy>": {"reason": ..., "reviewedBy": ...}}); a waived policy's
messages say so. A malformed config file yields one mandatory violation of `policy-config`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from .pack import ALL_POLICIES, DEFAULT_ENFORCEMENT, POLICIES_BY_NAME
from .rules.props import OFFLINE_UNKNOWN

CONFIG_DIR = Path("policies") / "config"
CONFIG_POLICY = "policy-config"
_LEVELS = {level.value: level for level in EnforcementLevel}
_JSON_TYPES = {"integer": (int,), "number": (int, float), "string": (str,), "boolean": (bool,), "object": (dict,), "array": (list,)}


class PolicyConfigError(ValueError):
    """The stack's policy config file is invalid. The message names the file and the problem."""


@dataclass
class StackPolicyConfig:
    """The resolved policy config of one stack."""

    path: Path
    levels: dict[str, EnforcementLevel]
    properties: dict[str, dict[str, Any]]
    waivers: dict[str, dict[str, Any]] = field(default_factory=dict)
    exists: bool = True

    def level(self, name: str) -> EnforcementLevel:
        return self.levels[name]


def config_path(stack: str, project_dir: Path) -> Path:
    return Path(project_dir) / CONFIG_DIR / f"{stack}.json"


def _schema_defaults(policy: Any) -> dict[str, Any]:
    schema = policy.config_schema
    if schema is None:
        return {}
    return {k: v["default"] for k, v in schema.properties.items() if "default" in v}


def _check_properties(name: str, policy: Any, props: dict[str, Any], where: str) -> list[str]:
    schema = policy.config_schema
    problems: list[str] = []
    if schema is None:
        return problems
    for key in schema.required or []:
        if key not in props:
            problems.append(f"{where}: {name}.{key} is required")
    for key, value in props.items():
        spec = schema.properties.get(key)
        if spec is None:
            continue  # the CLI allows extra properties
        wanted = spec.get("type")
        if wanted and (isinstance(value, bool) and wanted not in ("boolean",) or not isinstance(value, _JSON_TYPES[wanted])):
            problems.append(f"{where}: {name}.{key} must be of type {wanted}")
            continue
        if wanted == "integer" and isinstance(value, float) and not value.is_integer():
            problems.append(f"{where}: {name}.{key} must be an integer")
        if "minimum" in spec and isinstance(value, (int, float)) and value < spec["minimum"]:
            problems.append(f"{where}: {name}.{key} must be >= {spec['minimum']}")
        if "enum" in spec and value not in spec["enum"]:
            problems.append(f"{where}: {name}.{key} must be one of {', '.join(map(str, spec['enum']))}")
    return problems


def load_config(stack: str, project_dir: Path) -> StackPolicyConfig:
    """Read and validate policies/config/<stack>.json (pack defaults when the file is absent)."""
    path = config_path(stack, project_dir)
    levels = {p.name: p.enforcement_level or DEFAULT_ENFORCEMENT for p in ALL_POLICIES}
    properties = {p.name: _schema_defaults(p) for p in ALL_POLICIES}
    if not path.exists():
        return StackPolicyConfig(path, levels, properties, exists=False)
    where = f"{CONFIG_DIR / path.name}"
    try:
        document = json.loads(path.read_text() or "{}")
    except ValueError as err:
        raise PolicyConfigError(f"{where}: not valid JSON: {err}") from None
    if not isinstance(document, dict):
        raise PolicyConfigError(f"{where}: must be a JSON object of policy name -> level or config")

    problems: list[str] = []
    waivers: dict[str, dict[str, Any]] = {}
    given: dict[str, tuple[Optional[EnforcementLevel], dict[str, Any]]] = {}
    for key, value in document.items():
        if key.startswith("_"):
            if not isinstance(value, dict):
                problems.append(f"{where}: {key} must be an object (the CLI rejects other values)")
            elif key == "_waivers":
                waivers = value
            continue
        if key != "all" and key not in POLICIES_BY_NAME:
            problems.append(f"{where}: unknown policy {key!r}")
            continue
        if isinstance(value, str):
            if value not in _LEVELS:
                problems.append(f"{where}: {key}: {value!r} is not an enforcement level ({', '.join(_LEVELS)})")
                continue
            given[key] = (_LEVELS[value], {})
        elif isinstance(value, dict):
            props = dict(value)
            level = props.pop("enforcementLevel", None)
            if level is not None and level not in _LEVELS:
                problems.append(f"{where}: {key}.enforcementLevel: {level!r} is not an enforcement level")
                continue
            given[key] = (_LEVELS[level] if level else None, props)
        else:
            problems.append(f"{where}: {key} must be an enforcement level string or an object")

    all_level = given.get("all", (None, {}))[0]
    if all_level is not None:
        levels = {name: all_level for name in levels}
    for name, (level, props) in given.items():
        if name == "all":
            continue
        if level is not None:
            levels[name] = level
        properties[name] = {**properties[name], **props}
        problems += _check_properties(name, POLICIES_BY_NAME[name], properties[name], where)

    for name, waiver in waivers.items():
        if name not in POLICIES_BY_NAME:
            problems.append(f"{where}: _waivers names unknown policy {name!r}")
        elif not isinstance(waiver, dict) or not str(waiver.get("reason", "")).strip() or not str(waiver.get("reviewedBy", "")).strip():
            problems.append(f"{where}: _waivers.{name} needs a non-empty \"reason\" and \"reviewedBy\"")
    if problems:
        raise PolicyConfigError("; ".join(problems))
    return StackPolicyConfig(path, levels, properties, waivers)


# ---------------------------------------------------------------------------------------------


def engine_values(value: Any) -> Any:
    """Plan JSON -> what the SDK deserializes from the engine: numbers as floats, unknown sentinels."""
    if isinstance(value, dict):
        return {k: engine_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [engine_values(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if value == OFFLINE_UNKNOWN:
        return UNKNOWN_STRING_VALUE
    return value


def _options(resource: dict[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=bool(resource.get("protect")),
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.get("parent"),
    )


def _effective(level: EnforcementLevel) -> str:
    return "mandatory" if level in (EnforcementLevel.MANDATORY, EnforcementLevel.REMEDIATE) else "advisory"


def evaluate(stack: str, resources: list[dict[str, Any]], project_dir: Path) -> list[dict[str, Any]]:
    """Every rule of the pack over `resources`, honouring policies/config/<stack>.json."""
    try:
        config = load_config(stack, Path(project_dir))
    except PolicyConfigError as err:
        return [{"policy": CONFIG_POLICY, "enforcement": "mandatory", "urn": None, "message": str(err)}]
    return evaluate_with(config, resources)


def evaluate_with(
    config: StackPolicyConfig, resources: list[dict[str, Any]], policies: Optional[list[Any]] = None
) -> list[dict[str, Any]]:
    """`policies` (default: the whole pack) over `resources` with an already resolved config."""
    violations: list[dict[str, Any]] = []
    active = [p for p in (ALL_POLICIES if policies is None else policies) if config.level(p.name) != EnforcementLevel.DISABLED]

    def note(policy: Any) -> str:
        waiver = config.waivers.get(policy.name)
        return f" (waived in {CONFIG_DIR / config.path.name}: {waiver['reason']})" if waiver else ""

    def run(policy: Any, args: Any, urn: Optional[str]) -> None:
        level = _effective(config.level(policy.name))
        suffix = note(policy)

        def report(message: str, violation_urn: Optional[str] = None) -> None:
            violations.append(
                {"policy": policy.name, "enforcement": level, "urn": violation_urn or urn, "message": message + suffix}
            )

        try:
            policy.validate(args, report)
        except UnknownValueError as err:
            violations.append({"policy": policy.name, "enforcement": "advisory", "urn": urn, "message": err.message + suffix})
        except _NotApplicableError:
            pass

    props_by_urn = {r["urn"]: unknown_checking_proxy(engine_values(r.get("inputs") or {})) for r in resources}

    resource_policies = [p for p in active if isinstance(p, ResourceValidationPolicy)]
    for r in resources:
        if not r.get("custom"):
            continue
        for policy in resource_policies:
            args = ResourceValidationArgs(
                r["type"], props_by_urn[r["urn"]], r["urn"], r["name"], _options(r), None,
                config.properties.get(policy.name) or {}, {},
            )
            run(policy, args, r["urn"])

    stack_policies = [p for p in active if isinstance(p, StackValidationPolicy)]
    if stack_policies:
        policy_resources = {
            r["urn"]: PolicyResource(r["type"], props_by_urn[r["urn"]], r["urn"], r["name"], _options(r), None, None, [], {})
            for r in resources
        }
        for r in resources:
            resource = policy_resources[r["urn"]]
            resource.parent = policy_resources.get(r.get("parent") or "")
            resource.dependencies = [policy_resources[d] for d in r.get("dependencies") or [] if d in policy_resources]
        listed = list(policy_resources.values())
        for policy in stack_policies:
            run(policy, StackValidationArgs(listed, config.properties.get(policy.name) or {}, {}), None)
    # a stable order (level, policy, resource), whatever order the resources were registered in
    return sorted(violations, key=lambda v: (v["enforcement"], v["policy"], v["urn"] or "", v["message"]))
