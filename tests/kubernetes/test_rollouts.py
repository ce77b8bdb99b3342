"""Argo Rollouts on `kubernetes` and `gke`: every canary/blueGreen service is a Rollout whose
references resolve, whose HPA scales it, whose steps and analysis come from its release config,
and whose controller is installed (pinned, hardened) exactly when some service needs it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.config import Problem
from components.monitoring.kubernetes import RELEASE_NAME
from components.platform import config_problems
from components.release.argo_controller import ARGO_ROLLOUTS_CHART, progressive_services
from tests.helpers import dig, k8s_objects, plan_of
from tests.kubernetes.rollout_plans import ROLLOUT_PLANS, VARIANTS, config_of, objects_of, resources_of
from tests.test_config import parse
from tools.plan import available_stacks

KUBERNETES_PLATFORMS = ("kubernetes", "gke")


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects if o["kind"] == kind}


def releases(name: str, chart: str) -> list[dict[str, Any]]:
    return [r.inputs for r in resources_of(name) if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs["chart"] == chart]


def rollout_of(name: str, service: str) -> dict[str, Any]:
    return next(o for o in objects_of(name) if o["kind"] == "Rollout" and o["metadata"]["name"] == service)


def template_of(name: str, rollout: dict[str, Any]) -> dict[str, Any]:
    ref = _analysis_refs(rollout)[0][0]
    return by_kind(objects_of(name), "AnalysisTemplate")[(rollout["metadata"]["namespace"], ref)]


def _analysis_refs(rollout: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """(templateName, {arg: value}) of every analysis a Rollout runs."""
    strategy = rollout["spec"]["strategy"]
    found = []
    blocks = [dig(strategy, "canary.analysis"), dig(strategy, "blueGreen.prePromotionAnalysis"), dig(strategy, "blueGreen.postPromotionAnalysis")]
    for block in filter(None, blocks):
        args = {a["name"]: a["value"] for a in block.get("args", [])}
        found += [(t["templateName"], args) for t in block["templates"]]
    return found


def _metric(template: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in template["spec"]["metrics"] if m["name"] == name)


# --- class rules: every plan with Rollouts ------------------------------------------------------


@pytest.mark.parametrize("name", ROLLOUT_PLANS + ("dev",))
def test_exactly_the_progressive_services_are_rollouts_and_they_get_a_controller(name):
    cfg = config_of(name) if name != "dev" else parse()
    objects = objects_of(name) if name != "dev" else k8s_objects(plan_of("dev").capture.resources)
    rollouts = {o["metadata"]["name"] for o in objects if o["kind"] == "Rollout"}
    assert rollouts == set(progressive_services(cfg))
    charts = [o for o in (releases(name, ARGO_ROLLOUTS_CHART) if name != "dev" else [])]
    assert len(charts) == (1 if rollouts else 0)


def test_every_stack_with_a_progressive_service_has_its_controller():
    for stack in available_stacks():
        cfg = parse(stack=stack)
        if cfg.platform not in KUBERNETES_PLATFORMS:
            continue
        charts = {r.inputs["chart"] for r in plan_of(stack).capture.of_type("kubernetes:helm.sh/v3:Release")}
        assert (ARGO_ROLLOUTS_CHART in charts) == bool(progressive_services(cfg)), stack


@pytest.mark.parametrize("name", ROLLOUT_PLANS)
def test_every_rollout_reference_resolves(name):
    """workloadRef, Services, Ingresses and AnalysisTemplates a Rollout names exist in its
    namespace and select its pods; the controller would otherwise stall the release."""
    objects = objects_of(name)
    deployments, services = by_kind(objects, "Deployment"), by_kind(objects, "Service")
    ingresses, templates = by_kind(objects, "Ingress"), by_kind(objects, "AnalysisTemplate")
    for (ns, rollout_name), rollout in by_kind(objects, "Rollout").items():
        spec = rollout["spec"]
        ref = spec["workloadRef"]
        deployment = deployments[(ns, ref["name"])]
        assert (ref["apiVersion"], ref["kind"]) == ("apps/v1", "Deployment")
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert spec["selector"] == deployment["spec"]["selector"]
        assert all(pod_labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items())
        strategy = spec["strategy"].get("canary") or spec["strategy"]["blueGreen"]
        for key in ("canaryService", "stableService", "activeService", "previewService"):
            if key in strategy:
                service = services[(ns, strategy[key])]
                assert service["spec"]["selector"] == spec["selector"]["matchLabels"], (rollout_name, key)
        stable = dig(strategy, "trafficRouting.nginx.stableIngresses") or []
        for ingress_name in stable:
            backends = {p["backend"]["service"]["name"] for r in ingresses[(ns, ingress_name)]["spec"]["rules"] for p in r["http"]["paths"]}
            assert backends == {strategy["stableService"]}, ingress_name
        for template_name, args in _analysis_refs(rollout):
            declared = {a["name"] for a in templates[(ns, template_name)]["spec"]["args"]}
            assert set(args) == declared, (rollout_name, template_name)


@pytest.mark.parametrize("name", ROLLOUT_PLANS + tuple(s for s in available_stacks() if s == "dev"))
def test_every_hpa_scales_what_runs_the_pods(name):
    objects = objects_of(name) if name != "dev" else k8s_objects(plan_of("dev").capture.resources)
    rollouts = by_kind(objects, "Rollout")
    owned = {(ns, r["spec"]["workloadRef"]["name"]) for (ns, _), r in rollouts.items()}
    for (ns, hpa_name), hpa in by_kind(objects, "HorizontalPodAutoscaler").items():
        target = hpa["spec"]["scaleTargetRef"]
        if (ns, target["name"]) in owned:
            assert (target["apiVersion"], target["kind"]) == ("argoproj.io/v1alpha1", "Rollout"), hpa_name
            assert (ns, target["name"]) in rollouts
        else:
            assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment"), hpa_name
            assert (ns, target["name"]) in by_kind(objects, "Deployment")


@pytest.mark.parametrize("name", ROLLOUT_PLANS)
def test_every_analysis_reads_the_platforms_prometheus_service(name):
    """The address is kube-prometheus-stack's Prometheus Service (`<release>-prometheus`, 9090)."""
    (stack_release,) = releases(name, "kube-prometheus-stack")
    expected = f"http://{stack_release['name']}-prometheus.{stack_release['namespace']}.svc.cluster.local:9090"
    assert stack_release["name"] == RELEASE_NAME
    for template in by_kind(objects_of(name), "AnalysisTemplate").values():
        for metric in template["spec"]["metrics"]:
            assert metric["provider"]["prometheus"]["address"] == expected


@pytest.mark.parametrize("name", ROLLOUT_PLANS)
def test_every_rollout_aborts_by_itself_when_rollback_is_automatic(name):
    """The policy's shape: automatic rollback = an analysis whose failure aborts (no dry run) and a
    progress deadline that aborts; manual = every pause waits and the analysis only records."""
    cfg = config_of(name)
    for service in progressive_services(cfg):
        rollout = rollout_of(name, service)
        template = template_of(name, rollout)
        automatic = cfg.services[service].release.rollback.automatic
        assert rollout["spec"]["progressDeadlineAbort"] is True
        assert rollout["spec"]["rollbackWindow"] == {"revisions": 1}  # `undo` is the emergency switch back
        assert bool(template["spec"].get("dryRun")) is not automatic
        pauses = [s["pause"] for s in dig(rollout, "spec.strategy.canary.steps", []) if "pause" in s]
        assert all(("duration" in p) is automatic for p in pauses)


# --- values from config ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ROLLOUT_PLANS)
def test_steps_and_triggers_come_from_the_release_config(name):
    cfg = config_of(name)
    for service in progressive_services(cfg):
        release = cfg.services[service].release
        rollout = rollout_of(name, service)
        template = template_of(name, rollout)
        if release.strategy == "canary":
            steps = rollout["spec"]["strategy"]["canary"]["steps"]
            assert [s["setWeight"] for s in steps if "setWeight" in s] == list(release.canary_steps)
            if release.rollback.automatic:
                assert {s["pause"]["duration"] for s in steps if "pause" in s} == {f"{release.step_minutes}m"}
        rb = release.rollback
        error, latency = _metric(template, "error-rate"), _metric(template, "latency-p95")
        assert error["successCondition"] == f"result[0] <= {rb.error_rate_percent / 100:g}"
        assert latency["successCondition"] == f"result[0] <= {rb.latency_p95_seconds:g}"
        assert f"[{rb.error_rate_minutes}m]" in error["provider"]["prometheus"]["query"]
        assert f"[{rb.latency_minutes}m]" in latency["provider"]["prometheus"]["query"]
        assert error["failureLimit"] == latency["failureLimit"] == rb.consecutive_health_failures - 1


def test_a_changed_release_config_changes_the_plan():
    """dev-tuned sets every number away from the seed defaults; the plan carries each one."""
    rollout = rollout_of("dev-tuned", "api")
    canary = rollout["spec"]["strategy"]["canary"]
    assert canary["steps"] == [
        {"setWeight": 20}, {"pause": {"duration": "7m"}},
        {"setWeight": 60}, {"pause": {"duration": "7m"}},
        {"setWeight": 100}, {"pause": {"duration": "7m"}},
    ]
    assert canary["scaleDownDelaySeconds"] == 420
    template = template_of("dev-tuned", rollout)
    error, latency = _metric(template, "error-rate"), _metric(template, "latency-p95")
    assert error["successCondition"] == "result[0] <= 0.025" and "[3m]" in error["provider"]["prometheus"]["query"]
    assert latency["successCondition"] == "result[0] <= 1.5" and "[4m]" in latency["provider"]["prometheus"]["query"]
    assert error["failureLimit"] == 4
    # the seed defaults elsewhere in the same stack are untouched
    assert "frontend" not in {o["metadata"]["name"] for o in objects_of("dev-tuned") if o["kind"] == "Rollout"}


def test_prod_gke_canaries_are_replica_weighted_with_the_seed_numbers():
    """GKE Ingress cannot split by weight: no traffic routing, the canary Service only measures."""
    for service in ("frontend", "api", "mcp"):
        canary = rollout_of("prod-gke", service)["spec"]["strategy"]["canary"]
        assert "trafficRouting" not in canary and "stableService" not in canary
        assert canary["canaryService"] == f"{service}-canary"
        assert canary["steps"] == [s for w in (10, 25, 50, 100) for s in ({"setWeight": w}, {"pause": {"duration": "30m"}})]
        assert canary["analysis"]["startingStep"] == 1
        assert canary["analysis"]["args"] == [{"name": "service", "value": f"{service}-canary"}]


def test_a_kubernetes_canary_splits_traffic_at_ingress_nginx():
    objects = objects_of("dev-canary")
    routed = {n for n, s in parse().enabled_services.items() if s.kind == "web" and s.route is not None}
    assert routed
    for service in routed:
        canary = rollout_of("dev-canary", service)["spec"]["strategy"]["canary"]
        ingresses = sorted(
            o["metadata"]["name"] for o in objects if o["kind"] == "Ingress"
            and {p["backend"]["service"]["name"] for r in o["spec"]["rules"] for p in r["http"]["paths"]} == {service}
        )
        assert sorted(canary["trafficRouting"]["nginx"]["stableIngresses"]) == ingresses
        assert canary["stableService"] == service and canary["canaryService"] == f"{service}-canary"
        assert canary["abortScaleDownDelaySeconds"] == 30
    unrouted = set(progressive_services(config_of("dev-canary"))) - routed
    for service in unrouted:  # no Ingress: replica-weighted like GKE
        assert "trafficRouting" not in rollout_of("dev-canary", service)["spec"]["strategy"]["canary"]


def test_blue_green_has_preview_and_analyses_before_and_after_the_switch():
    blue_green = rollout_of("dev-bluegreen", "frontend")["spec"]["strategy"]["blueGreen"]
    assert blue_green["activeService"] == "frontend" and blue_green["previewService"] == "frontend-preview"
    assert blue_green["autoPromotionEnabled"] is True
    assert blue_green["prePromotionAnalysis"]["args"] == [{"name": "service", "value": "frontend-preview"}]
    assert blue_green["postPromotionAnalysis"]["args"] == [{"name": "service", "value": "frontend"}]
    assert blue_green["scaleDownDelaySeconds"] == 15 * 60
    template = template_of("dev-bluegreen", rollout_of("dev-bluegreen", "frontend"))
    assert {m["count"] for m in template["spec"]["metrics"]} == {15}  # a pre/post analysis must end


def test_dev_rolls_by_default_and_installs_no_controller():
    resources = plan_of("dev").capture.resources
    assert not [o for o in k8s_objects(resources) if o["apiVersion"].startswith("argoproj.io/")]
    assert ARGO_ROLLOUTS_CHART not in {r.inputs["chart"] for r in resources if r.type == "kubernetes:helm.sh/v3:Release"}


@pytest.mark.parametrize("name", ROLLOUT_PLANS)
def test_the_controller_is_pinned_hardened_and_scraped(name):
    cfg = config_of(name)
    (release,) = releases(name, ARGO_ROLLOUTS_CHART)
    assert release["version"] == cfg.kubernetes.argo_rollouts.chart_version
    assert re.fullmatch(r"\d+\.\d+\.\d+", release["version"])
    assert release["repositoryOpts"]["repo"] == "https://argoproj.github.io/argo-helm"
    assert release["namespace"] == cfg.kubernetes.argo_rollouts.namespace != cfg.kubernetes.namespace
    values = release["values"]
    assert values["podSecurityContext"]["runAsNonRoot"] is True
    container = values["containerSecurityContext"]
    assert container["readOnlyRootFilesystem"] and not container["allowPrivilegeEscalation"]
    assert container["capabilities"]["drop"] == ["ALL"]
    assert values["controller"]["resources"]["limits"] and values["controller"]["resources"]["requests"]
    assert values["keepCRDs"] is True and values["dashboard"]["enabled"] is False
    namespace = by_kind(objects_of(name), "Namespace")
    labels = next(o for (_, n), o in namespace.items() if n == release["namespace"])["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    monitors = [o for o in objects_of(name) if o["kind"] == "PodMonitor" and o["metadata"]["namespace"] == release["namespace"]]
    assert len(monitors) == (1 if cfg.monitoring.enabled else 0)


def test_a_progressive_service_needs_the_in_cluster_prometheus():
    for stack in ("dev", "prod-gke"):
        overrides = {"monitoring": {"enabled": False}}
        if stack == "dev":
            overrides["services"] = {"api": {"release": {"strategy": "canary"}}}
        problems = config_problems(parse(overrides, stack=stack), stack)
        paths = {p.path for p in problems if isinstance(p, Problem)}
        assert "services.api.release.strategy" in paths, problems
    # with its monitoring on, prod-gke's canaries have nothing to refuse (gcp:project is set by the CLI)
    assert not [p for p in config_problems(parse(stack="prod-gke"), "prod-gke") if p.path.endswith("release.strategy")]


def test_the_rollout_crs_of_the_variants_match_their_crd_schemas():
    """The shipped stacks' CRs are validated by tests/test_crd_schemas.py; the variants show the
    shapes none of them has (nginx traffic routing, blue/green, dry run)."""
    from tests.test_crd_schemas import run_validator

    items = [
        {"id": f"{name}:{o['kind']}/{o['metadata']['name']}", "object": o}
        for name in VARIANTS for o in objects_of(name) if o["apiVersion"].startswith("argoproj.io/")
    ]
    assert {i["object"]["kind"] for i in items} == {"Rollout", "AnalysisTemplate"}
    failures = {r["id"]: r["errors"] for r in run_validator(stdin=json.dumps(items)) if r["errors"]}
    assert failures == {}
