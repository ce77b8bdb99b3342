"""`policies/config/<stack>.json` read the way the Pulumi CLI reads `--policy-pack-config`, plus the
project's stricter checks, and the waivers kept beside the configs in `policies/config/waivers.yaml`.

What the CLI does with the file (pkg/resource/analyzer/config.go and
pkg/resource/plugin/analyzer_plugin.go of pulumi/pulumi), replayed by `parse_like_cli` and
`reconcile_like_cli`:

1. empty content is no config; otherwise the JSON must be an object;
2. every top-level key is a policy name (the CLI knows no metadata keys: `"_waivers"` is a policy
   called `_waivers`), except `"environments"` in newer CLIs (ESC references; this project uses
   none, so it is refused here like any other unknown name);
3. a value is a string, which must be an enforcement level (`advisory`, `mandatory`, `remediate`,
   `disabled`), or an object whose optional `enforcementLevel` must be such a string; the object's
   other keys are the policy's properties; `{}` is skipped;
4. reconciling: every policy of the pack starts at its own level and its schema defaults, `"all"`
   (its level only) overrides every level, then each entry overrides its policy's level (when it
   has one) and its properties are merged in;
5. the merged properties of each policy that has a config schema are validated as JSON Schema
   (`type`, `required`, `minimum`, `enum`; undeclared properties are allowed by the CLI);
6. `Configure` refuses the whole config when any entry, known policy or not, has no valid level:
   an object entry without `enforcementLevel` for a name that is not a policy of the pack
   (`"_waivers": {...}`) ends as `invalid enforcement level ""` and the preview fails.

The CLI silently accepts a misspelled policy name with a level, or a misspelled property, and
then enforces nothing; this project refuses both (`strict_problems`): a top-level key is `all` or
a policy name of the pack, and a policy's object carries only `enforcementLevel` and the
properties its config schema declares (none for a policy without a schema, none on `all`).

Waivers (`policies/config/waivers.yaml`, never read by the CLI): `{<stack>: {<policy>: {reason,
reviewedBy}}}`, a reviewed decision that a policy is lowered for a stack. The offline plan appends
the reason to that policy's messages, and docs/policies.md lists them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from pulumi_policy import EnforcementLevel

from .pack import ALL_POLICIES, DEFAULT_ENFORCEMENT, POLICIES_BY_NAME

CONFIG_DIR = Path("policies") / "config"
WAIVERS_FILE = CONFIG_DIR / "waivers.yaml"
CLI_LEVELS = {level.value: level for level in EnforcementLevel}
_JSON_TYPES = {"integer": (int,), "number": (int, float), "string": (str,), "boolean": (bool,), "object": (dict,), "array": (list,)}

#: (enforcement level or "" when the entry sets none, properties) per top-level key, as the CLI parses it
CliEntries = dict[str, tuple[str, dict[str, Any]]]


class PolicyConfigError(ValueError):
    """The stack's policy config file (or its waivers) is invalid. The message names the file and the problem."""


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


def parse_like_cli(text: str) -> CliEntries:
    """The CLI's parse of a `--policy-pack-config` file; raises PolicyConfigError where the CLI errors."""
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except ValueError as err:
        raise PolicyConfigError(f"not valid JSON: {err}") from None
    if not isinstance(document, dict):
        raise PolicyConfigError("must be a JSON object of policy name -> enforcement level or object")
    entries: CliEntries = {}
    for key, value in document.items():
        if isinstance(value, str):
            if value not in CLI_LEVELS:
                raise PolicyConfigError(f"parsing enforcement level for {key!r}: {value!r} is not a valid enforcement level")
            entries[key] = (value, {})
        elif isinstance(value, dict):
            props = dict(value)
            level = props.pop("enforcementLevel", "")
            if not isinstance(level, str) or (level and level not in CLI_LEVELS):
                raise PolicyConfigError(f"parsing enforcement level for {key!r}: {level!r} is not a valid enforcement level")
            if level or props:  # the CLI drops empty entries
                entries[key] = (level, props)
        else:
            raise PolicyConfigError(f"parsing {key!r}: {value!r} is not a valid value; must be a string or object")
    return entries


def _schema_defaults(policy: Any) -> dict[str, Any]:
    schema = policy.config_schema
    if schema is None:
        return {}
    return {k: v["default"] for k, v in schema.properties.items() if "default" in v}


def reconcile_like_cli(entries: CliEntries) -> dict[str, tuple[str, dict[str, Any]]]:
    """What the engine sends to the pack's `Configure`: (level, properties) per name. Raises
    PolicyConfigError where the CLI's schema validation or `Configure` refuses the config."""
    result = {p.name: ((p.enforcement_level or DEFAULT_ENFORCEMENT).value, _schema_defaults(p)) for p in ALL_POLICIES}
    all_level = entries.get("all", ("", {}))[0]
    if all_level:
        result = {name: (all_level, props) for name, (_, props) in result.items()}
    for name, (level, props) in entries.items():
        old_level, old_props = result.get(name, ("", {}))
        result[name] = (level or old_level, {**old_props, **props})
    problems = []
    for policy in ALL_POLICIES:
        problems += [f"{policy.name}: {p}" for p in _schema_problems(policy, result[policy.name][1])]
    for name, (level, _) in sorted(result.items()):
        if level not in CLI_LEVELS:
            problems.append(f"{name}: invalid enforcement level {level!r} (Configure refuses the whole config)")
    if problems:
        raise PolicyConfigError("; ".join(problems))
    return result


def _schema_problems(policy: Any, props: dict[str, Any]) -> list[str]:
    """JSON Schema validation of a policy's merged properties, as the CLI does it."""
    schema = policy.config_schema
    if schema is None:
        return []
    problems = [f"{key} is required" for key in schema.required or [] if key not in props]
    for key, value in props.items():
        spec = schema.properties.get(key)
        if spec is None:
            continue  # undeclared: the CLI allows it (strict_problems does not)
        wanted = spec.get("type")
        if wanted and (isinstance(value, bool) != (wanted == "boolean") or not isinstance(value, _JSON_TYPES[wanted])):
            problems.append(f"{key} must be of type {wanted}")
            continue
        if wanted == "integer" and isinstance(value, float) and not value.is_integer():
            problems.append(f"{key} must be an integer")
        if "minimum" in spec and isinstance(value, (int, float)) and value < spec["minimum"]:
            problems.append(f"{key} must be >= {spec['minimum']}")
        if "enum" in spec and value not in spec["enum"]:
            problems.append(f"{key} must be one of {', '.join(map(str, spec['enum']))}")
    return problems


def strict_problems(entries: CliEntries) -> list[str]:
    """What the CLI accepts but this project refuses: unknown names, undeclared properties."""
    problems = []
    for key, (_, props) in entries.items():
        if key == "all":
            if props:
                problems.append(f"all: takes only an enforcement level, not {', '.join(sorted(props))}")
            continue
        policy = POLICIES_BY_NAME.get(key)
        if policy is None:
            problems.append(f"unknown policy {key!r} (the CLI would accept it and enforce nothing)")
            continue
        declared = set(policy.config_schema.properties) if policy.config_schema else set()
        for prop in sorted(set(props) - declared):
            allowed = ", ".join(sorted(declared)) or "none"
            problems.append(f"{key}.{prop} is not a property of {key} (properties: {allowed})")
    return problems


def load_waivers(stack: str, project_dir: Path) -> dict[str, dict[str, Any]]:
    """The waivers of `stack` from policies/config/waivers.yaml (none when the file is absent)."""
    path = Path(project_dir) / WAIVERS_FILE
    if not path.exists():
        return {}
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise PolicyConfigError(f"{WAIVERS_FILE}: not valid YAML: {err}") from None
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise PolicyConfigError(f"{WAIVERS_FILE}: must map stack -> policy -> {{reason, reviewedBy}}")
    waivers = document.get(stack) or {}
    problems = []
    for name, waiver in waivers.items():
        if name not in POLICIES_BY_NAME:
            problems.append(f"{WAIVERS_FILE}: {stack}.{name}: unknown policy {name!r}")
        elif not isinstance(waiver, dict) or set(waiver) != {"reason", "reviewedBy"} or not all(
            isinstance(v, str) and v.strip() for v in waiver.values()
        ):
            problems.append(f"{WAIVERS_FILE}: {stack}.{name} needs exactly a non-empty \"reason\" and \"reviewedBy\"")
    if problems:
        raise PolicyConfigError("; ".join(problems))
    return waivers


#: The enforcement a stack without its own config file gets in the offline plan, by environment:
#: dev is a sandbox (every rule advisory), staging and prod block (every rule mandatory, the pack's
#: default). Lowering a rule for staging or prod stays a reviewed decision: a config file and a waiver.
ENVIRONMENT_LEVELS = {"dev": "advisory", "staging": "mandatory", "prod": "mandatory"}


def environment_defaults(environment: str) -> CliEntries:
    """The config entries a stack of `environment` gets when it has no policies/config/<stack>.json."""
    if environment not in ENVIRONMENT_LEVELS:
        raise PolicyConfigError(f"no policy defaults for environment {environment!r} (environments: {', '.join(ENVIRONMENT_LEVELS)})")
    return {"all": (ENVIRONMENT_LEVELS[environment], {}), "resource-labels": ("", {"environment": environment})}


def defaults_note(stack: str, environment: str) -> str:
    """One line for the plan: which defaults a stack without a config file got, and how to make one."""
    level = ENVIRONMENT_LEVELS.get(environment, "mandatory")
    own, template = CONFIG_DIR / f"{stack}.json", CONFIG_DIR / f"{environment}.json"
    return (
        f"no {own}: every policy is {level} (the {environment} default); to tune it, and before the CLI "
        f"or the workflow can run this stack, copy {template} to {own} (see docs/policies.md)"
    )


def load_config(stack: str, project_dir: Path, environment: Optional[str] = None) -> StackPolicyConfig:
    """Read policies/config/<stack>.json as the CLI does, refuse what the project refuses, attach
    the stack's waivers. When the file is absent: the defaults of `environment`
    (`environment_defaults`), or the pack's (every policy mandatory) when the environment is unknown."""
    path = config_path(stack, project_dir)
    waivers = load_waivers(stack, project_dir)
    if not path.exists():
        reconciled = reconcile_like_cli(environment_defaults(environment) if environment else {})
        exists = False
    else:
        where = f"{CONFIG_DIR / path.name}"
        try:
            entries = parse_like_cli(path.read_text())
            problems = strict_problems(entries)
            if problems:
                raise PolicyConfigError("; ".join(problems))
            reconciled = reconcile_like_cli(entries)
        except PolicyConfigError as err:
            raise PolicyConfigError(f"{where}: {err}") from None
        exists = True
    levels = {p.name: CLI_LEVELS[reconciled[p.name][0]] for p in ALL_POLICIES}
    properties = {p.name: reconciled[p.name][1] for p in ALL_POLICIES}
    return StackPolicyConfig(path, levels, properties, waivers, exists)


def waiver_note(config: StackPolicyConfig, name: str) -> Optional[str]:
    waiver = config.waivers.get(name)
    return f" (waived in {WAIVERS_FILE}: {waiver['reason']})" if waiver else None
