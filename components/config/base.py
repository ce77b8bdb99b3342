"""Shared pieces of the stack schema: constants, the error, quantities, the base model, patterns.

Every other module of `components.config` (and each platform's settings beside its adapter in
`components/platforms/*_settings.py`) builds on these.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Any, Iterable, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

from components.data.registry import DATA_SERVICE_NAMES

PROJECT = "ai-assistant-platform"

PLATFORMS = ("kubernetes", "gke", "cloudrun", "ecs")
ENVIRONMENTS = ("dev", "staging", "prod")
DATA_SERVICES = DATA_SERVICE_NAMES  # the registry's (components/data/registry.py), in its order

class ConfigError(Exception):
    """Invalid stack configuration. The message is complete and safe to print as is."""


# ---------------------------------------------------------------------------------------------
# Quantities: CPU in millicores, memory in MiB. Accept what people write in the seeds.
# ---------------------------------------------------------------------------------------------

_CPU_RE = re.compile(r"^(?P<num>\d+(\.\d+)?)(?P<milli>m)?$")
_MEM_RE = re.compile(r"^(?P<num>\d+(\.\d+)?)(?P<unit>Mi|Gi)$")


def _parse_cpu(value: Any) -> int:
    """'500m', '0.5', 0.5, 2 -> millicores."""
    if isinstance(value, bool):
        raise ValueError("must be a number of vCPUs (0.5, 2) or millicores ('500m')")
    if isinstance(value, (int, float)):
        millis = round(float(value) * 1000)
    elif isinstance(value, str) and (m := _CPU_RE.match(value.strip())):
        num = float(m.group("num"))
        millis = round(num if m.group("milli") else num * 1000)
    else:
        raise ValueError("must be a number of vCPUs (0.5, 2) or millicores ('500m')")
    if millis < 10:
        raise ValueError("must be at least 10m")
    return millis


def _parse_memory(value: Any) -> int:
    """'512Mi', '2Gi' -> MiB."""
    if isinstance(value, str) and (m := _MEM_RE.match(value.strip())):
        num = float(m.group("num"))
        mib = round(num * 1024 if m.group("unit") == "Gi" else num)
        if mib < 16:
            raise ValueError("must be at least 16Mi")
        return mib
    raise ValueError("must be a quantity in Mi or Gi, such as '512Mi' or '2Gi'")


Millicores = Annotated[int, BeforeValidator(_parse_cpu)]
MebiBytes = Annotated[int, BeforeValidator(_parse_memory)]


def cpu_quantity(millicores: int) -> str:
    """Kubernetes CPU quantity: '500m' or '2'."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def memory_quantity(mib: int) -> str:
    """Kubernetes memory quantity: '512Mi' or '2Gi'."""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def _tuples(value: Any) -> Any:
    """YAML/JSON lists as tuples, at any depth (strict mode accepts only tuples for tuple fields)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


class _Model(BaseModel):
    """Frozen, strict about unknown keys and types, camelCase in YAML, snake_case in Python.

    Strict types: `port: true`, `minReplicas: "3"`, `cdn: "yes"`, `domain: 5` are refused with the
    expected type instead of being coerced (a bool is not a number, a quoted number is a string),
    so what the stack file says is what the cloud gets. YAML lists still load into tuple fields:
    they become tuples before validation (pydantic's strict mode takes only tuples for them)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
        strict=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _lists_are_tuples(cls, data: Any) -> Any:
        return _tuples(data) if isinstance(data, dict) else data


_IMAGE_RE = re.compile(
    r"^(?P<repo>[a-z0-9]+([._\-/:][a-z0-9]+)*?)"  # registry[:port]/path
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_SECRET_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SECRETISH_RE = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|APIKEY|PRIVATE_KEY|CREDENTIAL|_DSN$|_URL$|_URI$)")
_LABEL_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
_HOST_LABEL_RE = re.compile(r"^(@|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$")
_DOMAIN_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

DataServiceName = Literal[DATA_SERVICES]


def secret_config_key(env_name: str) -> str:
    """The Pulumi config key that holds a provided secret: OPENAI_API_KEY -> openaiApiKey."""
    head, *rest = env_name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class Problem:
    """One thing a config gets wrong, found without registering anything.

    `path` is the key path under the project namespace in camelCase (`services.api.cpu`), `value`
    the offending value (never a secret: secret values are not part of the schema), `allowed` what
    the cloud, the CLI or the program accepts instead.
    """

    path: str
    value: Any
    allowed: str

    def line(self) -> str:
        shown = "" if self.value is None else f" = {_shown(self.value)}"
        key = f"{PROJECT}:{self.path}" if self.path else PROJECT
        return f"  {key}{shown}: {self.allowed}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def close_keys(key: Any, allowed: Iterable[str]) -> list[str]:
    """The allowed key `key` is probably a misspelling of (difflib), if any."""
    return difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)


def unknown_key_problem(parent: str, key: Any, allowed: Iterable[str], extra: str = "", value: Any = None) -> Problem:
    """The one message for a key a section does not have, at any nesting level: the key, the
    closest allowed spellings (difflib) or else every allowed key. `parent` is the section's path
    ("" at the top), `extra` what else the section accepts (top level: provided secrets), `value`
    the key's value when it may be shown (never at the top level: a misspelt secret's key lives there)."""
    allowed = sorted(allowed)
    path = f"{parent}.{key}" if parent else str(key)
    close = close_keys(key, allowed)
    if close:
        return Problem(path, value, f"unknown key `{key}` (did you mean `{close[0]}`?)")
    where = f"under `{parent}`" if parent else "at the top level"
    return Problem(path, value, f"unknown key `{key}`; allowed {where}: {', '.join(allowed)}{extra}")


def problems_error(stack_file: str, problems: "list[Problem]") -> ConfigError:
    """One ConfigError listing every problem (the message names the stack file and says nothing was created)."""
    lines = [f"{stack_file}: invalid configuration ({len(problems)} problem(s)); nothing was created."]
    lines += [p.line() for p in problems]
    return ConfigError("\n".join(lines))
