"""What the pinned pulumi_gcp SDK documents about a resource's inputs, read from its `...Args`
classes: the engine (camelCase) name of each property, its nested Args class, and its docstring.

The GCP constraint tests use it to apply the SDK's own statements ("Possible values are: ...",
"Changing this forces a new resource to be created") to every resource of every GCP stack, so a
value the API rejects, or an input whose change replaces data, is found without a cloud account.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional

_ARGS_RE = re.compile(r"(\w+Args)\b")
_POSSIBLE_RE = re.compile(r"Possible values are:?\s*(.+?)(?:\.\s|\.$|$)", re.S)
_VALUE_RE = re.compile(r"[\"`']([A-Za-z0-9_.\-]+)[\"`']")


@dataclass(frozen=True)
class Prop:
    python_name: str
    doc: str
    nested: Optional[type]  # the Args class of a nested object (or list of them)

    @property
    def allowed(self) -> Optional[frozenset[str]]:
        """The values "Possible values are: ..." lists, or None when the docstring lists none."""
        match = _POSSIBLE_RE.search(self.doc)
        if not match:
            return None
        values = _VALUE_RE.findall(match.group(1))
        return frozenset(values) or None


def args_class(type_token: str) -> Optional[type]:
    """'gcp:storage/bucket:Bucket' -> pulumi_gcp.storage.BucketArgs (None if the SDK has none)."""
    provider, module, name = type_token.split(":")
    if provider != "gcp":
        return None
    package = importlib.import_module(f"pulumi_gcp.{module.split('/')[0]}")
    return getattr(package, f"{name}Args", None)


@functools.lru_cache(maxsize=None)
def properties(cls: type) -> dict[str, Prop]:
    """Engine name -> Prop for every input property of an Args class."""
    package = importlib.import_module(cls.__module__.rsplit(".", 1)[0])
    found: dict[str, Prop] = {}
    for python_name, member in inspect.getmembers(cls, lambda m: isinstance(m, property)):
        fget = member.fget
        engine = getattr(fget, "_pulumi_name", python_name)
        annotation = str(fget.__annotations__.get("return", ""))
        ref = _ARGS_RE.search(annotation)
        nested = getattr(package, ref.group(1), None) if ref else None
        found[engine] = Prop(python_name=python_name, doc=inspect.getdoc(fget) or "", nested=nested)
    return found


def walk(cls: type, inputs: Any, path: str = "") -> Iterator[tuple[str, Prop, Any]]:
    """(engine path, Prop, value) for every documented scalar or object input, descending into
    nested Args classes and lists of them; list indexes are left out of the path."""
    if not isinstance(inputs, dict):
        return
    props = properties(cls)
    for key, value in inputs.items():
        prop = props.get(key)
        if prop is None:
            continue
        here = f"{path}.{key}" if path else key
        yield here, prop, value
        if prop.nested is not None:
            for item in value if isinstance(value, list) else [value]:
                yield from walk(prop.nested, item, here)
