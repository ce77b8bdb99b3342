"""Every custom resource of every stack's plan matches its CRD schema (issue 9).

Mocks accept any custom resource; the API server does not: a wrong type, a missing required
field or a bad enum is rejected at `pulumi up`, and a misspelled field is pruned silently (the
setting just never applies) or rejected under strict field validation. The check uses the
maintained kubernetes-models packages (`package.json`: @kubernetes-models/prometheus-operator,
@kubernetes-models/gke, @kubernetes-models/argo-rollouts; installed by `npm ci`), through `tests/crd_validate.mjs`:
- the models' schema validators (generated from the CRDs' openAPIV3Schema);
- the models' TypeScript interfaces, so that an unknown field is an error too.

A custom resource is any object `kubernetes-validate` has no built-in schema for; each such kind
must have a validator, so a new kind cannot pass unchecked.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.helpers import k8s_objects, plan_of, vectordb_stacks
from tools.plan import available_stacks as shipped_stacks


def available_stacks() -> list[str]:
    """The shipped stacks and, for those with custom resources (Kubernetes), each with the vector
    database on: its PodMonitor (with a Bearer token) must match the CRD too."""
    kubernetes = [s for s in shipped_stacks() if plan_of(s).platform in ("kubernetes", "gke")]
    return shipped_stacks() + list(vectordb_stacks(kubernetes))

REPO = Path(__file__).resolve().parent.parent
VALIDATOR = REPO / "tests" / "crd_validate.mjs"
K8S_VERSION = kubernetes_validate.utils.latest_version()


def is_custom_resource(obj: dict[str, Any]) -> bool:
    """True when Kubernetes itself has no schema for the kind (it comes from a CRD)."""
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=False)
    except kubernetes_validate.utils.SchemaNotFoundError:
        return True
    except kubernetes_validate.ValidationError:
        pass  # a built-in kind (its own validity is the built-in validation tests' business)
    return False


def custom_resources(stack: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{stack}:{obj['kind']}/{obj['metadata'].get('name')}", obj)
        for obj in k8s_objects(plan_of(stack).capture.resources)
        if is_custom_resource(obj)
    ]


def run_validator(*args: str, stdin: str | None = None) -> Any:
    node = shutil.which("node")
    assert node, "node is needed for the CRD schema check"
    assert (REPO / "node_modules" / "@kubernetes-models").is_dir(), "run `npm ci` (the CRD models, package.json)"
    result = subprocess.run(
        [node, str(VALIDATOR), *args], input=stdin, capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- mutants: each must fail, proving the check sees that class of mistake --------------------


def _first(kind: str) -> dict[str, Any]:
    for stack in available_stacks():
        for _, obj in custom_resources(stack):
            if obj["kind"] == kind:
                return copy.deepcopy(obj)
    raise AssertionError(f"no {kind} in any plan")


def _misspelled_endpoint_port() -> dict[str, Any]:
    monitor = _first("ServiceMonitor")
    endpoint = monitor["spec"]["endpoints"][0]
    endpoint["prot"] = endpoint.pop("port", "http")
    return monitor


def _misspelled_backend_cdn() -> dict[str, Any]:
    backend = _first("BackendConfig")
    backend["spec"]["cdn"]["enable"] = backend["spec"]["cdn"].pop("enabled")
    return backend


def _rule_without_expr() -> dict[str, Any]:
    rule = _first("PrometheusRule")
    del rule["spec"]["groups"][0]["rules"][0]["expr"]
    return rule


def _certificate_domains_not_a_list() -> dict[str, Any]:
    cert = _first("ManagedCertificate")
    cert["spec"]["domains"] = cert["spec"]["domains"][0]
    return cert


def _bad_snapshot_deletion_policy() -> dict[str, Any]:
    snapshot_class = _first("VolumeSnapshotClass")
    snapshot_class["deletionPolicy"] = "Keep"
    return snapshot_class


def _misspelled_canary_weight() -> dict[str, Any]:
    rollout = _first("Rollout")
    step = rollout["spec"]["strategy"]["canary"]["steps"][0]
    step["setWeigth"] = step.pop("setWeight")
    return rollout


def _analysis_metric_without_name() -> dict[str, Any]:
    template = _first("AnalysisTemplate")
    del template["spec"]["metrics"][0]["name"]
    return template


def _unknown_kind() -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}


MUTANTS = {
    "ServiceMonitor spec.endpoints[0].prot": (_misspelled_endpoint_port, "prot"),
    "BackendConfig spec.cdn.enable": (_misspelled_backend_cdn, "enable"),
    "PrometheusRule rule without expr": (_rule_without_expr, "expr"),
    "ManagedCertificate domains as a string": (_certificate_domains_not_a_list, "domains"),
    "VolumeSnapshotClass deletionPolicy Keep": (_bad_snapshot_deletion_policy, "deletionPolicy"),
    "Rollout canary step setWeigth": (_misspelled_canary_weight, "setWeigth"),
    "AnalysisTemplate metric without name": (_analysis_metric_without_name, "name"),
    "unknown kind": (_unknown_kind, "no validator"),
}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, list[str]]:
    """One validator run over every custom resource of every plan plus the mutants."""
    items = [{"id": cr_id, "object": obj} for stack in available_stacks() for cr_id, obj in custom_resources(stack)]
    items += [{"id": f"mutant:{name}", "object": build()} for name, (build, _) in MUTANTS.items()]
    return {r["id"]: r["errors"] for r in run_validator(stdin=json.dumps(items))}


@pytest.mark.parametrize("stack", available_stacks())
def test_every_custom_resource_matches_its_crd_schema(stack, verdicts):
    failures = {cr_id: verdicts[cr_id] for cr_id, _ in custom_resources(stack) if verdicts[cr_id]}
    assert failures == {}


def test_every_custom_resource_kind_in_the_plans_has_a_validator():
    supported = set(run_validator("--kinds"))
    kinds = {f"{obj['apiVersion']}/{obj['kind']}" for stack in available_stacks() for _, obj in custom_resources(stack)}
    # the kinds the stacks create today (more may come: each needs an entry in crd_validate.mjs)
    assert {
        "monitoring.coreos.com/v1/PrometheusRule",
        "monitoring.coreos.com/v1/ServiceMonitor",
        "monitoring.coreos.com/v1alpha1/AlertmanagerConfig",
        "cloud.google.com/v1/BackendConfig",
        "networking.gke.io/v1/ManagedCertificate",
        "networking.gke.io/v1beta1/FrontendConfig",
        "snapshot.storage.k8s.io/v1/VolumeSnapshotClass",
        "argoproj.io/v1alpha1/Rollout",
        "argoproj.io/v1alpha1/AnalysisTemplate",
    } <= kinds
    assert kinds - supported == set()


def test_built_in_kinds_are_not_taken_for_custom_resources():
    assert not is_custom_resource({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}})
    assert is_custom_resource(_unknown_kind())


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_a_broken_custom_resource_fails(mutant, verdicts):
    errors = verdicts[f"mutant:{mutant}"]
    assert errors, f"{mutant} passed validation"
    assert any(MUTANTS[mutant][1] in e for e in errors), errors
