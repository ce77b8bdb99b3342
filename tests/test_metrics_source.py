"""Every HorizontalPodAutoscaler has a resource-metrics source in its stack (issue 9 item 4).

An HPA on `Resource` metrics (CPU, memory) reads the `metrics.k8s.io` API; without a
metrics-server it reports `FailedGetResourceMetric` and never scales. A stack has a source when
it installs its own metrics-server release, or when its platform provides one (GKE runs
metrics-server as a managed add-on). The release's values must be keys the pinned chart reads:
Helm ignores an unknown key silently, so a typo would quietly drop a hardening setting.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from components.cluster.metrics_server import METRICS_SERVER_CHART, METRICS_SERVER_NAMESPACE, MetricsServer, MetricsServerArgs
from tests.helpers import plan_of, problem_lines, run_component
from tools.plan import available_stacks

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
RELEASE = "kubernetes:helm.sh/v3:Release"
# Platforms whose clusters serve metrics.k8s.io themselves (GKE: the managed metrics-server).
PLATFORM_METRICS = {"gke"}

# The value paths the kubernetes-sigs metrics-server chart reads, per pinned version: the keys of
# its values.yaml and every `.Values.<path>` of its templates. "*" below a path: the chart renders
# that subtree whole (`toYaml`), so any Kubernetes field is accepted there (the rendered objects
# are the API server's to validate). Bumping kubernetes.metricsServer.chartVersion means adding
# that version's paths here, from the chart at tag metrics-server-helm-chart-<version>.
CHART_VALUE_PATHS: dict[str, frozenset[str]] = {
    "3.13.0": frozenset(
        """
        image.repository image.tag image.pullPolicy imagePullSecrets nameOverride fullnameOverride
        serviceAccount.create serviceAccount.annotations.* serviceAccount.name serviceAccount.secrets
        rbac.create rbac.pspEnabled
        apiService.create apiService.annotations.* apiService.insecureSkipTLSVerify apiService.caBundle
        commonLabels.* podLabels.* podAnnotations.* podSecurityContext.* securityContext.*
        priorityClassName containerPort hostNetwork.enabled replicas revisionHistoryLimit updateStrategy.*
        podDisruptionBudget.enabled podDisruptionBudget.minAvailable podDisruptionBudget.maxUnavailable
        podDisruptionBudget.unhealthyPodEvictionPolicy
        defaultArgs args livenessProbe.* readinessProbe.*
        service.type service.port service.annotations.* service.labels.*
        addonResizer.enabled addonResizer.image.repository addonResizer.image.tag addonResizer.securityContext.*
        addonResizer.resources.* addonResizer.nanny.cpu addonResizer.nanny.extraCpu addonResizer.nanny.memory
        addonResizer.nanny.extraMemory addonResizer.nanny.minClusterSize addonResizer.nanny.pollPeriod
        addonResizer.nanny.threshold
        metrics.enabled
        serviceMonitor.enabled serviceMonitor.additionalLabels.* serviceMonitor.interval
        serviceMonitor.scrapeTimeout serviceMonitor.metricRelabelings serviceMonitor.relabelings
        resources.* extraVolumeMounts extraVolumes nodeSelector.* tolerations affinity.*
        topologySpreadConstraints dnsConfig.* deploymentAnnotations.* schedulerName tmpVolume.*
        tls.type tls.clusterDomain tls.certManager.addInjectorAnnotations tls.certManager.existingIssuer.enabled
        tls.certManager.existingIssuer.kind tls.certManager.existingIssuer.name tls.certManager.duration
        tls.certManager.renewBefore tls.certManager.annotations.* tls.certManager.labels.*
        tls.helm.lookup tls.helm.certDurationDays tls.existingSecret.name tls.existingSecret.lookup
        """.split()
    )
}


def unknown_value_paths(values: dict[str, Any], known: frozenset[str], prefix: str = "") -> Iterator[str]:
    """The paths in `values` that the chart does not read."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        if f"{path}.*" in known:
            continue  # a subtree the chart renders whole
        if path in known:
            continue  # a leaf (scalar or list) the chart reads
        if isinstance(value, dict) and any(k.startswith(f"{path}.") for k in known):
            yield from unknown_value_paths(value, known, f"{path}.")
        else:
            yield path


def metrics_server_releases(stack: str) -> list[dict[str, Any]]:
    return [r.inputs for r in plan_of(stack).capture.of_type(RELEASE) if r.inputs.get("chart") == METRICS_SERVER_CHART]


@pytest.mark.parametrize("stack", available_stacks())
def test_every_stack_with_an_hpa_has_a_resource_metrics_source(stack):
    plan = plan_of(stack)
    resource_hpas = [
        r.name
        for r in plan.capture.of_type(HPA)
        if any(m.get("type") == "Resource" for m in r.inputs.get("spec", {}).get("metrics", []))
    ]
    releases = metrics_server_releases(stack)
    if plan.platform in PLATFORM_METRICS:
        assert not releases, f"{stack}: the {plan.platform} platform runs its own metrics-server; installing one fights it"
    elif resource_hpas:
        assert len(releases) == 1, f"{stack}: HPAs {resource_hpas} scale on resource metrics but nothing serves metrics.k8s.io"


def test_the_dev_stack_has_hpas_and_its_own_metrics_server():
    """The guard above is not vacuous: dev scales on CPU/memory and gets the release."""
    assert plan_of("dev").capture.of_type(HPA)
    (release,) = metrics_server_releases("dev")
    assert release["namespace"] == METRICS_SERVER_NAMESPACE
    assert release["repositoryOpts"]["repo"].startswith("https://kubernetes-sigs.github.io/metrics-server")
    assert release["version"] in CHART_VALUE_PATHS, "pinned to a version whose value keys the test knows"


@pytest.mark.parametrize("stack", available_stacks())
def test_metrics_server_values_are_keys_the_chart_reads(stack):
    for release in metrics_server_releases(stack):
        known = CHART_VALUE_PATHS.get(release["version"])
        assert known is not None, f"{stack}: chart {release['version']} has no known value paths; add them"
        assert list(unknown_value_paths(release["values"], known)) == []


def test_a_misspelled_value_key_is_caught():
    known = CHART_VALUE_PATHS["3.13.0"]
    values = {**metrics_server_releases("dev")[0]["values"], "apiService": {"insecureSkipTlsVerify": False}}
    assert list(unknown_value_paths(values, known)) == ["apiService.insecureSkipTlsVerify"]


def release_of(overrides: dict[str, Any], stack: str = "dev") -> dict[str, Any]:
    capture = run_component(lambda ctx: MetricsServer("metrics-server", MetricsServerArgs(ctx)), stack, overrides)
    return capture.one(RELEASE).inputs


def test_kubelet_tls_is_skipped_only_where_the_cluster_needs_it():
    assert release_of({})["values"]["args"] == ["--kubelet-insecure-tls"]  # dev: kind's self-signed kubelets
    secure = release_of({"kubernetes": {"metricsServer": {"kubeletInsecureTls": False}}})
    assert "--kubelet-insecure-tls" not in secure["values"]["args"]
    # outside dev the kubelets' certificates are verified unless the stack says otherwise
    assert "--kubelet-insecure-tls" not in release_of({}, stack="prod-gke")["values"]["args"]


def test_the_api_server_verifies_metrics_server_and_the_pod_is_hardened():
    values = release_of({})["values"]
    assert values["apiService"]["insecureSkipTLSVerify"] is False and values["tls"]["type"] == "helm"
    sc = values["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"]["drop"] == ["ALL"] and sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert values["resources"]["limits"]["memory"]


def test_gke_rejects_a_second_metrics_server():
    lines = problem_lines("prod-gke", {"kubernetes": {"metricsServer": {"install": True}}})
    assert "kubernetes.metricsServer.install = True: GKE provides metrics-server itself" in lines
