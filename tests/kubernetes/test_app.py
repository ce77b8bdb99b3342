"""The Kubernetes app layer alone: hardening, probes, scaling and network policy of each service."""

from __future__ import annotations

import pytest
import pulumi

from components.app.kubernetes import IngressSource, KubernetesApp, KubernetesAppArgs
from components.data.connection import DataConnection, NetworkPeer
from tests.helpers import dig, k8s_objects, run_component, validate_k8s

NGINX = IngressSource(namespace="ingress-nginx", pod_labels={"app.kubernetes.io/name": "ingress-nginx"})


def build_app(context):
    connections = {
        name: DataConnection(
            service=name,
            host=pulumi.Output.from_input(f"{name}.ai-assistant.svc.cluster.local"),
            port=port,
            url=pulumi.Output.secret(f"{name}://user:SECRET-{name}@host"),
            tls=False,
            peer=NetworkPeer(pod_labels={"app.kubernetes.io/name": name}),
            extra_secrets={"REDIS_TLS_CA_CERT": pulumi.Output.secret("SECRET-ca")} if name == "redis" else {},
        )
        for name, port in {"postgres": 5432, "redis": 6379, "mongodb": 27017, "rabbitmq": 5672}.items()
    }
    secrets = {name: pulumi.Output.secret(f"SECRET-{name}") for name in context.config.secrets.all}
    KubernetesApp("app", KubernetesAppArgs(context, "ai-assistant", connections, secrets, [NGINX]))


@pytest.fixture(scope="module")
def app():
    return run_component(build_app)


def by_kind(capture, kind):
    return {o["metadata"]["name"]: o for o in k8s_objects(capture.resources) if o["kind"] == kind}


def test_every_object_is_valid_kubernetes(app):
    assert validate_k8s(k8s_objects(app.resources)) == []


def test_each_service_gets_a_hardened_deployment(app):
    deployments = by_kind(app, "Deployment")
    assert set(deployments) == {"frontend", "api", "mcp", "worker"}
    for name, dep in deployments.items():
        pod = dep["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        sc = container["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 1000
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert dig(pod, "volumes.0.emptyDir.sizeLimit")
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["livenessProbe"] and container["readinessProbe"]
        assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert ":" in container["image"] and not container["image"].endswith(":latest")


def test_web_probes_use_the_seed_health_paths(app):
    deployments = by_kind(app, "Deployment")
    api = deployments["api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert api["startupProbe"]["httpGet"]["path"] == "/health"
    frontend = deployments["frontend"]["spec"]["template"]["spec"]["containers"][0]
    assert frontend["livenessProbe"]["httpGet"]["path"] == "/api/health"
    assert frontend["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert deployments["frontend"]["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"


def test_worker_runs_its_command_without_a_service(app):
    worker = by_kind(app, "Deployment")["worker"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["command"] == ["python", "-m", "app.worker"]
    assert "exec" in worker["livenessProbe"] and "ports" not in worker
    assert set(by_kind(app, "Service")) == {"frontend", "api", "mcp"}
    assert worker["resources"] == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "200m", "memory": "512Mi"},
    }


def test_secrets_only_through_secret_key_refs(app):
    api = by_kind(app, "Deployment")["api"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in api["env"]}
    for name in ("DATABASE_URL", "REDIS_URL", "MONGODB_CONNECTION_URI", "QUEUE_CONNECTIONURL", "OPENAI_API_KEY"):
        assert "value" not in env[name]
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "app-env", "key": name}
    secret = by_kind(app, "Secret")["app-env"]
    assert secret["stringData"] == "[secret]"
    assert "SECRET-" not in repr([r.inputs for r in app.resources])


def test_hpa_follows_the_seed_targets_and_behaviour(app):
    hpa = by_kind(app, "HorizontalPodAutoscaler")["api"]["spec"]
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]}
    assert targets == {"cpu": 70, "memory": 80}
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 2)


def test_pdb_only_for_multi_replica_services():
    capture = run_component(build_app, overrides={"services": {"api": {"minReplicas": 2, "maxReplicas": 4}}})
    pdbs = by_kind(capture, "PodDisruptionBudget")
    assert set(pdbs) == {"api"}
    assert pdbs["api"]["spec"]["maxUnavailable"] == 1
    api = by_kind(capture, "Deployment")["api"]["spec"]["template"]["spec"]
    assert {c["topologyKey"] for c in api["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }


def test_network_policies_admit_only_expected_traffic(app):
    policies = by_kind(app, "NetworkPolicy")
    frontend_in = policies["frontend-ingress"]["spec"]["ingress"][0]
    sources = [p.get("namespaceSelector", {}).get("matchLabels", {}) for p in frontend_in["from"]]
    assert {"kubernetes.io/metadata.name": "ingress-nginx"} in sources
    assert frontend_in["ports"] == [{"port": 3000, "protocol": "TCP"}]
    # the MCP server has no public route: the ingress controller cannot reach it
    mcp_sources = [p.get("namespaceSelector", {}).get("matchLabels", {}) for p in policies["mcp-ingress"]["spec"]["ingress"][0]["from"]]
    assert {"kubernetes.io/metadata.name": "ingress-nginx"} not in mcp_sources
    # frontend uses only redis: no egress rule towards postgres
    egress = policies["frontend-egress"]["spec"]["egress"]
    data_ports = {p["port"] for rule in egress for p in rule.get("ports", [])}
    assert 6379 in data_ports and 5432 not in data_ports and 53 in data_ports
    # the frontend holds no AI key: no way to the internet; the API holds one: 443 outside private ranges
    assert 443 not in data_ports
    api_egress = policies["api-egress"]["spec"]["egress"]
    https = [r for r in api_egress if r["ports"] == [{"port": 443, "protocol": "TCP"}]][0]
    assert "10.0.0.0/8" in https["to"][0]["ipBlock"]["except"]


def test_a_connections_extra_secrets_reach_only_its_clients(app):
    deployments = by_kind(app, "Deployment")
    frontend = {e["name"]: e for e in deployments["frontend"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert frontend["REDIS_TLS_CA_CERT"]["valueFrom"]["secretKeyRef"] == {"name": "app-env", "key": "REDIS_TLS_CA_CERT"}
    assert "DATABASE_URL" not in frontend  # frontend uses redis only
