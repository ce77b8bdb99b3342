"""The namespace guard rails and the nginx edge, each alone."""

from __future__ import annotations

from components.app.kubernetes import ServiceEndpoint
from components.app.namespace import PlatformNamespace, PlatformNamespaceArgs
from components.config import RouteConfig
from components.edge.kubernetes import NginxIngress, NginxIngressArgs
from tests.helpers import k8s_objects, run_component, validate_k8s

ENDPOINTS = {
    "frontend": ServiceEndpoint("frontend", 3000, "/api/health", RouteConfig(subdomain="app", paths=("/",))),
    "api": ServiceEndpoint("api", 8080, "/health", RouteConfig(subdomain="api", paths=("/",))),
    "mcp": ServiceEndpoint("mcp", 8001, "/health", None),
}


def build_edge(context):
    NginxIngress("edge", NginxIngressArgs(context, "ai-assistant", ENDPOINTS))


def test_namespace_guard_rails():
    capture = run_component(lambda c: PlatformNamespace("platform", PlatformNamespaceArgs(c)))
    objects = {o["kind"]: o for o in k8s_objects(capture.resources)}
    assert validate_k8s(list(objects.values())) == []
    labels = objects["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["environment"] == "dev" and labels["managed-by"] == "pulumi"
    quota = objects["ResourceQuota"]["spec"]["hard"]
    assert quota["services.loadbalancers"] == "0" and int(quota["pods"]) > 8
    deny = objects["NetworkPolicy"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress", "Egress"]


def test_ingresses_stream_and_rate_limit():
    capture = run_component(build_edge)
    ingresses = {o["metadata"]["name"]: o for o in k8s_objects(capture.resources) if o["kind"] == "Ingress"}
    assert set(ingresses) == {"frontend", "frontend-ai", "api", "api-ai"}
    assert validate_k8s(list(ingresses.values())) == []
    api = ingresses["api"]
    notes = api["metadata"]["annotations"]
    assert api["spec"]["ingressClassName"] == "nginx"
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert 300 <= int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) <= 600
    assert notes["nginx.ingress.kubernetes.io/limit-rpm"] == "60"
    assert ingresses["api-ai"]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rpm"] == "30"
    assert api["spec"]["rules"][0]["host"] == "api.localtest.me"
    assert "tls" not in api["spec"]
    release = capture.one("kubernetes:helm.sh/v3:Release")
    assert release.inputs["version"] == "4.13.3" and release.inputs["chart"] == "ingress-nginx"


def test_tls_and_https_redirect_when_an_issuer_is_configured():
    capture = run_component(build_edge, overrides={"edge": {"tlsClusterIssuer": "letsencrypt", "ingressNginx": {"install": False}}})
    api = [o for o in k8s_objects(capture.resources) if o["kind"] == "Ingress" and o["metadata"]["name"] == "api"][0]
    assert api["spec"]["tls"] == [{"hosts": ["api.localtest.me"], "secretName": "api-tls"}]
    assert api["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert api["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert not capture.of_type("kubernetes:helm.sh/v3:Release")
