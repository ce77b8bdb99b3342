"""Transport security on every edge: HTTPS only, TLS 1.2 or newer, HTTP redirected to HTTPS.

Seeds 001/002 ask for TLS 1.3 end to end and HSTS; seed 003 for TLS termination at the load
balancer. The floor enforced here is TLS 1.2 (every managed edge in the design supports it; TLS
1.3-only profiles would cut off older clients), with HTTPS-only viewers and origins.

Edges covered: GCP external Application LB (SSL policy, target HTTPS proxy, HTTP proxy whose URL
map redirects), GKE Ingress (FrontendConfig redirect + SSL policy, managed certificates),
Kubernetes Ingress TLS (nginx), CloudFront (viewer protocol, viewer certificate, origin
protocol), ALB listeners.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity, StackValidationArgs

from .base import Check, resource_policy, stack_policy
from .props import get, is_unknown, items, present, seq

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
FRONTEND_CONFIG = "kubernetes:networking.gke.io/v1beta1:FrontendConfig"
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"
URL_MAP = "gcp:compute/uRLMap:URLMap"
CLOUDFRONT = "aws:cloudfront/distribution:Distribution"
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")

_HTTPS_VIEWER = ("redirect-to-https", "https-only")
_GKE_TLS_ANNOTATIONS = ("networking.gke.io/managed-certificates", "ingress.gcp.kubernetes.io/pre-shared-cert")
_GKE_FRONTEND_ANNOTATION = "networking.gke.io/v1beta1.FrontendConfig"


def _covered(host: str, tls_hosts: list[str]) -> bool:
    for pattern in tls_hosts:
        if pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and host.count(".") == pattern.count("."):
            return True
    return False


def _ingress_https(args: ResourceValidationArgs, check: Check) -> None:
    annotations = dict(items(get(args.props, "metadata.annotations"), "metadata.annotations") or [])
    if is_unknown(get(args.props, "metadata.annotations")):
        check.unknown("metadata.annotations")
        return
    unknown_keys = [k for k, v in annotations.items() if is_unknown(v)]
    for key in unknown_keys:
        check.unknown(f"annotation {key}")
    gke_tls = any(k in annotations for k in _GKE_TLS_ANNOTATIONS)
    tls = seq(get(args.props, "spec.tls"), "spec.tls")
    rules = seq(get(args.props, "spec.rules"), "spec.rules")
    if not (check.known(tls, "spec.tls") and check.known(rules, "spec.rules")):
        return
    if not tls and not gke_tls:
        check.fail("Ingress has no TLS: add spec.tls (cert-manager) or a GKE managed certificate.")
        return
    if tls:
        tls_hosts: list[str] = []
        for index, entry in enumerate(tls):
            hosts = seq(get(entry, "hosts"), f"spec.tls[{index}].hosts")
            if not check.known(hosts, f"spec.tls[{index}].hosts"):
                return
            tls_hosts += [h for h in hosts if isinstance(h, str)]
        for index, rule in enumerate(rules):
            host = get(rule, "host")
            if not check.known(host, f"spec.rules[{index}].host"):
                continue
            if isinstance(host, str) and not _covered(host, tls_hosts):
                check.fail(f"host {host} is served without TLS: list it under spec.tls[].hosts.")
    if str(annotations.get("nginx.ingress.kubernetes.io/ssl-redirect", "")).lower() == "false":
        check.fail("nginx.ingress.kubernetes.io/ssl-redirect is \"false\": plain HTTP is served.")
    gke = (
        get(args.props, "spec.ingressClassName") == "gce"
        or annotations.get("kubernetes.io/ingress.class") in ("gce", "gce-internal")
        or gke_tls
    )
    if gke and _GKE_FRONTEND_ANNOTATION not in annotations:
        if str(annotations.get("kubernetes.io/ingress.allow-http", "true")).lower() != "false":
            check.fail(
                "GKE Ingress serves plain HTTP: reference a FrontendConfig with redirectToHttps "
                f"({_GKE_FRONTEND_ANNOTATION} annotation) or set kubernetes.io/ingress.allow-http: \"false\"."
            )


def _listener_https(args: ResourceValidationArgs, check: Check) -> None:
    protocol = get(args.props, "protocol")
    if not check.known(protocol, "protocol"):
        return
    if protocol is not None and not isinstance(protocol, str):
        check.fail("listener protocol is not a string: set protocol to \"HTTPS\" (or \"HTTP\" with a redirect).")
        return
    protocol = (protocol or "HTTP").upper()
    if protocol in ("HTTPS", "TLS"):
        if not present(get(args.props, "certificateArn")):
            check.fail(f"{protocol} listener has no certificateArn.")
        return
    if protocol != "HTTP":
        return  # TCP/UDP listeners (NLB) carry no HTTP
    actions = seq(get(args.props, "defaultActions"), "defaultActions")
    if not check.known(actions, "defaultActions"):
        return
    for index, action in enumerate(actions):
        kind, target = get(action, "type"), get(action, "redirect.protocol")
        if not (check.known(kind, f"defaultActions[{index}].type") and check.known(target, f"defaultActions[{index}].redirect.protocol")):
            return
        if kind == "redirect" and str(target).upper() == "HTTPS":
            return
    check.fail("HTTP listener does not redirect to HTTPS: its default action must be a redirect with protocol HTTPS.")


@resource_policy(
    name="https-only",
    theme="transport",
    summary="Every public edge serves HTTPS only; plain HTTP is redirected.",
    severity=Severity.HIGH,
    types=(INGRESS, FRONTEND_CONFIG, HTTPS_PROXY, CLOUDFRONT) + LISTENERS,
    checks="Kubernetes Ingress: spec.tls covers every rule host (or a GKE managed certificate), no "
    "ssl-redirect: \"false\", GKE Ingress redirects via FrontendConfig or disallows HTTP; FrontendConfig: "
    "redirectToHttps.enabled; target HTTPS proxy: has certificates; CloudFront: viewerProtocolPolicy "
    "redirect-to-https/https-only on all behaviors; ALB: HTTP listeners only redirect to HTTPS, HTTPS "
    "listeners have a certificate.",
    source="seed 001 (end-to-end encryption, cert-manager); seed 003 (TLS termination at load balancer); "
    "seed 004 (TLS/SSL certificates configured)",
    remediation="Terminate TLS at the edge with a managed certificate and redirect HTTP: Ingress spec.tls + "
    "cert-manager ClusterIssuer, GKE FrontendConfig redirectToHttps, URL map https_redirect, CloudFront "
    "viewer_protocol_policy=\"redirect-to-https\", ALB HTTP listener redirect action.",
)
def https_only(args: ResourceValidationArgs, check: Check) -> None:
    kind = args.resource_type
    if kind == INGRESS:
        _ingress_https(args, check)
    elif kind == FRONTEND_CONFIG:
        enabled = get(args.props, "spec.redirectToHttps.enabled")
        if check.known(enabled, "spec.redirectToHttps.enabled") and enabled is not True:
            check.fail("FrontendConfig does not redirect HTTP to HTTPS: set spec.redirectToHttps.enabled: true.")
    elif kind == HTTPS_PROXY:
        keys = ("sslCertificates", "certificateMap", "certificateManagerCertificates")
        if not any(present(get(args.props, key)) for key in keys):
            check.fail("target HTTPS proxy has no certificate (sslCertificates, certificateMap or certificateManagerCertificates).")
    elif kind == CLOUDFRONT:
        behaviors = [("defaultCacheBehavior", get(args.props, "defaultCacheBehavior"))]
        ordered = seq(get(args.props, "orderedCacheBehaviors"), "orderedCacheBehaviors")
        if check.known(ordered, "orderedCacheBehaviors"):
            behaviors += [(f"orderedCacheBehaviors[{i}]", b) for i, b in enumerate(ordered)]
        for where, behavior in behaviors:
            policy = get(behavior, "viewerProtocolPolicy")
            if check.known(policy, f"{where}.viewerProtocolPolicy") and policy not in _HTTPS_VIEWER:
                check.fail(f"{where}.viewerProtocolPolicy is {policy or 'unset'}: use redirect-to-https or https-only.")
    else:
        _listener_https(args, check)


# ---------------------------------------------------------------------------------------------

_GCP_TLS_OK = ("TLS_1_2", "TLS_1_3")
_CLOUDFRONT_TLS_RE = re.compile(r"^TLSv1\.[23]_\d{4}$")
_ELB_TLS_RE = re.compile(r"(TLS13-1-[23]|TLS-1-[23]|FS-1-2)")


@resource_policy(
    name="tls-1-2-minimum",
    theme="transport",
    summary="Edges negotiate TLS 1.2 or newer with modern ciphers.",
    severity=Severity.HIGH,
    types=(SSL_POLICY, HTTPS_PROXY, CLOUDFRONT, FRONTEND_CONFIG) + LISTENERS,
    checks="GCP SSL policy: minTlsVersion TLS_1_2/TLS_1_3 and profile MODERN, RESTRICTED or CUSTOM (the "
    "defaults are TLS_1_0/COMPATIBLE); target HTTPS proxy and GKE FrontendConfig: an SSL policy is attached; "
    "CloudFront: a custom certificate with minimumProtocolVersion TLSv1.2_* or newer; ALB HTTPS listeners: "
    "a TLS 1.2+ security policy (ELBSecurityPolicy-TLS13-1-2-*, -TLS-1-2-*, -FS-1-2-*).",
    source="seed 001 (TLS 1.3 minimum); seed 002 (TLS 1.3 in transit); Mozilla server-side TLS "
    "intermediate profile (TLS 1.2 floor)",
    remediation="GCP: compute.SSLPolicy(min_tls_version=\"TLS_1_2\", profile=\"MODERN\") attached to the HTTPS "
    "proxy / FrontendConfig spec.sslPolicy; CloudFront: viewer_certificate with an ACM certificate and "
    "minimum_protocol_version=\"TLSv1.2_2021\"; ALB: ssl_policy=\"ELBSecurityPolicy-TLS13-1-2-2021-06\".",
    url="https://cloud.google.com/load-balancing/docs/ssl-policies-concepts",
)
def tls_1_2_minimum(args: ResourceValidationArgs, check: Check) -> None:
    kind = args.resource_type
    if kind == SSL_POLICY:
        version, profile = get(args.props, "minTlsVersion"), get(args.props, "profile")
        if check.known(version, "minTlsVersion") and version not in _GCP_TLS_OK:
            check.fail(f"minTlsVersion is {version or 'unset (TLS_1_0)'}: set TLS_1_2 or newer.")
        if check.known(profile, "profile") and profile not in ("MODERN", "RESTRICTED", "CUSTOM"):
            check.fail(f"profile is {profile or 'unset (COMPATIBLE)'}: use MODERN or RESTRICTED.")
    elif kind == HTTPS_PROXY:
        if not present(get(args.props, "sslPolicy")):
            check.fail("no sslPolicy: the default GCP policy allows TLS 1.0; attach a TLS 1.2+ SSL policy.")
    elif kind == FRONTEND_CONFIG:
        if not present(get(args.props, "spec.sslPolicy")):
            check.fail("FrontendConfig has no spec.sslPolicy: the default GCP policy allows TLS 1.0.")
    elif kind == CLOUDFRONT:
        default_cert = get(args.props, "viewerCertificate.cloudfrontDefaultCertificate")
        version = get(args.props, "viewerCertificate.minimumProtocolVersion")
        if check.known(default_cert, "viewerCertificate.cloudfrontDefaultCertificate") and default_cert is True:
            check.fail("uses the default *.cloudfront.net certificate, which allows TLSv1: use an ACM certificate.")
        elif check.known(version, "viewerCertificate.minimumProtocolVersion") and not (
            isinstance(version, str) and _CLOUDFRONT_TLS_RE.match(version)
        ):
            check.fail(f"viewerCertificate.minimumProtocolVersion is {version or 'unset (TLSv1)'}: use TLSv1.2_2021 or newer.")
    else:
        protocol = get(args.props, "protocol")
        if not check.known(protocol, "protocol") or str(protocol or "").upper() not in ("HTTPS", "TLS"):
            return
        policy = get(args.props, "sslPolicy")
        if check.known(policy, "sslPolicy") and not (isinstance(policy, str) and _ELB_TLS_RE.search(policy)):
            check.fail(
                f"sslPolicy is {policy or 'unset (ELBSecurityPolicy-2016-08, TLS 1.0)'}: use ELBSecurityPolicy-TLS13-1-2-2021-06."
            )


@resource_policy(
    name="origin-https-only",
    theme="transport",
    summary="The CDN talks to its origins over HTTPS with TLS 1.2 only.",
    severity=Severity.HIGH,
    types=(CLOUDFRONT,),
    checks="Every CloudFront custom origin: originProtocolPolicy https-only and originSslProtocols only TLSv1.2.",
    source="seed 001 (end-to-end encryption for all traffic); DESIGN (ecs: ALB origin HTTPS only)",
    remediation="custom_origin_config: origin_protocol_policy=\"https-only\", origin_ssl_protocols=[\"TLSv1.2\"], "
    "with an ACM certificate on the ALB HTTPS listener.",
)
def origin_https_only(args: ResourceValidationArgs, check: Check) -> None:
    origins = seq(get(args.props, "origins"), "origins")
    if not check.known(origins, "origins"):
        return
    for index, origin in enumerate(origins):
        config = get(origin, "customOriginConfig")
        if not check.known(config, f"origins[{index}].customOriginConfig") or config is None:
            continue
        policy = get(config, "originProtocolPolicy")
        if check.known(policy, f"origins[{index}].originProtocolPolicy") and policy != "https-only":
            check.fail(f"origin {index} uses originProtocolPolicy {policy or 'unset'}: use https-only.")
        protocols = seq(get(config, "originSslProtocols"), f"origins[{index}].originSslProtocols")
        if check.known(protocols, f"origins[{index}].originSslProtocols"):
            weak = sorted({str(p) for p in protocols if not is_unknown(p)} - {"TLSv1.2"})
            if weak or not protocols:
                check.fail(f"origin {index} allows {', '.join(weak) or 'no protocol list'}: use [\"TLSv1.2\"] only.")


# ---------------------------------------------------------------------------------------------


def _dependency(resource: Any, type_token: str, by_urn: dict[str, Any], prop: str) -> list[Any]:
    found = [d for d in getattr(resource, "property_dependencies", {}).get(prop, []) if d.resource_type == type_token]
    if not found:
        found = [d for d in resource.dependencies if d.resource_type == type_token]
    return found


@stack_policy(
    name="http-redirects-to-https",
    theme="transport",
    summary="Plain-HTTP load balancer frontends only redirect to HTTPS.",
    severity=Severity.HIGH,
    types=(HTTP_PROXY, URL_MAP),
    checks="Every GCP target HTTP proxy uses a URL map (found through its dependencies) whose "
    "defaultUrlRedirect has httpsRedirect: true, so port 80 never serves content.",
    source="seed 001 (HSTS, end-to-end encryption); DESIGN (cloudrun edge: HTTP -> HTTPS redirect)",
    remediation="Create a separate compute.URLMap(default_url_redirect={\"https_redirect\": True, "
    "\"strip_query\": False}) for the HTTP proxy instead of reusing the serving URL map.",
)
def http_redirects_to_https(args: StackValidationArgs, check: Check) -> None:
    by_urn = {r.urn: r for r in args.resources}
    for r in args.resources:
        if r.resource_type != HTTP_PROXY:
            continue
        maps = _dependency(r, URL_MAP, by_urn, "urlMap")
        if not maps:
            check.unknown(f"the URL map of TargetHttpProxy {r.name}", reason="it is not among the proxy's dependencies in this stack")
            continue
        for url_map in maps:
            redirect = get(url_map.props, "defaultUrlRedirect.httpsRedirect")
            if check.known(redirect, f"defaultUrlRedirect of URLMap {url_map.name}") and redirect is not True:
                check.fail(
                    f"TargetHttpProxy {r.name} serves URL map {url_map.name}, which does not redirect to HTTPS "
                    "(defaultUrlRedirect.httpsRedirect).",
                    r.urn,
                )
