"""The type tokens and engine property names the rules use exist in the pinned provider SDKs.

Two checks against the SDK sources in site-packages (read as text, nothing imported):
- every type token a rule declares is the token of a resource class (`super().__init__('<token>')`);
- every property path of every resource in the rule tests resolves through the `...Args` classes by
  engine (camelCase) name. The rule tests' passing cases only pass when a rule reads the names those
  resources use, so a misspelled property in a rule or a test fails here or there.
Free-form maps (labels, annotations, limits, data) and JSON strings (ECS containerDefinitions, WAF
ruleJson) are not descended into; Kubernetes custom resources (GKE FrontendConfig/BackendConfig,
Prometheus rules) have no SDK class and are skipped.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Optional

import pulumi_policy
import pytest

from policies.pack import ALL_POLICIES
from policies.rules.labelable import LABEL_PATH
from tests.policies.test_rules import CASES

SITE = Path(pulumi_policy.__file__).resolve().parents[1]
PACKAGES = {"gcp": "pulumi_gcp", "aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "random": "pulumi_random"}
CUSTOM_RESOURCES = {
    "kubernetes:networking.gke.io/v1beta1:FrontendConfig",
    "kubernetes:cloud.google.com/v1:BackendConfig",
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    "kubernetes:argoproj.io/v1alpha1:Rollout",
}
_GETTER_RE = re.compile(
    r"@pulumi\.getter(?:\(name=\"(\w+)\"\))?\n"
    r"(?:\s+@_utilities\.deprecated\(\"\"\"[\s\S]*?\"\"\"\)\n)?"  # deprecated properties are still inputs
    r"\s+def (\w+)\(self\)\s*->\s*([^\n]+):\n"
)
_ARGS_REF_RE = re.compile(r"'([\w.]+Args)'")


@functools.lru_cache(maxsize=None)
def _text(path: Path) -> str:
    return path.read_text(errors="ignore")


@functools.lru_cache(maxsize=None)
def resource_file(token: str) -> Optional[Path]:
    provider, module, name = token.split(":")
    package = SITE / PACKAGES[provider]
    if provider == "kubernetes":
        group, version = module.split("/")
        candidate = package / group.split(".")[0] / version / f"{name}.py"  # networking.k8s.io -> networking
        candidates = [candidate] if candidate.exists() else []
    else:
        directory = package if module.startswith("index/") else package / module.split("/")[0]
        candidates = [p for p in directory.glob("*.py") if p.stem.replace("_", "").lower() == name.lower()]
    for path in candidates:
        if f"'{token}'" in _text(path) or f'f"kubernetes:{{api_version}}:{{kind}}"' in _text(path):
            return path
    return None


@functools.lru_cache(maxsize=None)
def getters(path: Path, cls: str) -> Optional[dict[str, str]]:
    match = re.search(r"^class %s:\n(.*?)(?=^class |\Z)" % re.escape(cls), _text(path), re.S | re.M)
    if not match:
        return None
    return {(g.group(1) or g.group(2)): g.group(3) for g in _GETTER_RE.finditer(match.group(1))}


def _nested(annotation: str, here: Path) -> Optional[tuple[Path, str]]:
    """The Args class an annotation refers to, or None for scalars and free-form maps."""
    if "Mapping[str" in annotation or annotation.strip().endswith("Any]") or "'" not in annotation:
        return None
    ref = _ARGS_REF_RE.search(annotation)
    if not ref:
        return None
    name = ref.group(1)
    if name.startswith("_"):  # Kubernetes cross-module reference: '_meta.v1.ObjectMetaArgs'
        *parts, cls = name[1:].split(".")
        return SITE / "pulumi_kubernetes" / Path(*parts) / "_inputs.py", cls
    inputs = here if here.name == "_inputs.py" else here.parent / "_inputs.py"
    return inputs, name


def unresolved(value: Any, path: Path, cls: str, where: str) -> list[str]:
    fields = getters(path, cls)
    if fields is None:
        return [f"{where}: no class {cls} in {path.relative_to(SITE)}"]
    problems: list[str] = []
    for key, item in value.items():
        if key not in fields:
            problems.append(f"{where}.{key}: not a property of {cls}")
            continue
        target = _nested(fields[key], path)
        if target is None:
            continue
        elements = item if isinstance(item, list) else [item]
        for index, element in enumerate(elements):
            if isinstance(element, dict):
                problems += unresolved(element, target[0], target[1], f"{where}.{key}" + (f"[{index}]" if isinstance(item, list) else ""))
    return problems


def check_resource(token: str, inputs: dict[str, Any]) -> list[str]:
    path = resource_file(token)
    if path is None:
        return [f"{token}: no such resource in the SDK"]
    name = token.rsplit(":", 1)[-1]
    for cls in (f"{name}Args", f"{name}InitArgs"):
        if getters(path, cls) is not None:
            return unresolved(inputs, path, cls, token)
    return [f"{token}: no Args class"]


def _declared_tokens() -> set[str]:
    tokens = set()
    for policy in ALL_POLICIES:
        tokens |= {t for t in policy.info.types if "*" not in t and t not in CUSTOM_RESOURCES}
    return tokens


@pytest.mark.parametrize("token", sorted(_declared_tokens()))
def test_rule_type_tokens_exist(token: str) -> None:
    assert resource_file(token) is not None, token


def test_test_resources_use_sdk_property_names() -> None:
    problems: list[str] = []
    seen: set[str] = set()
    for case in CASES:
        for resource in case.build():
            token = resource["type"]
            if token in CUSTOM_RESOURCES or token.startswith("aiplatform:"):
                continue
            for problem in check_resource(token, resource["inputs"]):
                if problem not in seen:
                    seen.add(problem)
                    problems.append(f"{case.policy} / {case.id}: {problem}")
    assert problems == []


def test_label_table_matches_the_sdk() -> None:
    """labelable.py is generated; spot-check entries the design uses, and that nested paths exist."""
    expected = {
        "gcp:cloudrunv2/service:Service": "labels",
        "gcp:storage/bucket:Bucket": "labels",
        "gcp:redis/instance:Instance": "labels",
        "gcp:sql/databaseInstance:DatabaseInstance": "settings.userLabels",
        "gcp:container/cluster:Cluster": "resourceLabels",
        "gcp:container/nodePool:NodePool": "nodeConfig.resourceLabels",
        "gcp:monitoring/alertPolicy:AlertPolicy": "userLabels",
        "gcp:monitoring/notificationChannel:NotificationChannel": "userLabels",
        "aws:ecs/taskDefinition:TaskDefinition": "tags",
        "aws:cloudfront/distribution:Distribution": "tags",
        "aws:s3/bucket:Bucket": "tags",
    }
    assert {t: LABEL_PATH.get(t) for t in expected} == expected
    assert "gcp:firestore/database:Database" not in LABEL_PATH  # its `tags` are Resource Manager tags
    assert "aws:autoscaling/group:Group" not in LABEL_PATH  # list-shaped tags
    for token, path in expected.items():
        head, _, last = path.rpartition(".")
        sample: dict[str, Any] = {last: {"app": "x"}}
        for part in reversed(head.split(".") if head else []):
            sample = {part: sample}
        assert check_resource(token, sample) == [], token
