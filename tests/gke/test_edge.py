"""The GKE edge alone: TLS policy, HTTPS redirect, Cloud Armor, CDN only on the frontend,
streaming timeouts, certificates, and the Service annotations it hands to the app layer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pytest

from components.edge.gke import GkeIngress, GkeIngressArgs, service_annotations
from tests.gke.common import PROD_GKE, STAGING_GKE
from tests.helpers import k8s_objects, make_context, run_component, validate_k8s


@dataclass(frozen=True)
class Endpoint:  # the shape of KubernetesApp.services values
    name: str
    port: int
    health_path: Optional[str]
    route: object


def endpoints(context):
    return {
        n: Endpoint(n, s.port, s.health_path, s.route)
        for n, s in context.config.enabled_services.items()
        if s.kind == "web"
    }


def build(context, policy="aia-prod-armor"):
    GkeIngress(
        "edge",
        GkeIngressArgs(context, "ai-assistant", endpoints(context), project="test-project", security_policy=policy),
    )


@pytest.fixture(scope="module")
def prod():
    return run_component(build, overrides=PROD_GKE)


def of_kind(capture, kind):
    return {o["metadata"]["name"]: o for o in k8s_objects(capture.resources) if o["kind"] == kind}


def test_ssl_policy_is_tls13_restricted_in_prod_and_frontend_config_redirects_to_https(prod):
    policy = prod.one("gcp:compute/sSLPolicy:SSLPolicy").inputs
    assert policy["minTlsVersion"] == "TLS_1_3" and policy["profile"] == "RESTRICTED"
    (fc,) = of_kind(prod, "FrontendConfig").values()
    assert fc["apiVersion"] == "networking.gke.io/v1beta1"
    assert fc["spec"]["redirectToHttps"]["enabled"] is True
    assert fc["spec"]["sslPolicy"] == policy["name"]


def test_backend_configs_carry_armor_health_checks_and_streaming_timeouts(prod):
    configs = of_kind(prod, "BackendConfig")
    assert set(configs) == {"frontend-backend", "api-backend"}  # public services only (mcp has no route)
    for name, path, port in (("frontend", "/api/health", 3000), ("api", "/health", 8080)):
        spec = configs[f"{name}-backend"]["spec"]
        assert spec["securityPolicy"] == {"name": "aia-prod-armor"}
        assert spec["healthCheck"]["requestPath"] == path and spec["healthCheck"]["port"] == port
        assert spec["healthCheck"]["type"] == "HTTP"
        assert 300 <= spec["timeoutSec"] == 600  # edge.streamingTimeoutSeconds: SSE is not cut
        assert spec["connectionDraining"]["drainingTimeoutSec"] > 0


def test_cdn_only_on_the_frontend(prod):
    configs = of_kind(prod, "BackendConfig")
    frontend = configs["frontend-backend"]["spec"]["cdn"]
    assert frontend["enabled"] is True and frontend["cacheMode"] == "CACHE_ALL_STATIC"
    assert frontend["cachePolicy"]["includeHost"] is True
    assert configs["api-backend"]["spec"]["cdn"] == {"enabled": False}
    staging = run_component(build, overrides=STAGING_GKE)  # edge.cdn: false
    assert all(c["spec"]["cdn"] == {"enabled": False} for c in of_kind(staging, "BackendConfig").values())


def test_ingress_is_gce_with_static_ip_certificates_and_frontend_config(prod):
    (ingress,) = of_kind(prod, "Ingress").values()
    ann = ingress["metadata"]["annotations"]
    ip = prod.one("gcp:compute/globalAddress:GlobalAddress")
    assert ann["kubernetes.io/ingress.class"] == "gce"
    assert ann["kubernetes.io/ingress.global-static-ip-name"] == ip.inputs["name"]
    assert ann["networking.gke.io/v1beta1.FrontendConfig"] == "https-redirect"
    certs = of_kind(prod, "ManagedCertificate")
    assert sorted(ann["networking.gke.io/managed-certificates"].split(",")) == sorted(certs)
    assert {n: c["spec"]["domains"] for n, c in certs.items()} == {
        "frontend-cert": ["app.ai.example.com"],
        "api-cert": ["api.ai.example.com"],
    }
    routes = {r["host"]: [(p["path"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
                          for p in r["http"]["paths"]] for r in ingress["spec"]["rules"]}
    assert routes == {"app.ai.example.com": [("/", "frontend", 3000)], "api.ai.example.com": [("/", "api", 8080)]}
    assert ip.protect  # DNS points at it
    assert validate_k8s([ingress]) == []


def test_service_annotations_match_the_backend_configs(prod):
    ctx_annotations = service_annotations(make_context("dev", PROD_GKE).config)
    assert set(ctx_annotations) == {"frontend", "api"}
    for svc, ann in ctx_annotations.items():
        assert json.loads(ann["cloud.google.com/neg"]) == {"ingress": True}
        name = json.loads(ann["cloud.google.com/backend-config"])["default"]
        assert name in of_kind(prod, "BackendConfig")


def test_waf_on_without_an_armor_policy_is_refused():
    with pytest.raises(Exception, match="Cloud Armor"):
        run_component(lambda ctx: build(ctx, policy=None), overrides=PROD_GKE)
