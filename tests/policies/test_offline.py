"""policies/offline.py: the pack over an offline plan, as the CLI would run it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import ResourceValidationPolicy, StackValidationArgs

from policies.offline import CONFIG_POLICY, engine_values, evaluate
from policies.rules.props import Unknown, get, number, seq
from tests.policies.support import S, U, deployment, k8s_container, network_policy, res, with_sc

ROOTED = k8s_container(securityContext=with_sc(runAsNonRoot=None, runAsUser=0))


def _write(tmp_path: Path, stack: str, document: dict[str, Any]) -> Path:
    (tmp_path / "policies" / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "policies" / "config" / f"{stack}.json").write_text(json.dumps(document))
    return tmp_path


def _by_policy(violations: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for v in violations:
        grouped.setdefault(v["policy"], []).append(v)
    return grouped


def test_enforcement_levels_all_and_overrides(tmp_path: Path) -> None:
    project = _write(tmp_path, "s", {"all": "advisory", "container-non-root": "mandatory", "container-image-pinned": {"enforcementLevel": "remediate"}})
    workload = deployment([dict(ROOTED, image="redis")])
    found = _by_policy(evaluate("s", [workload], project))
    assert [v["enforcement"] for v in found["container-non-root"]] == ["mandatory"]
    assert [v["enforcement"] for v in found["container-image-pinned"]] == ["mandatory"]  # remediate blocks too
    assert [v["enforcement"] for v in found["resource-labels"]] == ["advisory"]
    assert found["container-non-root"][0]["urn"] == workload["urn"]
    assert set(found["container-non-root"][0]) == {"policy", "enforcement", "urn", "message"}


def test_disabled_policies_do_not_run(tmp_path: Path) -> None:
    project = _write(tmp_path, "s", {"all": "mandatory", "container-non-root": "disabled", "default-deny-network-policy": "disabled"})
    found = _by_policy(evaluate("s", [deployment([ROOTED])], project))
    assert "container-non-root" not in found and "default-deny-network-policy" not in found
    assert "resource-labels" in found  # the rest still runs


def test_stack_policies_report_the_resource_urn(tmp_path: Path) -> None:
    project = _write(tmp_path, "s", {"all": "disabled", "default-deny-network-policy": "mandatory"})
    workload = deployment()
    found = evaluate("s", [workload], project)
    assert [(v["policy"], v["urn"]) for v in found] == [("default-deny-network-policy", workload["urn"])]
    assert evaluate("s", [workload, network_policy()], project) == []


def test_config_values_reach_the_rules(tmp_path: Path) -> None:
    workload = deployment(replicas=2)
    project = _write(tmp_path, "s", {"all": "disabled", "min-replicas": {"enforcementLevel": "mandatory", "minReplicas": 3}})
    assert [v["policy"] for v in evaluate("s", [workload], project)] == ["min-replicas"]
    project = _write(tmp_path, "s", {"all": "disabled", "min-replicas": "mandatory"})  # schema default 2
    assert evaluate("s", [workload], project) == []


def test_unknowns_are_advisory_even_when_mandatory(tmp_path: Path) -> None:
    project = _write(tmp_path, "s", {"all": "disabled", "container-image-pinned": "mandatory", "container-non-root": "mandatory"})
    workload = deployment([dict(ROOTED, image=U), k8s_container(name="side", image="busybox")])
    found = evaluate("s", [workload], project)
    assert sorted((v["policy"], v["enforcement"]) for v in found) == [
        ("container-image-pinned", "advisory"),  # cannot verify container 'app'
        ("container-image-pinned", "mandatory"),  # ...but the readable container still fails
        ("container-non-root", "mandatory"),
    ]
    assert any(v["message"] == "cannot verify container 'app' image: value unknown during preview" for v in found)


def test_components_are_not_resources(tmp_path: Path) -> None:
    project = _write(tmp_path, "s", {"all": "mandatory"})
    component = res("aiplatform:app:KubernetesApp", {}, custom=False)
    assert evaluate("s", [component], project) == []


def test_waived_policies_say_so(tmp_path: Path) -> None:
    project = _write(
        tmp_path,
        "s",
        {"all": "disabled", "min-replicas": "advisory"},
    )
    (project / "policies" / "config" / "waivers.yaml").write_text("s:\n  min-replicas: {reason: single replica by design, reviewedBy: me}\n")
    (violation,) = evaluate("s", [deployment(replicas=1)], project)
    assert violation["enforcement"] == "advisory"
    assert violation["message"].endswith("(waived in policies/config/waivers.yaml: single replica by design)")


def test_a_broken_config_is_one_mandatory_violation(tmp_path: Path) -> None:
    project = _write(tmp_path, "s", {"typo-rule": "advisory"})
    assert evaluate("s", [deployment()], project) == [
        {"policy": CONFIG_POLICY, "enforcement": "mandatory", "urn": None, "message": "policies/config/s.json: unknown policy 'typo-rule' (the CLI would accept it and enforce nothing)"}
    ]


def test_missing_config_runs_everything_mandatory(tmp_path: Path) -> None:
    found = evaluate("nowhere", [deployment([ROOTED])], tmp_path)
    assert {v["enforcement"] for v in found} == {"mandatory"}
    assert "container-non-root" in {v["policy"] for v in found}


def test_props_arrive_as_the_cli_sends_them() -> None:
    """Numbers become floats, "[unknown]" the SDK sentinel; secrets stay "[secret]"."""
    converted = engine_values({"a": 2, "b": [1, True], "c": U, "d": S, "e": None})
    assert converted["a"] == 2.0 and isinstance(converted["a"], float)
    assert converted["b"] == [1.0, True] and converted["b"][1] is True
    assert converted["c"] == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert converted["d"] == S and converted["e"] is None

    seen: dict[str, Any] = {}

    def probe(args: Any, report: Any) -> None:
        seen["replicas"] = args.props["spec"]["replicas"]
        seen["image"] = get(args.props, "spec.template.spec.containers.0.image")
        seen["containers"] = seq(get(args.props, "spec.template.spec.containers"))

    policy = ResourceValidationPolicy(name="probe", description="probe", validate=probe)
    from policies.offline import evaluate_with
    from tests.policies.support import only

    config = only("min-replicas")
    config.levels["probe"] = config.levels["min-replicas"]
    evaluate_with(config, [deployment([k8s_container(image=U)], replicas=3)], [policy])
    assert isinstance(seen["replicas"], float) and number(seen["replicas"]) == 3.0
    assert isinstance(seen["image"], Unknown) and seen["image"].path.endswith("image")
    assert len(seen["containers"]) == 1


def test_rules_also_read_plain_dicts_with_sentinels() -> None:
    """Rules called directly (no proxy) treat SDK sentinels and "[unknown]" alike."""
    assert isinstance(get({"a": {"b": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}}, "a.b"), Unknown)
    assert isinstance(get({"a": U}, "a.b"), Unknown)
    assert get({"a": {"b": 1}}, "a.c", "dflt") == "dflt"
    assert get({"a": [1, 2]}, "a.5") is None
    assert get({"a": S}, "a", secret_ok=True) == S and isinstance(get({"a": S}, "a"), Unknown)


def test_stack_args_link_parents_and_dependencies(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    parent = res("aiplatform:app:KubernetesApp", {}, custom=False, name="app")
    first = res("kubernetes:core/v1:Namespace", {}, parent=parent["urn"], name="ns")
    second = res("kubernetes:apps/v1:Deployment", {}, deps=[first], parent=parent["urn"], name="dep")

    def probe(args: StackValidationArgs, report: Any) -> None:
        by_name = {r.name: r for r in args.resources}
        seen["parent"] = by_name["dep"].parent.name
        seen["deps"] = [d.name for d in by_name["dep"].dependencies]
        seen["protect"] = by_name["dep"].opts.protect

    from pulumi_policy import StackValidationPolicy

    from policies.offline import evaluate_with
    from tests.policies.support import only

    policy = StackValidationPolicy(name="probe", description="probe", validate=probe)
    config = only("min-replicas")
    config.levels["probe"] = config.levels["min-replicas"]
    evaluate_with(config, [parent, first, second], [policy])
    assert seen == {"parent": "app", "deps": ["ns"], "protect": False}


@pytest.mark.parametrize("stack", ["dev"])
def test_plan_json_document_round_trips(stack: str) -> None:
    """What tools/plan.py passes in (Registration.as_dict) is what evaluate expects."""
    from tests.helpers import plan_of

    plan = plan_of(stack)
    document = json.loads(json.dumps(plan.as_document()))
    again = evaluate(stack, document["resources"], Path(__file__).resolve().parents[2])
    assert again == plan.violations
