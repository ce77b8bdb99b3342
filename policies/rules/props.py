"""Reading resource properties the way the policy SDK hands them over.

Under the real CLI a rule receives `args.props` as the SDK's unknown-checking proxies
(`Mapping`/`Sequence` objects that raise `UnknownValueError` when an unknown value is touched),
with every number a float (protobuf `Struct`) and secret values already unwrapped to plain text.
The offline plan (`policies/offline.py`) builds the very same proxies from the plan's JSON, where
unknowns arrive as "[unknown]" and secrets as "[secret]".

The helpers here never raise on unknowns: they return an `Unknown` marker that says where the
value could not be read and why, so a rule can keep checking everything else and report
"cannot verify ..." for the rest (see `base.Check`).

Never put a property value into a violation message unless it is a setting name/enum (a TLS
version, an ingress mode): under the CLI secret values are plain text here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Iterator, Optional, Union

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

#: How the offline plan writes values it cannot know / must not show.
OFFLINE_UNKNOWN = "[unknown]"
OFFLINE_SECRET = "[secret]"

SDK_UNKNOWNS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)

#: How the engine marks a secret in the properties it sends an analyzer (pulumi/pulumi
#: sdk/go/common/resource/properties.go; the CLI marshals analyzer inputs with KeepSecrets):
#: {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": <plain text>}.
#: pulumi-policy 1.21.0 unwraps it to the plain value before a validation rule sees it
#: (`deserialize_properties` without `proxy_secrets`), so no rule could tell a secret from a
#: literal; `mark_engine_secrets` turns it into OFFLINE_SECRET instead (policies/pack.py).
ENGINE_SIG_KEY = "4dabf18193072939515e22adb298388d"
ENGINE_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

PREVIEW = "value unknown during preview"
SECRET = "value is a secret (not readable in the offline plan)"


def mark_engine_secrets(value: Any) -> Any:
    """Engine-encoded property JSON with every secret replaced by OFFLINE_SECRET, so rules see a
    secret as the offline plan shows it: never its plain text, always recognisable as a secret."""
    if isinstance(value, dict):
        if value.get(ENGINE_SIG_KEY) == ENGINE_SECRET_SIG:
            return OFFLINE_SECRET
        return {k: mark_engine_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mark_engine_secrets(v) for v in value]
    return value


class Unknown:
    """A value a rule cannot read: unknown during preview, or hidden as a secret offline.

    Falsy, so a careless `if value:` fails closed (treated as "not set") -- rules must test
    `is_unknown()` first so that the result is "cannot verify", never a false pass.
    """

    __slots__ = ("path", "reason")

    def __init__(self, path: str, reason: str = PREVIEW):
        self.path = path
        self.reason = reason

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"Unknown({self.path!r}, {self.reason!r})"


Path = Union[str, Sequence[Union[str, int]]]


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def _split(path: Path) -> list[Union[str, int]]:
    if isinstance(path, str):
        return [int(p) if p.isdigit() else p for p in path.split(".")] if path else []
    return list(path)


def _classify(value: Any, where: str, secret_ok: bool) -> Any:
    if isinstance(value, str):
        if value in SDK_UNKNOWNS or value == OFFLINE_UNKNOWN:
            return Unknown(where)
        if value == OFFLINE_SECRET and not secret_ok:
            return Unknown(where, SECRET)
    return value


def get(node: Any, path: Path = "", default: Any = None, *, secret_ok: bool = False) -> Any:
    """`node[path...]`, or `default` when a key/index is missing or a parent is not a container,
    or `Unknown` when the value (or a parent) is unknown.

    `path` is "a.b.0.c" or a sequence of keys (use a sequence for keys containing dots, such as
    annotation names). With `secret_ok=True` an offline "[secret]" is returned as is.
    """
    where: list[str] = []
    current = _classify(node, "<root>", secret_ok)
    for key in _split(path):
        where.append(str(key))
        if is_unknown(current):
            current.path = ".".join(where)
            return current
        try:
            if isinstance(current, (str, bytes)) or not isinstance(current, (Mapping, Sequence)):
                return default
            if isinstance(current, Mapping):
                if key not in current:
                    return default
                current = current[key]
            else:
                index = int(key)
                if index >= len(current) or index < -len(current):
                    return default
                current = current[index]
        except UnknownValueError:
            return Unknown(".".join(where))
        except (TypeError, ValueError, KeyError, IndexError):
            return default
        current = _classify(current, ".".join(where), secret_ok)
    if current is None:
        return default
    return current


def seq(value: Any, where: str = "") -> Union[list[Any], Unknown]:
    """A property that should be a list: its elements (each maybe `Unknown`), [] when unset."""
    if is_unknown(value):
        return value
    if value is None or isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        return []
    out: list[Any] = []
    for index in range(len(value)):
        try:
            out.append(_classify(value[index], f"{where}[{index}]", False))
        except UnknownValueError:
            out.append(Unknown(f"{where}[{index}]"))
    return out


def items(value: Any, where: str = "") -> Union[list[tuple[str, Any]], Unknown]:
    """A property that should be a mapping: its (key, value) pairs, values maybe `Unknown`."""
    if is_unknown(value):
        return value
    if not isinstance(value, Mapping):
        return []
    out: list[tuple[str, Any]] = []
    for key in list(value):
        try:
            out.append((key, _classify(value[key], f"{where}.{key}", False)))
        except UnknownValueError:
            out.append((key, Unknown(f"{where}.{key}")))
    return out


def mapping(value: Any, where: str = "") -> Union[dict[str, Any], Unknown]:
    found = items(value, where)
    return found if is_unknown(found) else dict(found)


def number(value: Any) -> Union[float, Unknown, None]:
    """Numbers arrive as floats under the CLI, ints offline, sometimes as strings ("2")."""
    if is_unknown(value):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def truthy(value: Any) -> Union[bool, Unknown, None]:
    """True/False for booleans and their string forms, None when unset, Unknown passes through."""
    if is_unknown(value):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def is_set(value: Any) -> Union[bool, Unknown]:
    """Whether a property holds something (a secret marker counts as set)."""
    if is_unknown(value):
        return value
    if value is None:
        return False
    if isinstance(value, (str, bytes, Mapping)) or isinstance(value, Sequence):
        return len(value) > 0
    return True


def parse_json(value: Any, where: str) -> Any:
    """A JSON-string property (ECS `containerDefinitions`): the parsed value, `Unknown`, or
    `Invalid` when it is not JSON."""
    if is_unknown(value):
        return value
    if isinstance(value, str):
        if value == OFFLINE_SECRET:
            return Unknown(where, SECRET)
        if value in SDK_UNKNOWNS or value == OFFLINE_UNKNOWN:
            return Unknown(where)
        try:
            return json.loads(value)
        except ValueError:
            return Invalid(where)
    if isinstance(value, (Mapping, Sequence)):
        return value
    return None


class Invalid:
    """A property that should be JSON but does not parse (reported as a violation)."""

    __slots__ = ("path",)

    def __init__(self, path: str):
        self.path = path

    def __bool__(self) -> bool:
        return False


def to_plain(value: Any) -> Any:
    """Unwrap SDK proxies into plain dicts/lists (unknown leaves become `Unknown`)."""
    if is_unknown(value):
        return value
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in items(value)}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [to_plain(v) for v in seq(value)]
    return value


def walk_unknowns(value: Any, where: str = "") -> Iterator[Unknown]:
    """Every unknown leaf below `value` (for rules that must see a whole subtree)."""
    if is_unknown(value):
        yield value
    elif isinstance(value, Mapping):
        for key, item in items(value, where):
            yield from walk_unknowns(item, f"{where}.{key}" if where else key)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        for index, item in enumerate(seq(value, where)):
            yield from walk_unknowns(item, f"{where}[{index}]")


# ---------------------------------------------------------------------------------------------
# Small domain helpers shared by several rule modules
# ---------------------------------------------------------------------------------------------

_DIGEST_RE = re.compile(r"@sha256:[a-f0-9]{64}$")


def image_problem(image: str) -> Optional[str]:
    """Why a container image reference is not pinned, or None when it is.

    Pinned: a digest (`repo@sha256:...`), or a tag other than `latest`. A registry port
    (`host:5000/app`) is not a tag.
    """
    image = image.strip()
    if not image:
        return "has an empty image reference"
    if _DIGEST_RE.search(image):
        return None
    if "@" in image:
        return "uses a malformed digest (expected @sha256:<64 hex>)"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "is untagged (implicitly ':latest')"
    tag = last.rsplit(":", 1)[1]
    if not tag:
        return "has an empty tag"
    if tag.lower() == "latest":
        return "uses the mutable ':latest' tag"
    return None


def short(type_token: str) -> str:
    """'kubernetes:apps/v1:Deployment' -> 'Deployment' (for messages)."""
    return type_token.rsplit(":", 1)[-1]


def present(value: Any) -> bool:
    """For references that only need to *exist* (a certificate, a policy, a network, a token):
    an unknown value counts as set -- the program passed an Output the engine resolves later."""
    if is_unknown(value):
        return True
    return bool(is_set(value))
