"""Reading a stack's config: the project namespace split, validation into `StackConfig`, one error
message per bad stack file, and the `StackContext` every component receives."""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

from pydantic import BaseModel, ValidationError

from components import naming
from components.config.base import (
    ENVIRONMENTS,
    PLATFORMS,
    PROJECT,
    ConfigError,
    Problem,
    close_keys,
    problems_error,
    secret_config_key,
    unknown_key_problem,
)
from components.config.defaults import _deep_merge, environment_defaults
from components.config.stack import TOP_LEVEL_KEYS, StackConfig


def _format_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif str(item).startswith(("function-", "literal[", "constrained-")):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _lookup(doc: Any, loc: tuple[Any, ...]) -> Any:
    node = doc
    for item in loc:
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _model_at(loc: tuple[Any, ...]) -> Optional[type[BaseModel]]:
    """The schema model whose keys `loc` (a pydantic error location) lists, or None."""
    node: Any = StackConfig
    for item in loc:
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = next((f for n, f in node.model_fields.items() if item in (n, f.alias)), None)
            if field is None:
                return None
            node = field.annotation
        else:  # a map's key or a list's index: step into the value type
            args = [a for a in typing.get_args(node) if a is not type(None) and a is not Ellipsis]
            node = args[-1] if args else None
        while typing.get_origin(node) in (typing.Union, typing.Annotated, types.UnionType):  # Optional[X], X | None
            node = next(a for a in typing.get_args(node) if a is not type(None))
    return node if isinstance(node, type) and issubclass(node, BaseModel) else None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


_TYPE_NAMES = {"int_type": "an integer", "int_from_float": "an integer", "float_type": "a number",
               "bool_type": "true or false", "string_type": "a string", "tuple_type": "a list",
               "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping"}


def _yaml_type(value: Any) -> str:
    """What a value is, in the stack file's (YAML) words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for kinds, name in ((int, "an integer"), (float, "a number"), (str, "a string"), ((list, tuple), "a list")):
        if isinstance(value, kinds):
            return name
    return "a mapping" if isinstance(value, dict) else type(value).__name__


def _error_problem(e: Mapping[str, Any], merged: Mapping[str, Any]) -> Problem:
    """One pydantic error as a Problem: key path, the value, what is allowed (types named plainly)."""
    loc = tuple(e["loc"])
    path = _format_loc(loc)
    kind = e["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        parent = _format_loc(loc[:-1])
        value = _lookup(merged, loc)
        value = None if isinstance(value, dict) else value
        if model is not None:
            return unknown_key_problem(parent, loc[-1], _allowed_keys(model), value=value)
        return Problem(path, value, "unknown key (check the spelling against the config reference in README.md)")
    value = _lookup(merged, loc)  # as the file wrote it (lists are tuples in e["input"])
    value = e.get("input") if value is None else value
    if kind == "missing":
        if len(loc) == 3 and loc[0] == "services":
            return Problem(path, None, "is required: every service needs `image`; a web service also a `port` "
                           "(and a `route` to be public), a worker a `command`")
        return Problem(path, None, "is required")
    message = e["msg"].removeprefix("Value error, ")
    if kind in _TYPE_NAMES:
        message = f"must be {_TYPE_NAMES[kind]}, not {_yaml_type(value)}"
        if isinstance(value, str) and kind in ("int_type", "float_type", "bool_type"):
            message += " (write it without quotes)"
    return Problem(path, None if isinstance(value, dict) else value, message)


def format_validation_error(stack_file: str, raw: Mapping[str, Any], err: ValidationError) -> str:
    return str(problems_error(stack_file, [_error_problem(e, raw) for e in err.errors(include_url=False)]))


# Which platforms read each platform section: a section on a stack of another platform is a mistake
# (a `gcp:` block on an `ecs` stack would be silently ignored).
PLATFORM_SECTIONS: dict[str, tuple[str, ...]] = {
    "kubernetes": ("kubernetes", "gke"),
    "gcp": ("cloudrun", "gke"),
    "gke": ("gke",),
    "aws": ("ecs",),
}


def stack_problems(
    raw: Mapping[str, Any], stack_file: str, secret_keys: Iterable[str] = ()
) -> tuple[Optional[StackConfig], list[Problem]]:
    """Every problem of a stack's raw project config (keys without the project prefix), and the
    StackConfig when there is none. The one place that names unknown keys, at every level.

    `secret_keys`: the config keys of the provided secrets the stack declares (they live in the
    project namespace too; their values are never passed here). Environment defaults are merged
    under the raw values first, so errors name the user's keys."""
    raw = dict(raw)
    secret_keys = set(secret_keys)
    problems = [
        unknown_key_problem("", key, TOP_LEVEL_KEYS, extra=", or a secret listed in secrets.provided")
        for key in sorted(set(raw) - set(TOP_LEVEL_KEYS) - secret_keys, key=str)
    ]
    # a misspelt section would otherwise also be reported as missing or defaulted
    meant = {m for key in set(raw) - set(TOP_LEVEL_KEYS) - secret_keys for m in close_keys(key, TOP_LEVEL_KEYS)}
    raw = {k: v for k, v in raw.items() if k in TOP_LEVEL_KEYS}
    platform, environment = raw.get("platform"), raw.get("environment")
    if platform not in PLATFORMS:
        problems.append(Problem("platform", platform, f"{_required(platform)}one of {', '.join(PLATFORMS)}"))
    else:
        problems += [
            Problem(section, None, f"is read only by platform(s) {', '.join(readers)}; this stack's platform is "
                    f"{platform}: remove the section (or change `platform`)")
            for section, readers in PLATFORM_SECTIONS.items()
            if section in raw and platform not in readers
        ]
    if environment not in ENVIRONMENTS:
        problems.append(Problem("environment", environment, f"{_required(environment)}one of {', '.join(ENVIRONMENTS)}"))
        return None, problems
    services = raw.get("services")
    if isinstance(services, dict):  # `enabled: false` drops a service as leaving it out does
        raw["services"] = {n: s for n, s in services.items() if not (isinstance(s, dict) and s.get("enabled") is False)}
    defaults = environment_defaults(environment, raw.get("services"))
    if "services" not in raw:
        del defaults["services"]  # "services: is required", not one message per seed service
    merged = _deep_merge(defaults, raw)
    try:
        config = StackConfig.model_validate(merged)
    except ValidationError as err:
        found = [_error_problem(e, merged) for e in err.errors(include_url=False)]
        problems += [p for p in found if p.path.split(".")[0].split("[")[0] not in meant]
        return None, problems
    return (None if problems else config), problems


def _required(value: Any) -> str:
    return "is required: " if value is None else "must be "


def parse_stack_config(raw: Mapping[str, Any], stack_file: str) -> StackConfig:
    """Validate a stack's raw project config (keys without the project prefix) into a StackConfig,
    or raise one ConfigError naming every problem."""
    config, problems = stack_problems(raw, stack_file)
    if problems or config is None:
        raise problems_error(stack_file, problems)
    return config


def split_project_config(all_config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split `project:key` config into (structured keys, everything else in the project namespace)."""
    ours: dict[str, Any] = {}
    for full_key, value in all_config.items():
        namespace, _, key = full_key.partition(":")
        if namespace == PROJECT and key:
            ours[key] = value
    structured = {k: v for k, v in ours.items() if k in TOP_LEVEL_KEYS}
    other = {k: v for k, v in ours.items() if k not in TOP_LEVEL_KEYS}
    return structured, other


def declared_provided_secret_keys(structured: Mapping[str, Any]) -> list[str]:
    """Config keys of the secrets a stack says a person provides (camelCase), from raw config.
    Tolerates any shape (the schema reports a bad one): this runs before validation."""
    return [secret_config_key(name) for name in _provided_names({"secrets": _decode(structured.get("secrets"))})]


# ---------------------------------------------------------------------------------------------
# The stack context: validated config plus the provided secrets as secret Outputs
# ---------------------------------------------------------------------------------------------


def _decode(value: Any) -> Any:
    """Structured config arrives as JSON text; scalars stay as they are."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def load_stack_context() -> "StackContext":
    """Read the current stack's Pulumi config once, validate it, and return the StackContext.

    Raises one ConfigError (and registers nothing) naming every problem found in one round: the
    schema's (unknown keys, types, values), the provided secrets' (missing, set without `--secret`)
    and, when the schema holds, the platform adapter's and the data backends' (`config_problems`).
    """
    import pulumi
    from pulumi.runtime.config import CONFIG, get_config_env, is_config_secret

    stack = pulumi.get_stack()
    stack_file = f"Pulumi.{stack}.yaml"
    all_config = {**get_config_env(), **CONFIG.get()}
    structured, other = split_project_config(all_config)

    secret_structured = sorted(k for k in structured if is_config_secret(f"{PROJECT}:{k}"))
    if secret_structured:
        raise ConfigError(
            f"{stack_file}: {', '.join(f'{PROJECT}:{k}' for k in secret_structured)} must not be secret; "
            "put secret values in their own keys listed under secrets.provided"
        )
    decoded = {k: _decode(v) for k, v in structured.items()}
    expected = {secret_config_key(name): name for name in _provided_names(decoded)}
    # the other keys' values may be secrets: only their names reach the schema check
    config, problems = stack_problems({**decoded, **{k: None for k in other}}, stack_file, secret_keys=expected)
    for key in sorted(expected):
        if key not in other:
            problems.append(Problem(key, None, f"secret {expected[key]} is not set; run "
                                    f"`pulumi config set --secret {key} <value> --stack {stack}`"))
        elif not is_config_secret(f"{PROJECT}:{key}"):
            problems.append(Problem(key, None, "is stored in plain text; set it again with "
                                    f"`pulumi config set --secret {key} <value> --stack {stack}` (the value is not shown here)"))
    if config is not None:
        from components.platform import config_problems  # the adapter imports its cloud SDK: only now

        problems += config_problems(config, stack)
    if problems or config is None:
        raise problems_error(stack_file, problems)

    pulumi_config = pulumi.Config(PROJECT)
    provided = {name: pulumi_config.require_secret(key) for key, name in expected.items()}
    return StackContext(project=pulumi.get_project(), stack=stack, config=config, provided_secrets=provided)


def _provided_names(structured: Mapping[str, Any]) -> list[str]:
    """The provided secrets' names (OPENAI_API_KEY) a raw config declares, whatever its shape."""
    secrets = structured.get("secrets")
    provided = secrets.get("provided") if isinstance(secrets, dict) else None
    return [n for n in provided if isinstance(n, str) and n] if isinstance(provided, (list, tuple)) else []


@dataclass(frozen=True)
class StackContext:
    """What every component needs to know about the stack it is part of."""

    project: str
    stack: str
    config: StackConfig
    provided_secrets: Mapping[str, Any] = field(default_factory=dict)  # name -> secret Output[str]

    @property
    def labels(self) -> dict[str, str]:
        """The project's labels/tags: valid as Kubernetes labels, GCP labels and AWS tags."""
        return {
            "app": PROJECT,
            "environment": self.config.environment,
            "managed-by": "pulumi",
            "stack": re.sub(r"[^a-z0-9_-]", "-", self.stack.lower())[:63],
            **self.config.tags,
        }

    @property
    def protect_stateful(self) -> bool:
        """Stateful resources of production stacks get `protect=True`."""
        return self.config.is_production

    @property
    def prefix(self) -> str:
        """The start of every physical cloud name: `namePrefix`, or `aia-<stack>` when the stack name
        is clean and fits 16 characters, else hash-shortened (components/naming.py)."""
        return self.config.name_prefix or naming.stack_prefix(self.project, self.stack, PROJECT)

    @property
    def stack_token(self) -> str:
        """The full stack name as a name part (sanitised + hash when it is not clean); for names that
        carry the stack beside another identity, such as `<gcp project>-<stack>-backups`."""
        return naming.stack_token(self.project, self.stack, PROJECT)

    @property
    def naming_notice(self) -> Optional[str]:
        """A warning when the prefix differs from the one the old scheme gave and nothing pins it."""
        return naming.rename_notice(self.project, self.stack, PROJECT, self.config.name_prefix)
