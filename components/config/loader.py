"""Reading a stack's config: the project namespace split, validation into `StackConfig`, one error
message per bad stack file, and the `StackContext` every component receives."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from pydantic import ValidationError

from components.config.base import (
    ENVIRONMENTS,
    PLATFORMS,
    PROJECT,
    ConfigError,
    secret_config_key,
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
            return "<missing>"
    return node


def _describe_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def format_validation_error(stack_file: str, raw: Mapping[str, Any], err: ValidationError) -> str:
    lines = [f"{stack_file}: invalid configuration ({err.error_count()} problem(s)); nothing was created."]
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        path = _format_loc(loc)
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against the config reference in README.md)"
        elif e["type"] == "missing":
            message = "is required"
        value = e.get("input", _lookup(raw, loc))
        shown = "" if e["type"] in ("missing",) or isinstance(value, dict) else f" = {_describe_value(value)}"
        key = f"{PROJECT}:{path}" if path else PROJECT
        lines.append(f"  {key}{shown}: {message}")
    return "\n".join(lines)


def parse_stack_config(raw: Mapping[str, Any], stack_file: str) -> StackConfig:
    """Validate a stack's raw project config (keys without the project prefix) into a StackConfig.

    Environment defaults are merged under the raw values first, so errors name the user's keys.
    """
    raw = dict(raw)
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS))
    if unknown:
        allowed = ", ".join(TOP_LEVEL_KEYS)
        raise ConfigError(
            f"{stack_file}: invalid configuration; nothing was created.\n"
            + "\n".join(f"  {PROJECT}:{k}: unknown key (allowed: {allowed}, or a provided secret)" for k in unknown)
        )
    platform = raw.get("platform")
    if platform not in PLATFORMS:
        raise ConfigError(
            f"{stack_file}: invalid configuration; nothing was created.\n"
            f"  {PROJECT}:platform = {platform!r}: must be one of {', '.join(PLATFORMS)}"
        )
    environment = raw.get("environment")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"{stack_file}: invalid configuration; nothing was created.\n"
            f"  {PROJECT}:environment = {environment!r}: must be one of {', '.join(ENVIRONMENTS)}"
        )
    merged = _deep_merge(environment_defaults(environment), raw)
    try:
        return StackConfig.model_validate(merged)
    except ValidationError as err:
        raise ConfigError(format_validation_error(stack_file, merged, err)) from None


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
    """Config keys of the secrets a stack says a person provides (camelCase), from raw config."""
    secrets = structured.get("secrets") or {}
    provided = secrets.get("provided") or () if isinstance(secrets, dict) else ()
    return [secret_config_key(name) for name in provided if isinstance(name, str)]


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

    Raises ConfigError (and registers nothing) when the stack file is invalid or a provided secret
    is missing or was set without `--secret`.
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
    config = parse_stack_config({k: _decode(v) for k, v in structured.items()}, stack_file)

    expected = {secret_config_key(name): name for name in config.secrets.provided}
    problems = [
        f"  {PROJECT}:{k}: unknown key (allowed: {', '.join(TOP_LEVEL_KEYS)}, or a secret listed in secrets.provided)"
        for k in sorted(set(other) - set(expected))
    ]
    for key in sorted(expected):
        if key not in other:
            problems.append(
                f"  {PROJECT}:{key}: secret {expected[key]} is not set; run "
                f"`pulumi config set --secret {key} <value> --stack {stack}`"
            )
        elif not is_config_secret(f"{PROJECT}:{key}"):
            problems.append(
                f"  {PROJECT}:{key}: is stored in plain text; set it again with "
                f"`pulumi config set --secret {key} <value> --stack {stack}` (the value is not shown here)"
            )
    from components.platform import config_problems  # the adapter imports its cloud SDK: only now

    problems += [problem.line() for problem in config_problems(config, stack)]
    if problems:
        raise ConfigError(
            f"{stack_file}: invalid configuration ({len(problems)} problem(s)); nothing was created.\n"
            + "\n".join(problems)
        )

    pulumi_config = pulumi.Config(PROJECT)
    provided = {name: pulumi_config.require_secret(key) for key, name in expected.items()}
    return StackContext(project=pulumi.get_project(), stack=stack, config=config, provided_secrets=provided)


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
        """Short, stable prefix for physical cloud names (GCP service-account ids allow 30 chars).
        Runs of hyphens collapse to one: RDS, DocumentDB and ElastiCache identifiers reject '--'."""
        return re.sub(r"-+", "-", f"aia-{re.sub(r'[^a-z0-9-]', '-', self.stack.lower())}")[:16].rstrip("-")
