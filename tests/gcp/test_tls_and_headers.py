"""TLS and response headers of every public GCP edge, in every GCP stack.

Rules (pinned SDK docs of `compute.SSLPolicy`, seeds 001/002): the minimum TLS version and the
profile are values the API accepts, TLS_1_3 only with the RESTRICTED profile, production at
TLS 1.3; every HTTPS proxy (Cloud Run LB) or FrontendConfig (GKE Ingress) carries an SSL policy;
every public backend adds the HSTS header."""

from __future__ import annotations

import pytest

from components.config import ConfigError
from tests.gcp.test_api_order import GCP_STACKS
from tests.helpers import make_context, plan_of

TLS_VERSIONS = {"TLS_1_0", "TLS_1_1", "TLS_1_2", "TLS_1_3"}
PROFILES = {"COMPATIBLE", "MODERN", "RESTRICTED", "CUSTOM", "FIPS_202205"}
HSTS = "Strict-Transport-Security: max-age="


def _of(plan, type_token):
    return [r for r in plan.capture.resources if r.type == type_token]


def _k8s(plan, kind):
    return [r.inputs for r in plan.capture.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind]


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_ssl_policy_is_valid_and_production_requires_tls_1_3(stack):
    plan = plan_of(stack)
    production = make_context(stack).config.is_production
    policies = _of(plan, "gcp:compute/sSLPolicy:SSLPolicy")
    assert policies
    for policy in policies:
        version, profile = policy.inputs["minTlsVersion"], policy.inputs["profile"]
        assert version in TLS_VERSIONS and profile in PROFILES
        if version == "TLS_1_3":
            assert profile == "RESTRICTED", f"{stack}: {policy.name}: TLS_1_3 needs RESTRICTED"
        if production:
            assert version == "TLS_1_3", f"{stack}: {policy.name} allows {version}"
        else:
            assert version in ("TLS_1_2", "TLS_1_3")
    names = {p.inputs["name"] for p in policies}
    for proxy in _of(plan, "gcp:compute/targetHttpsProxy:TargetHttpsProxy"):
        assert proxy.inputs.get("sslPolicy") in {f"{p.name}-id" for p in policies}
    for frontend in _k8s(plan, "FrontendConfig"):
        assert frontend["spec"]["sslPolicy"] in names


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_public_backend_sends_hsts(stack):
    plan = plan_of(stack)
    backends = [b.inputs for b in _of(plan, "gcp:compute/backendService:BackendService")
                if b.inputs.get("loadBalancingScheme") == "EXTERNAL_MANAGED"]
    configs = [c["spec"] for c in _k8s(plan, "BackendConfig")]
    assert backends or configs
    for headers in [b.get("customResponseHeaders", []) for b in backends] + [
        c.get("customResponseHeaders", {}).get("headers", []) for c in configs
    ]:
        assert any(h.startswith(HSTS) and "includeSubDomains" in h for h in headers), headers


def test_tls_1_3_with_another_profile_is_refused():
    with pytest.raises(ConfigError, match="TLS_1_3 needs sslPolicyProfile RESTRICTED"):
        make_context("prod", {"gcp": {"sslPolicyProfile": "MODERN"}})
    assert make_context("staging").config.gcp.min_tls_version == "TLS_1_2"
    assert make_context("prod").config.gcp.min_tls_version == "TLS_1_3"


# Cloud Armor's preconfigured WAF rule sets (names `evaluatePreconfiguredWaf` accepts).
CLOUD_ARMOR_RULE_SETS = {
    *(f"{n}-v33-stable" for n in ("sqli", "xss", "lfi", "rfi", "rce", "methodenforcement", "scannerdetection",
                                  "protocolattack", "php", "sessionfixation", "java", "nodejs")),
    "cve-canary", "json-sqli-canary",
}
REQUIRED_RULE_SETS = {"sqli-v33-stable", "xss-v33-stable", "lfi-v33-stable", "rfi-v33-stable", "rce-v33-stable",
                      "cve-canary"}


def _rule_sets(policy):
    import re

    return [m for r in policy.inputs["rules"]
            for m in re.findall(r"evaluatePreconfiguredWaf\('([^']+)'", r.get("match", {}).get("expr", {}).get("expression", ""))]


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_armor_rule_sets_exist_and_include_log4j(stack):
    plan = plan_of(stack)
    waf = make_context(stack).config.edge.waf
    for policy in _of(plan, "gcp:compute/securityPolicy:SecurityPolicy"):
        sets = _rule_sets(policy)
        assert set(sets) <= CLOUD_ARMOR_RULE_SETS, f"unknown rule sets {set(sets) - CLOUD_ARMOR_RULE_SETS}"
        if waf:
            assert REQUIRED_RULE_SETS <= set(sets)
            # Log4j with every signature (no sensitivity cap), enforced: a sensitivity option would
            # leave obfuscated lookups out; Checkov CKV_GCP_73 reads exactly this expression
            (log4j,) = [r for r in policy.inputs["rules"]
                        if "'cve-canary'" in r.get("match", {}).get("expr", {}).get("expression", "")]
            assert log4j["match"]["expr"]["expression"] == "evaluatePreconfiguredWaf('cve-canary')"
            assert log4j["action"] == "deny(403)" and not log4j.get("preview")
        priorities = [r["priority"] for r in policy.inputs["rules"]]
        assert len(priorities) == len(set(priorities))
        # deny rules only before the first throttle: a throttle ends evaluation for conforming requests
        ordered = sorted(policy.inputs["rules"], key=lambda r: r["priority"])
        first_throttle = next(i for i, r in enumerate(ordered) if r["action"] == "throttle")
        assert all(r["action"] != "deny(403)" for r in ordered[first_throttle:])
        # Standard tier: no auto-deploy rule (it needs Enterprise)
        expressions = [r["match"].get("expr", {}).get("expression", "") for r in ordered]
        tier = make_context(stack).config.gcp.cloud_armor_tier or ""
        assert ("evaluateAdaptiveProtectionAutoDeploy()" in expressions) == tier.startswith("CA_ENTERPRISE")


def test_enterprise_tier_enrols_the_project_and_auto_deploys_mitigations():
    from components.edge.gcp_armor import CloudArmorPolicy, CloudArmorPolicyArgs
    from tests.gcp.support import run_gcp

    capture = run_gcp(
        lambda c: CloudArmorPolicy(
            "armor", CloudArmorPolicyArgs(context=c, project="p", adaptive_protection=True, tier="CA_ENTERPRISE_PAYGO")
        )
    )
    tier = capture.one("gcp:compute/projectCloudArmorTier:ProjectCloudArmorTier")
    assert tier.inputs["cloudArmorTier"] == "CA_ENTERPRISE_PAYGO"
    policy = capture.one("gcp:compute/securityPolicy:SecurityPolicy")
    assert tier.urn in policy.dependencies
    assert policy.inputs["adaptiveProtectionConfig"]["autoDeployConfig"]["loadThreshold"] == 0.8
    first = min(policy.inputs["rules"], key=lambda r: r["priority"])
    assert first["match"]["expr"]["expression"] == "evaluateAdaptiveProtectionAutoDeploy()"
