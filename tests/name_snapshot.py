"""The physical names each shipped stack plans, as a checked-in snapshot.

A physical name that changes replaces the resource (and the data in it), so the names the shipped
stacks plan are recorded in `tests/snapshots/physical-names.json` and `tests/test_name_stability.py`
compares every plan with them. The snapshot was taken before the naming scheme derived names from
the full stack name; regenerate it only for a deliberate, announced rename:

    python -m tests.name_snapshot --write
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tests.naming_rules import NAME_FIELDS
from tools.harness import Registration

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "physical-names.json"
EXTRA_FIELDS = ("roleId",)  # names that are not among NAME_FIELDS (GCP custom role ids)


def resource_key(urn: str) -> str:
    """The URN without `urn:pulumi:<stack>::<project>::` (the same in every resource of a plan)."""
    return urn.split("::", 2)[2]


def physical_names(resources: list[Registration]) -> dict[str, dict[str, str]]:
    """resource key (resource_key) -> {property: physical name} for every resource whose name the
    program sets."""
    names: dict[str, dict[str, str]] = {}
    for reg in resources:
        if not reg.custom:
            continue
        found: dict[str, Any] = {}
        if reg.type.startswith("kubernetes:"):
            metadata = reg.inputs.get("metadata") or {}
            found = {f"metadata.{k}": metadata.get(k) for k in ("name", "namespace")}
        else:
            found = {f: reg.inputs.get(f) for f in (*NAME_FIELDS, *EXTRA_FIELDS)}
        found = {k: v for k, v in found.items() if isinstance(v, str) and v not in ("[unknown]", "[secret]")}
        if found:
            names[resource_key(reg.urn)] = found
    return names


def snapshot_of_shipped_stacks() -> dict[str, dict[str, dict[str, str]]]:
    from tests.helpers import plan_of
    from tools.plan import available_stacks

    return {stack: physical_names(plan_of(stack).capture.resources) for stack in available_stacks()}


def render(snapshot: dict[str, dict[str, dict[str, str]]]) -> str:
    """JSON with one line per resource, so a rename shows as a one-line diff."""
    stacks = []
    for stack, names in sorted(snapshot.items()):
        lines = [f"  {json.dumps(key)}: {json.dumps(value, sort_keys=True)}" for key, value in sorted(names.items())]
        stacks.append(f" {json.dumps(stack)}: {{\n" + ",\n".join(lines) + "\n }")
    return "{\n" + ",\n".join(stacks) + "\n}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"write {SNAPSHOT.name}")
    args = parser.parse_args()
    text = render(snapshot_of_shipped_stacks())
    if args.write:
        SNAPSHOT.write_text(text)
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
