"""Regenerate policies/rules/labelable.py from the pinned provider SDKs.

    ./venv/bin/python -m tests.policies.gen_labelable

The policy pack runs with only pulumi-policy installed, so it cannot import pulumi_gcp/pulumi_aws
to ask which resource types take labels/tags. This script reads the SDK sources (the type token in
each resource's `super().__init__('<token>', ...)` call and the engine names of its `...Args`
getters) and writes a static table: type token -> where its labels/tags live.

Rules applied:
- AWS: a `tags` input that is a map -> "tags" (lists such as autoscaling `tags` are skipped).
- GCP: a `labels` input that is a map -> "labels"; `userLabels` when that is the label field
  (monitoring; NotificationChannel's `labels` are channel settings, not labels); GKE clusters ->
  "resourceLabels". GCP `tags` are Resource Manager tags, not labels, and are ignored.
- Nested label fields the scan cannot see: Cloud SQL `settings.userLabels`, GKE node pools
  `nodeConfig.resourceLabels`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Optional

SITE = Path(__file__).resolve().parents[2] / "venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
OUT = Path(__file__).resolve().parents[2] / "policies" / "rules" / "labelable.py"

_TOKEN_RE = re.compile(r"super\((\w+), __self__\)\.__init__\(\s*'([^']+)'")
_GETTER_RE = re.compile(
    r"@pulumi\.getter(?:\(name=\"(\w+)\"\))?\n"
    r"(?:\s+@_utilities\.deprecated\(\"\"\"[\s\S]*?\"\"\"\)\n)?"  # deprecated properties are still inputs
    r"\s+def (\w+)\(self\)\s*->\s*([^\n]+):\n"
)

NESTED = {
    "gcp:sql/databaseInstance:DatabaseInstance": "settings.userLabels",
    "gcp:container/nodePool:NodePool": "nodeConfig.resourceLabels",
}


def _args_getters(text: str, cls: str) -> Optional[dict[str, str]]:
    for name in (f"{cls}Args", f"{cls}InitArgs"):
        match = re.search(r"^class %s:\n(.*?)(?=^class )" % re.escape(name), text, re.S | re.M)
        if match:
            return {(g.group(1) or g.group(2)): g.group(3) for g in _GETTER_RE.finditer(match.group(1))}
    return None


def scan(site: Path = SITE) -> dict[str, str]:
    table: dict[str, str] = {}
    for package in ("pulumi_gcp", "pulumi_aws"):
        for path in sorted((site / package).rglob("*.py")):
            if path.name.startswith("_"):
                continue
            text = path.read_text(errors="ignore")
            for match in _TOKEN_RE.finditer(text):
                token = match.group(2)
                getters = _args_getters(text, token.rsplit(":", 1)[-1]) or {}
                is_map = {k: "Mapping[" in v for k, v in getters.items()}
                if token in NESTED:
                    table[token] = NESTED[token]
                elif package == "pulumi_aws":
                    if is_map.get("tags"):
                        table[token] = "tags"
                elif token == "gcp:container/cluster:Cluster" and is_map.get("resourceLabels"):
                    table[token] = "resourceLabels"
                elif is_map.get("userLabels"):
                    table[token] = "userLabels"
                elif is_map.get("labels"):
                    table[token] = "labels"
    return dict(sorted(table.items()))


def render(table: dict[str, str]) -> str:
    by_path: dict[str, list[str]] = {}
    for token, path in table.items():
        by_path.setdefault(path, []).append(token)
    lines = [
        '"""Where each GCP/AWS resource type keeps its labels/tags (engine property path).',
        "",
        "GENERATED from the pinned provider SDKs by `python -m tests.policies.gen_labelable`; do not edit.",
        "Kubernetes objects are not listed: every one of them has `metadata.labels`.",
        '"""',
        "",
        "# fmt: off",
        "_BY_PATH: dict[str, tuple[str, ...]] = {",
    ]
    for path in sorted(by_path):
        lines.append(f"    {path!r}: (")
        lines.extend(f"        {token!r}," for token in by_path[path])
        lines.append("    ),")
    lines += [
        "}",
        "# fmt: on",
        "",
        "LABEL_PATH: dict[str, str] = {token: path for path, tokens in _BY_PATH.items() for token in tokens}",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    table = scan()
    OUT.write_text(render(table))
    print(f"wrote {len(table)} types to {OUT}")


if __name__ == "__main__":
    main()
