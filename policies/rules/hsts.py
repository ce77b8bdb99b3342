"""HSTS on public edges: browsers are told to use HTTPS only, so a downgrade cannot strip TLS.

Seed 001 asks for HSTS with end-to-end encryption. `https-only` and `http-redirects-to-https`
make port 80 redirect; without `Strict-Transport-Security` a browser still makes that first plain
request on every new visit, which an attacker on the network can answer. The header is set where
each platform's edge adds response headers:

- GCP external load balancers: the backend service's `customResponseHeaders`;
- GKE Ingress: the BackendConfig's `spec.customResponseHeaders.headers`;
- CloudFront: a response headers policy with `securityHeadersConfig.strictTransportSecurity`
  (override on) attached to every cache behavior (or the AWS-managed SecurityHeadersPolicy);
- ingress-nginx (Helm): the controller's `config.hsts` (on by default) and `hsts-max-age`.

A max-age of at least one year (31536000 s) is required, the floor of browsers' preload lists.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from pulumi_policy import ResourceValidationArgs, Severity, StackValidationArgs

from .base import Check, resource_policy, stack_policy
from .props import get, is_unknown, number, seq, short, truthy

MIN_MAX_AGE = 31536000
BACKEND_SERVICE = "gcp:compute/backendService:BackendService"
BACKEND_CONFIG = "kubernetes:cloud.google.com/v1:BackendConfig"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
#: AWS-managed response headers policy "Managed-SecurityHeadersPolicy" (HSTS max-age 31536000).
MANAGED_SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
_PUBLIC_SCHEMES = (None, "EXTERNAL", "EXTERNAL_MANAGED")
_HEADER = re.compile(r"^\s*strict-transport-security\s*:\s*(.*)$", re.I)


def header_problem(headers: list[Any]) -> Optional[str]:
    """Why a list of "Name: value" response headers lacks a good HSTS header (None when it is fine)."""
    for header in headers:
        found = _HEADER.match(str(header))
        if found:
            age = re.search(r"max-age\s*=\s*(\d+)", found.group(1), re.I)
            if not age or int(age.group(1)) < MIN_MAX_AGE:
                return f"Strict-Transport-Security max-age is below {MIN_MAX_AGE} s"
            return None
    return "no Strict-Transport-Security response header"


@resource_policy(
    name="hsts-on-public-edge",
    theme="hsts",
    summary="Public HTTPS edges send Strict-Transport-Security with a max-age of at least a year.",
    severity=Severity.MEDIUM,
    types=(BACKEND_SERVICE, BACKEND_CONFIG, HELM_RELEASE),
    checks="GCP backend services of external load balancers (loadBalancingScheme EXTERNAL/EXTERNAL_MANAGED, the "
    "default): customResponseHeaders has `Strict-Transport-Security: max-age>=31536000`; GKE BackendConfig: the same "
    "in spec.customResponseHeaders.headers; ingress-nginx Helm releases: controller.config.hsts not \"false\" and "
    "hsts-max-age (if set) >= 31536000. CloudFront: see `cloudfront-hsts`.",
    source="seed 001 (HSTS, end-to-end encryption); OWASP HTTP Strict Transport Security cheat sheet",
    remediation="GCP: `custom_response_headers=[\"Strict-Transport-Security: max-age=31536000; includeSubDomains\"]` on "
    "the backend service (or BackendConfig spec.customResponseHeaders.headers); ingress-nginx: keep "
    "controller.config.hsts \"true\".",
    url="https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Strict_Transport_Security_Cheat_Sheet.html",
)
def hsts_on_public_edge(args: ResourceValidationArgs, check: Check) -> None:
    props = args.props
    if args.resource_type == HELM_RELEASE:
        chart = get(props, "chart")
        if not check.known(chart, "chart") or not str(chart).endswith("ingress-nginx"):
            return
        config = get(props, "values.controller.config")
        if not check.known(config, "values.controller.config"):
            return
        enabled = truthy(get(config, "hsts"))
        age = number(get(config, "hsts-max-age"))
        if check.known(enabled, "controller.config.hsts") and enabled is False:
            check.fail("ingress-nginx is configured with hsts: \"false\".")
        if check.known(age, "controller.config.hsts-max-age") and age is not None and age < MIN_MAX_AGE:
            check.fail(f"ingress-nginx hsts-max-age is below {MIN_MAX_AGE} s.")
        return
    if args.resource_type == BACKEND_SERVICE:
        scheme = get(props, "loadBalancingScheme")
        if not check.known(scheme, "loadBalancingScheme") or scheme not in _PUBLIC_SCHEMES:
            return
        path = "customResponseHeaders"
    else:
        path = "spec.customResponseHeaders.headers"
    headers = seq(get(props, path), path)
    if not check.known(headers, path):
        return
    if any(is_unknown(h) for h in headers):
        check.unknown(f"{path}[]")
        return
    problem = header_problem(headers)
    if problem:
        check.fail(f"the public edge sends {problem} ({path}).")


def _hsts_policy_problem(policy: Any) -> Optional[str]:
    hsts = get(policy.props, "securityHeadersConfig.strictTransportSecurity")
    if is_unknown(hsts):
        return None
    if hsts is None:
        return "has no strictTransportSecurity"
    age, override = number(get(hsts, "accessControlMaxAgeSec")), truthy(get(hsts, "override"))
    if is_unknown(age) or is_unknown(override):
        return None
    if age is None or age < MIN_MAX_AGE:
        return f"sets max-age below {MIN_MAX_AGE} s"
    if override is not True:
        return "does not override the origin's header (override: false)"
    return None


@stack_policy(
    name="cloudfront-hsts",
    theme="hsts",
    summary="Every CloudFront cache behavior attaches a response headers policy that sends HSTS.",
    severity=Severity.MEDIUM,
    types=(DISTRIBUTION, HEADERS_POLICY),
    checks="Each distribution's defaultCacheBehavior and orderedCacheBehaviors set responseHeadersPolicyId; the "
    "ResponseHeadersPolicy resources the distribution depends on set securityHeadersConfig.strictTransportSecurity "
    "with accessControlMaxAgeSec >= 31536000 and override true (the AWS-managed SecurityHeadersPolicy also passes).",
    source="seed 001 (HSTS, end-to-end encryption); Checkov CKV_AWS_259; OWASP HSTS cheat sheet",
    remediation="Create an aws.cloudfront.ResponseHeadersPolicy with security_headers_config.strict_transport_security "
    "(access_control_max_age_sec=63072000, include_subdomains=True, override=True) and set response_headers_policy_id "
    "on every cache behavior.",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/adding-response-headers.html",
)
def cloudfront_hsts(args: StackValidationArgs, check: Check) -> None:
    for r in args.resources:
        if r.resource_type != DISTRIBUTION:
            continue
        label = f"{short(r.resource_type)} {r.name}"
        behaviors = [("defaultCacheBehavior", get(r.props, "defaultCacheBehavior"))]
        ordered = seq(get(r.props, "orderedCacheBehaviors"), "orderedCacheBehaviors")
        if check.known(ordered, f"orderedCacheBehaviors of {label}"):
            behaviors += [(f"orderedCacheBehaviors[{i}]", b) for i, b in enumerate(ordered)]
        managed_only = True
        for where, behavior in behaviors:
            policy_id = get(behavior, "responseHeadersPolicyId")
            if not check.known(policy_id, f"{where}.responseHeadersPolicyId of {label}"):
                continue
            if not policy_id:
                check.fail(f"{label}: {where} attaches no response headers policy, so no HSTS header.", r.urn)
            elif policy_id != MANAGED_SECURITY_HEADERS:
                managed_only = False
        if managed_only:
            continue
        policies = [d for d in r.dependencies if d.resource_type == HEADERS_POLICY]
        if not policies:
            check.fail(f"{label}: its response headers policy is not one this stack defines with HSTS.", r.urn)
        for policy in policies:
            problem = _hsts_policy_problem(policy)
            if problem:
                check.fail(f"{label}: response headers policy {policy.name} {problem}.", r.urn)
