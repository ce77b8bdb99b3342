"""Cloud Run services, Cloud Armor and the global load balancer, each alone."""

from __future__ import annotations

import pytest

from components.app.cloudrun import CloudRunService, CloudRunServiceArgs, Invoker, cloud_run_size
from components.edge.gcp_armor import OWASP_RULES, CloudArmorPolicy, CloudArmorPolicyArgs
from components.edge.gcp_lb import GlobalLoadBalancer, GlobalLoadBalancerArgs, LbBackend
from components.secrets.gcp import SecretRef
from tests.gcp.support import PROJECT, run_gcp
from tests.helpers import dig

SERVICE = "gcp:cloudrunv2/service:Service"


def _ref(name: str) -> SecretRef:
    import pulumi

    return SecretRef(secret=pulumi.Output.from_input(f"aia-prod-{name}"), version=pulumi.Output.from_input("3"))


def _service(name: str, **kw):
    def build(c):
        return CloudRunService(
            f"{name}-us-central1",
            CloudRunServiceArgs(
                context=c,
                project=PROJECT,
                service_name=name,
                service=c.config.services[name],
                region="us-central1",
                service_account_email=f"aia-prod-{name}@test-project.iam.gserviceaccount.com",
                network="vpc-id",
                subnetwork="subnet-id",
                secret_env={"DATABASE_URL": _ref("database-url"), "OPENAI_API_KEY": _ref("openai-api-key")},
                plain_env={"LOG_LEVEL": "info"},
                **kw,
            ),
        )

    return build


@pytest.fixture(scope="module")
def api():
    return run_gcp(_service("api")).one(SERVICE).inputs


def test_public_service_only_reachable_through_the_load_balancer(api):
    assert api["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert api["invokerIamDisabled"] is True
    assert api["deletionProtection"] is True  # prod


def test_image_size_scaling_and_streaming_timeout(api):
    t = api["template"]
    container = t["containers"][0]
    assert container["image"] == "ghcr.io/ai-assistant-platform/api:1.0.0"
    assert container["resources"]["limits"] == {"cpu": "4", "memory": "8Gi"}
    assert t["scaling"] == {"minInstanceCount": 2, "maxInstanceCount": 5}
    assert t["maxInstanceRequestConcurrency"] == 80
    assert t["timeout"] == "600s"
    assert t["serviceAccount"] == "aia-prod-api@test-project.iam.gserviceaccount.com"


def test_probes_on_the_health_path(api):
    c = api["template"]["containers"][0]
    assert dig(c, "startupProbe.httpGet") == {"path": "/health", "port": 8080}
    assert dig(c, "livenessProbe.httpGet") == {"path": "/health", "port": 8080}
    assert c["livenessProbe"]["periodSeconds"] == 30 and c["livenessProbe"]["failureThreshold"] == 3
    assert c["ports"]["containerPort"] == 8080


def test_secrets_are_references_never_values(api):
    envs = {e["name"]: e for e in api["template"]["containers"][0]["envs"]}
    for name in ("DATABASE_URL", "OPENAI_API_KEY"):
        assert "value" not in envs[name]
        assert envs[name]["valueSource"]["secretKeyRef"]["version"] == "3"
    assert envs["DATABASE_URL"]["valueSource"]["secretKeyRef"]["secret"] == "aia-prod-database-url"
    assert envs["LOG_LEVEL"] == {"name": "LOG_LEVEL", "value": "info"}


def test_direct_vpc_egress_to_private_ranges_only(api):
    vpc = api["template"]["vpcAccess"]
    assert vpc["egress"] == "PRIVATE_RANGES_ONLY"
    assert vpc["networkInterfaces"] == [{"network": "vpc-id", "subnetwork": "subnet-id"}]


def test_internal_service_keeps_iam_and_grants_only_its_callers():
    run = run_gcp(_service("mcp", invokers=[Invoker("api", "serviceAccount:api@x")]))
    mcp = run.one(SERVICE).inputs
    assert mcp["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY" and mcp["invokerIamDisabled"] is False
    grants = run.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
    assert [(g.inputs["role"], g.inputs["member"]) for g in grants] == [("roles/run.invoker", "serviceAccount:api@x")]


def test_worker_is_a_worker_pool_with_always_on_cpu():
    run = run_gcp(_service("worker"))
    assert not run.of_type(SERVICE)
    pool = run.one("gcp:cloudrunv2/workerPool:WorkerPool").inputs
    assert pool["scaling"] == {"scalingMode": "MANUAL", "manualInstanceCount": 2}
    container = pool["template"]["containers"][0]
    assert container["commands"] == ["python", "-m", "app.worker"]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert pool["template"]["vpcAccess"]["egress"] == "PRIVATE_RANGES_ONLY"
    assert all("value" not in e for e in container["envs"] if e["name"] == "DATABASE_URL")


def test_staging_services_can_be_deleted():
    assert run_gcp(_service("frontend"), stack="staging").one(SERVICE).inputs["deletionProtection"] is False


@pytest.mark.parametrize("plain_env", [{"PORT": "8080"}, {"DATABASE_URL": "plain"}])
def test_reserved_and_clashing_env_names_never_reach_a_service(plain_env):
    """The cloudrun adapter's problems refuse such configs (tests/test_platform_checks.py); a
    component handed one anyway stops before registering anything."""

    def build(c):
        with pytest.raises(AssertionError):
            CloudRunService(
                "api",
                CloudRunServiceArgs(
                    context=c,
                    project=PROJECT,
                    service_name="api",
                    service=c.config.services["api"],
                    region="us-central1",
                    service_account_email="x",
                    network="n",
                    subnetwork="s",
                    secret_env={"DATABASE_URL": _ref("database-url")},
                    plain_env=plain_env,
                ),
            )

    assert not run_gcp(build).resources  # rejected before anything is registered


@pytest.mark.parametrize(
    "millicores, mib, expected",
    [(4000, 8192, ("4", "8Gi")), (2000, 4096, ("2", "4Gi")), (500, 512, ("500m", "512Mi")), (1000, 1536, ("1", "1536Mi"))],
)
def test_cloud_run_sizes_are_the_configs_unrounded(millicores, mib, expected):
    assert cloud_run_size(millicores, mib) == expected


def test_less_than_one_vcpu_runs_in_the_first_generation():
    overrides = {"services": {"mcp": {"cpu": "500m", "memory": "512Mi", "concurrency": 1}}}
    fractional = run_gcp(_service("mcp"), stack="staging", overrides=overrides).one(SERVICE).inputs["template"]
    assert fractional["executionEnvironment"] == "EXECUTION_ENVIRONMENT_GEN1"
    assert fractional["containers"][0]["resources"]["limits"] == {"cpu": "500m", "memory": "512Mi"}
    whole = run_gcp(_service("mcp"), stack="staging").one(SERVICE).inputs["template"]
    assert whole["executionEnvironment"] == "EXECUTION_ENVIRONMENT_GEN2"


# --- Cloud Armor ---------------------------------------------------------------------------


def _armor(adaptive, rules_enabled=True):
    return lambda c: CloudArmorPolicy(
        "armor", CloudArmorPolicyArgs(context=c, project=PROJECT, adaptive_protection=adaptive, rules_enabled=rules_enabled)
    )


@pytest.fixture(scope="module")
def armor():
    return run_gcp(_armor(True)).one("gcp:compute/securityPolicy:SecurityPolicy").inputs


def test_owasp_rules_deny_before_rate_limits(armor):
    rules = sorted(armor["rules"], key=lambda r: r["priority"])
    waf = [r for r in rules if "evaluatePreconfiguredWaf" in dig(r, "match.expr.expression", "")]
    assert {r["match"]["expr"]["expression"].split("'")[1] for r in waf} == {name for name, _ in OWASP_RULES}
    assert {"sqli-v33-stable", "xss-v33-stable", "lfi-v33-stable", "rce-v33-stable"} <= {name for name, _ in OWASP_RULES}
    assert all(r["action"] == "deny(403)" for r in waf)
    throttles = [r for r in rules if r["action"] == "throttle"]
    # a conforming request stops at its throttle rule: every WAF rule must be evaluated first
    assert max(r["priority"] for r in waf) < min(r["priority"] for r in throttles)
    assert rules[-1]["priority"] == 2147483647 and rules[-1]["action"] == "allow"


def test_seed_rate_limits(armor):
    throttles = {r["description"]: r for r in armor["rules"] if r["action"] == "throttle"}
    ai = next(r for d, r in throttles.items() if d.startswith("AI routes"))
    client = next(r for d, r in throttles.items() if d.startswith("60/min"))
    assert ai["rateLimitOptions"]["rateLimitThreshold"] == {"count": 30, "intervalSec": 60}
    assert "request.path.startsWith('/api/chat')" in ai["match"]["expr"]["expression"]
    assert client["rateLimitOptions"]["rateLimitThreshold"] == {"count": 60, "intervalSec": 60}
    for r in (ai, client):
        assert r["rateLimitOptions"]["enforceOnKey"] == "IP" and r["rateLimitOptions"]["exceedAction"] == "deny(429)"
    assert ai["priority"] < client["priority"]


def test_adaptive_protection_in_prod_only(armor):
    assert armor["adaptiveProtectionConfig"]["layer7DdosDefenseConfig"]["enable"] is True
    staging = run_gcp(_armor(False), stack="staging").one("gcp:compute/securityPolicy:SecurityPolicy").inputs
    assert "adaptiveProtectionConfig" not in staging


def test_waf_can_be_switched_off_but_rate_limits_stay():
    rules = run_gcp(_armor(False, rules_enabled=False)).one("gcp:compute/securityPolicy:SecurityPolicy").inputs["rules"]
    assert [r["action"] for r in sorted(rules, key=lambda r: r["priority"])] == ["throttle", "throttle", "allow"]


# --- load balancer -------------------------------------------------------------------------


def _lb(regions=("us-central1", "europe-west1"), api_host="api.ai-assistant.example.com"):
    def build(c):
        return GlobalLoadBalancer(
            "lb",
            GlobalLoadBalancerArgs(
                context=c,
                project=PROJECT,
                backends=[
                    LbBackend("frontend", ["app.ai-assistant.example.com"], ["/"], {r: "aia-prod-frontend" for r in regions}, cdn=True),
                    LbBackend("api", [api_host], ["/"], {r: "aia-prod-api" for r in regions}),
                    LbBackend("docs", ["app.ai-assistant.example.com"], ["/docs"], {regions[0]: "aia-prod-docs"}),
                ],
                security_policy="armor-link",
            ),
        )

    return build


@pytest.fixture(scope="module")
def lb():
    return run_gcp(_lb())


def test_one_serverless_neg_per_region_and_service(lb):
    negs = lb.of_type("gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")
    pairs = {(n.inputs["region"], n.inputs["cloudRun"]["service"]) for n in negs}
    assert pairs == {
        ("us-central1", "aia-prod-frontend"), ("europe-west1", "aia-prod-frontend"),
        ("us-central1", "aia-prod-api"), ("europe-west1", "aia-prod-api"), ("us-central1", "aia-prod-docs"),
    }
    assert all(n.inputs["networkEndpointType"] == "SERVERLESS" for n in negs)


def test_backends_cdn_armor_and_regional_failover(lb):
    backends = {b.inputs["name"]: b.inputs for b in lb.of_type("gcp:compute/backendService:BackendService")}
    frontend, api = backends["aia-prod-frontend"], backends["aia-prod-api"]
    assert frontend["enableCdn"] is True and frontend["cdnPolicy"]["cacheMode"] == "CACHE_ALL_STATIC"
    assert api["enableCdn"] is False and "cdnPolicy" not in api
    for b in backends.values():
        assert b["loadBalancingScheme"] == "EXTERNAL_MANAGED" and b["securityPolicy"] == "armor-link"
        assert b["logConfig"]["enable"] is True
        assert "timeoutSec" not in b  # serverless NEGs take the Cloud Run timeout
    assert len(api["backends"]) == 2 and api["outlierDetection"]["consecutiveErrors"] == 3
    assert "outlierDetection" not in backends["aia-prod-docs"]  # one region: nothing to fail over to


CERT = "gcp:certificatemanager/certificate:Certificate"


def test_tls_certificate_policy_and_url_map(lb):
    certs = {c.inputs["managed"]["domains"][0]: c for c in lb.of_type(CERT)}
    assert set(certs) == {"api.ai-assistant.example.com", "app.ai-assistant.example.com"}
    for host, cert in certs.items():
        assert cert.inputs["managed"]["domains"] == [host] and len(cert.inputs["managed"]["dnsAuthorizations"]) == 1
    entries = {e.inputs["hostname"]: e.inputs for e in lb.of_type("gcp:certificatemanager/certificateMapEntry:CertificateMapEntry")}
    assert {h: e["certificates"] for h, e in entries.items()} == {h: [f"{c.name}-id"] for h, c in certs.items()}
    policy = lb.one("gcp:compute/sSLPolicy:SSLPolicy").inputs
    assert policy["minTlsVersion"] == "TLS_1_2" and policy["profile"] in ("MODERN", "RESTRICTED")
    proxy = lb.one("gcp:compute/targetHttpsProxy:TargetHttpsProxy").inputs
    assert proxy["sslPolicy"] == "lb-tls-id" and "sslCertificates" not in proxy
    assert proxy["certificateMap"] == "//certificatemanager.googleapis.com/lb-certs-id"
    url_map = lb.one("gcp:compute/uRLMap:URLMap", "lb-https").inputs
    hosts = {h["hosts"][0]: h["pathMatcher"] for h in url_map["hostRules"]}
    matchers = {m["name"]: m for m in url_map["pathMatchers"]}
    app = matchers[hosts["app.ai-assistant.example.com"]]
    assert app["defaultService"] == "lb-frontend-id"
    assert app["pathRules"] == [{"paths": ["/docs", "/docs/*"], "service": "lb-docs-id"}]
    assert matchers[hosts["api.ai-assistant.example.com"]]["defaultService"] == "lb-api-id"


def test_http_redirects_to_https_on_the_same_address(lb):
    redirect = lb.one("gcp:compute/uRLMap:URLMap", "lb-http-redirect").inputs
    assert redirect["defaultUrlRedirect"]["httpsRedirect"] is True
    rules = {r.inputs["portRange"]: r.inputs for r in lb.of_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")}
    assert set(rules) == {"443", "80"}
    assert rules["443"]["ipAddress"] == rules["80"]["ipAddress"] == "203.0.113.10"
    assert rules["443"]["target"] == "lb-https-proxy-id" and rules["80"]["target"] == "lb-http-proxy-id"
    assert all(r["loadBalancingScheme"] == "EXTERNAL_MANAGED" for r in rules.values())


def _tls_state(capture):
    return {
        r.urn: r.inputs for r in capture.resources
        if r.type.startswith("gcp:certificatemanager/") or r.type == "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
    }


def test_a_host_change_leaves_the_other_hosts_certificates_untouched(lb):
    """Day 2: changing one host must not replace or detach a certificate that serves another
    host (the old Compute managed certificate for all hosts was replaced and the proxy switched
    to the new one while it still provisioned). Each host's authorization, certificate and map
    entry are named after that host only; the proxy points at the map, which does not change."""
    assert not lb.of_type("gcp:compute/managedSslCertificate:ManagedSslCertificate")
    before = _tls_state(lb)
    after = _tls_state(run_gcp(_lb(api_host="api2.ai-assistant.example.com")))
    changed = {u for u in before if before[u] != after.get(u)}
    gone = {before[u].get("domain") or before[u].get("hostname") or before[u].get("managed", {}).get("domains", [""])[0]
            for u in changed}
    assert gone == {"api.ai-assistant.example.com"}, f"resources of other hosts changed: {sorted(changed)}"
    assert {i["hostname"] for i in after.values() if "hostname" in i} == {
        "app.ai-assistant.example.com", "api2.ai-assistant.example.com"}
