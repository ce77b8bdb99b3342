"""How the pack's rules are declared, and how they treat values they cannot read.

Every rule is a real `pulumi_policy.ResourceValidationPolicy` or `StackValidationPolicy` built by
`resource_policy(...)` / `stack_policy(...)`, carrying its name, description (with the seed or
external check it comes from), severity, remediation steps, tags and, where useful, a URL and a
config schema. The decorated function receives a `Check`:

    @resource_policy(name=..., types=[...], ...)
    def _rule(args: ResourceValidationArgs, check: Check) -> None:
        mode = get(args.props, "transitEncryptionMode")
        if check.known(mode, "transitEncryptionMode") and mode != "SERVER_AUTHENTICATION":
            check.fail("...")

Unknown values (decided behaviour, see docs/policies.md "Unknown values"): a rule never passes
silently and never crashes on them. It keeps checking everything it can read, reports real
violations at the policy's enforcement level, and then raises `CannotVerify` (a subclass of the
SDK's `UnknownValueError`) naming what it could not read. The SDK turns that into an *advisory*
diagnostic "can't run policy ... during preview: cannot verify <what>: value unknown during
preview"; `policies/offline.py` does exactly the same, so the offline plan and the CLI agree.
During `pulumi up` the values are known and the rule runs fully.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Sequence

from pulumi_policy import (
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from .props import PREVIEW, Unknown, is_unknown

class CannotVerify(UnknownValueError):
    """Raised at the end of a rule that met values it could not read (see module docstring)."""

    def __init__(self, unknowns: Sequence[tuple[str, str]]):
        Exception.__init__(self)
        self.unknown_type_sentinel = UNKNOWN_STRING_VALUE
        self.props = [what for what, _ in unknowns]
        by_reason: dict[str, list[str]] = {}
        for what, reason in unknowns:
            if what not in by_reason.setdefault(reason, []):
                by_reason[reason].append(what)
        self.message = "; ".join(
            f"cannot verify {', '.join(whats)}: {reason}" for reason, whats in by_reason.items()
        )

    def __str__(self) -> str:
        return self.message


class Check:
    """Collects a rule's findings: `fail()` reports now, `unknown()` is reported at the end."""

    def __init__(self, report_violation: Callable[..., None], *, stack: bool = False):
        self._report = report_violation
        self._stack = stack
        self.unknowns: list[tuple[str, str]] = []
        self.failures = 0

    def fail(self, message: str, urn: Optional[str] = None) -> None:
        self.failures += 1
        if self._stack:
            self._report(message, urn)
        else:
            self._report(message)

    def unknown(self, what: str, value: Any = None, *, reason: Optional[str] = None) -> None:
        """Record something the rule could not judge (`value` an `Unknown`, or an explicit `reason`)."""
        reason = reason or (value.reason if isinstance(value, Unknown) else PREVIEW)
        self.unknowns.append((what, reason))

    def known(self, value: Any, what: str) -> bool:
        """True when `value` can be judged; records it as unverifiable otherwise."""
        if is_unknown(value):
            self.unknown(what, value)
            return False
        return True

    def finish(self) -> None:
        if self.unknowns:
            raise CannotVerify(self.unknowns)


@dataclass(frozen=True)
class RuleInfo:
    """What docs/policies.md and the tests read about a rule (kept next to the policy)."""

    theme: str
    types: tuple[str, ...]
    checks: str
    source: str
    kind: str  # "resource" | "stack"
    environment_specific: bool


def _description(summary: str, source: str) -> str:
    return f"{summary} Source: {source}."


def _tags(theme: str, source: str, extra: Iterable[str]) -> list[str]:
    """theme:<theme>, source:seed-NNN for each seed named in `source`, plus `extra`."""
    tags = [f"theme:{theme}"]
    numbers = [n for group in re.findall(r"seeds? ((?:\d{3}(?:/|, | and )?)+)", source) for n in re.findall(r"\d{3}", group)]
    tags += [f"source:seed-{n}" for n in sorted(dict.fromkeys(numbers))]
    tags.extend(extra)
    return tags


def _run(fn: Callable[[Any, Check], None], args: Any, check: Check) -> None:
    """Run a rule; an unknown it touched through the SDK proxies directly also ends as "cannot verify"."""
    try:
        fn(args, check)
    except CannotVerify:
        raise
    except UnknownValueError as err:  # a direct proxy access hit an unknown
        check.unknowns.append((".".join(err.props) or "a property", PREVIEW))
    check.finish()


def _declare(
    policy_class: type,
    validate: Callable[..., None],
    kind: str,
    *,
    name: str,
    theme: str,
    summary: str,
    severity: Severity,
    types: Sequence[str],
    checks: str,
    source: str,
    remediation: str,
    url: Optional[str] = None,
    config_schema: Optional[PolicyConfigSchema] = None,
    environment_specific: bool = False,
    tags: Iterable[str] = (),
) -> Any:
    """The SDK policy (`policy_class`) with the pack's declaration fields, and its `RuleInfo`."""
    policy = policy_class(
        name=name,
        description=_description(summary, source),
        validate=validate,
        severity=severity,
        remediation_steps=remediation,
        url=url,
        config_schema=config_schema,
        tags=_tags(theme, source, tags),
    )
    policy.info = RuleInfo(theme, tuple(types), checks, source, kind, environment_specific)
    return policy


def resource_policy(
    *, applies_to: Optional[Callable[[str], bool]] = None, **declaration: Any
) -> Callable[[Callable[[ResourceValidationArgs, Check], None]], ResourceValidationPolicy]:
    """Turn `fn(args, check)` into a ResourceValidationPolicy that runs on `types` only (or on the
    types `applies_to(type_token)` accepts, for rules that cover a whole provider). `declaration`:
    name, theme, summary, severity, types, checks, source, remediation, and optionally url,
    config_schema, environment_specific, tags (see `_declare`)."""
    type_set = frozenset(declaration["types"])
    applies = applies_to or type_set.__contains__

    def decorate(fn: Callable[[ResourceValidationArgs, Check], None]) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation) -> None:
            if not applies(args.resource_type):
                return
            _run(fn, args, Check(report_violation))

        policy = _declare(ResourceValidationPolicy, validate, "resource", **declaration)
        policy.applies = applies
        return policy

    return decorate


def stack_policy(**declaration: Any) -> Callable[[Callable[[StackValidationArgs, Check], None]], StackValidationPolicy]:
    """Turn `fn(args, check)` into a StackValidationPolicy (same `declaration` as `resource_policy`).
    `check.fail(message, urn)`."""

    def decorate(fn: Callable[[StackValidationArgs, Check], None]) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report_violation) -> None:
            _run(fn, args, Check(report_violation, stack=True))

        return _declare(StackValidationPolicy, validate, "stack", **declaration)

    return decorate


def config_number(args: Any, key: str, default: float) -> float:
    """A numeric policy config value (the CLI sends numbers as floats)."""
    value = args.get_config().get(key, default) if args.get_config() is not None else default
    try:
        return float(value)
    except (TypeError, ValueError):
        return float(default)


def config_text(args: Any, key: str) -> Optional[str]:
    config = args.get_config() or {}
    value = config.get(key)
    return value if isinstance(value, str) and value else None
