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
- `policies/config/<stack>.json` is read as the CLI reads `--policy-pack-config`
  (`policies/config_file.py`): `"all"` sets every level, `"<policy>": "advisory" |
  {"enforcementLevel": ..., <config>}` overrides one, `"disabled"` skips it, config values (with
  schema defaults) reach the rule through `args.get_config()`; `remediate` counts as mandatory;
- a stack without a config file gets the enforcement of its environment (dev: every rule
  advisory; staging, prod: mandatory), and the plan says so in a note. The CLI has no such
  default: the workflow passes `--policy-pack-config policies/config/<stack>.json`, which must exist;
- a rule that cannot read a value raises `UnknownValueError` and yields one *advisory* violation,
  as the SDK reports it during preview.

The CLI reads every top-level key as a policy, so the config files hold nothing else: waivers (why
a rule is lowered for a stack) live in `policies/config/waivers.yaml`, which only the offline plan
and the docs read; a waived policy's messages say so. A config file the CLI would refuse, or that
names an unknown policy or property, yields one mandatory violation of `policy-config`.
"""

from __future__ import annotations

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

from .config_file import CONFIG_DIR, PolicyConfigError, StackPolicyConfig, load_config, waiver_note
from .pack import ALL_POLICIES
from .rules.props import OFFLINE_UNKNOWN

__all__ = ["CONFIG_DIR", "CONFIG_POLICY", "PolicyConfigError", "StackPolicyConfig", "engine_values", "evaluate", "evaluate_with", "load_config"]

CONFIG_POLICY = "policy-config"


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


def evaluate(
    stack: str, resources: list[dict[str, Any]], project_dir: Path, environment: Optional[str] = None
) -> list[dict[str, Any]]:
    """Every rule of the pack over `resources`, honouring policies/config/<stack>.json (or, when the
    stack has none, the defaults of its `environment`: `config_file.environment_defaults`)."""
    try:
        config = load_config(stack, Path(project_dir), environment)
    except PolicyConfigError as err:
        return [{"policy": CONFIG_POLICY, "enforcement": "mandatory", "urn": None, "message": str(err)}]
    return evaluate_with(config, resources)


def evaluate_with(
    config: StackPolicyConfig, resources: list[dict[str, Any]], policies: Optional[list[Any]] = None
) -> list[dict[str, Any]]:
    """`policies` (default: the whole pack) over `resources` with an already resolved config."""
    violations: list[dict[str, Any]] = []
    active = [p for p in (ALL_POLICIES if policies is None else policies) if config.level(p.name) != EnforcementLevel.DISABLED]

    def run(policy: Any, args: Any, urn: Optional[str]) -> None:
        level = _effective(config.level(policy.name))
        suffix = waiver_note(config, policy.name) or ""

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
