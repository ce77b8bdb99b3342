"""What Pulumi sends for a resource that has `ignore_changes`: the engine's rule, for day-2 tests.

For every ignored property path the engine takes the value from the *old* inputs (the state) and
puts it into the new inputs; when the old inputs have no value at that path, the new value is
dropped. So a program change under an ignored path never reaches the provider, and a value that
first appears under an ignored path in the same update that turns the ignore on is lost. These
helpers compute the inputs an update would send, from two plans (before, after)."""

from __future__ import annotations

import copy
import re
from typing import Any

_MISSING = object()
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\[\"([^\"]+)\"\]")


def path_parts(path: str) -> list[Any]:
    """'settings.diskSize' -> ['settings', 'diskSize']; 'a[0].b' -> ['a', 0, 'b']."""
    parts: list[Any] = []
    for name, index, quoted in _PART.findall(path):
        parts.append(int(index) if index else (quoted or name))
    return parts


def _get(node: Any, parts: list[Any]) -> Any:
    for part in parts:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


def _set(node: Any, parts: list[Any], value: Any) -> None:
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, dict):
            node = node.setdefault(part, {} if isinstance(parts[i + 1], str) else [])
        else:
            node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        while len(node) <= last:
            node.append(None)
    node[last] = value


def _drop(node: Any, parts: list[Any]) -> None:
    parent = _get(node, parts[:-1])
    if isinstance(parent, dict):
        parent.pop(parts[-1], None)
    elif isinstance(parent, list) and isinstance(parts[-1], int) and parts[-1] < len(parent):
        del parent[parts[-1]]


def sent_inputs(old: dict[str, Any], new: dict[str, Any], ignore_changes: list[str]) -> dict[str, Any]:
    """The inputs an update sends: `new`, with each ignored path's value taken from `old` (or
    dropped when `old` has none)."""
    sent = copy.deepcopy(new)
    for path in ignore_changes:
        parts = path_parts(path)
        kept = _get(old, parts)
        if kept is _MISSING:
            _drop(sent, parts)
        else:
            _set(sent, parts, copy.deepcopy(kept))
    return sent


def swallowed(old: dict[str, Any], new: dict[str, Any], ignore_changes: list[str]) -> list[str]:
    """The ignored paths under which the program's new value differs from what would be sent."""
    sent = sent_inputs(old, new, ignore_changes)
    return [p for p in ignore_changes if _get(sent, path_parts(p)) != _get(new, path_parts(p))]
