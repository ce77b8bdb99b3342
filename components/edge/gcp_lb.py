"""Global external Application Load Balancer for Cloud Run (`cloudrun`).

Creates:
- one global IPv4 address shared by HTTPS and the HTTP redirect (point the DNS A records of every
  host at it);
- per routed service and region a serverless NEG pointing at that region's Cloud Run service,
  and per service one backend service (EXTERNAL_MANAGED, HTTPS) holding the NEGs of all regions:
  the LB sends each user to the nearest healthy region, and outlier detection ejects a region
  whose backend keeps failing (`dr.failureThreshold` consecutive 5xx, checked every
  `dr.healthCheckIntervalSeconds`), which is the automatic regional failover;
- Cloud CDN on the backends marked `cdn` (the frontend) with a cache policy (static content
  cached, 1 h default TTL, serve-stale, request coalescing) and no CDN on the rest (the API is
  per-user and streaming); every backend logs requests and carries the Cloud Armor policy;
- TLS through Certificate Manager: a certificate map on the HTTPS proxy with one entry per host,
  each with its own Google-managed certificate validated by a DNS authorization (one CNAME per
  host, listed in `dns_records`). A Compute managed certificate for all hosts would have to be
  replaced on any host change, and the proxy would switch to the new one while it is still
  provisioning (up to about 90 minutes of failing HTTPS for every host); per-host certificates
  named after their host leave the serving ones attached, and DNS validation issues a new one
  before traffic reaches it;
- an SSL policy on the HTTPS proxy: `gcp.minTlsVersion` (TLS 1.3 in prod, seeds 001/002; the API
  allows TLS 1.3 only with the RESTRICTED profile) and `gcp.sslPolicyProfile`;
- HSTS: every backend adds `Strict-Transport-Security` (`edge.hstsMaxAgeSeconds`) to its responses;
- a URL map routing by host and path (each host's default backend, plus path rules such as
  `/api/*` to another backend); unknown hosts are redirected to the first host;
- an HTTP URL map that only redirects to HTTPS (301), an HTTP proxy and a port-80 forwarding rule
  on the same address.

Streaming: serverless NEG backends take their request timeout from the Cloud Run service (set to
`edge.streamingTimeoutSeconds` there); the backend service `timeout_sec` is not supported for
them and is therefore not set.

Exposes `address` (the IP), `hosts`, `backend_services`, `certificates` (host -> certificate) and
`dns_records` (the A records and the DNS-authorization CNAMEs to create).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackContext


@dataclass(frozen=True)
class LbBackend:
    """A routed service: its hosts and paths, and its Cloud Run service name per region."""

    key: str
    hosts: Sequence[str]
    paths: Sequence[str]
    cloud_run_services: Mapping[str, pulumi.Input[str]]  # region -> Cloud Run service name
    cdn: bool = False


@dataclass(frozen=True)
class GlobalLoadBalancerArgs:
    context: StackContext
    project: pulumi.Input[str]
    backends: Sequence[LbBackend]
    security_policy: Optional[pulumi.Input[str]] = None
    ssl_policy_profile: str = "MODERN"
    min_tls_version: str = "TLS_1_2"  # TLS_1_3 only with the RESTRICTED profile
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # the Compute API


def host_key(host: str) -> str:
    """A stable, valid Certificate Manager name part for a host: its first label (cut to 20) and a
    hash of the whole host ('app.example.com' -> 'app-1a2b3c')."""
    label = re.sub(r"[^a-z0-9-]", "-", host.split(".")[0].lower())[:20].strip("-") or "apex"
    return f"{label}-{hashlib.sha256(host.encode()).hexdigest()[:6]}"


def _path_rules(paths: Sequence[str]) -> list[str]:
    """'/api' -> ['/api', '/api/*']: the prefix itself and everything under it."""
    rules: list[str] = []
    for path in paths:
        base = path.rstrip("/")
        rules += [base, f"{base}/*"] if base else ["/*"]
    return rules


class GlobalLoadBalancer(PlatformComponent):
    """External managed ALB: serverless NEGs per region, CDN, Armor, managed TLS, HTTP->HTTPS."""

    TYPE = "aiplatform:edge:GlobalLoadBalancer"

    def __init__(self, name: str, args: GlobalLoadBalancerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        if not args.backends:
            raise ValueError("a load balancer needs at least one backend")
        cfg = self.config
        prefix = self.context.prefix

        self.address = gcp.compute.GlobalAddress(
            self.child_name("ip"),
            gcp.compute.GlobalAddressArgs(
                project=args.project, name=f"{prefix}-lb-ip", ip_version="IPV4", labels=self.labels
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )

        self.backend_services: dict[str, gcp.compute.BackendService] = {}
        for backend in args.backends:
            negs = [
                gcp.compute.RegionNetworkEndpointGroup(
                    self.child_name(backend.key, region),
                    gcp.compute.RegionNetworkEndpointGroupArgs(
                        project=args.project,
                        name=f"{prefix}-{backend.key}-{region}",
                        region=region,
                        network_endpoint_type="SERVERLESS",
                        cloud_run=gcp.compute.RegionNetworkEndpointGroupCloudRunArgs(service=service),
                    ),
                    opts=self.child_opts(depends_on=args.depends_on),
                )
                for region, service in backend.cloud_run_services.items()
            ]
            multi_region = len(negs) > 1
            self.backend_services[backend.key] = gcp.compute.BackendService(
                self.child_name(backend.key),
                gcp.compute.BackendServiceArgs(
                    project=args.project,
                    name=f"{prefix}-{backend.key}",
                    protocol="HTTPS",
                    load_balancing_scheme="EXTERNAL_MANAGED",
                    backends=[gcp.compute.BackendServiceBackendArgs(group=neg.id) for neg in negs],
                    enable_cdn=backend.cdn,
                    cdn_policy=gcp.compute.BackendServiceCdnPolicyArgs(
                        cache_mode="CACHE_ALL_STATIC",
                        default_ttl=3600,
                        client_ttl=3600,
                        max_ttl=86400,
                        negative_caching=True,
                        serve_while_stale=86400,
                        request_coalescing=True,
                        cache_key_policy=gcp.compute.BackendServiceCdnPolicyCacheKeyPolicyArgs(
                            include_host=True, include_protocol=True, include_query_string=True
                        ),
                    )
                    if backend.cdn
                    else None,
                    security_policy=args.security_policy,
                    # HSTS: browsers never try plain HTTP for the hosts again
                    custom_response_headers=[cfg.edge.hsts_header] if cfg.edge.hsts_header else None,
                    log_config=gcp.compute.BackendServiceLogConfigArgs(enable=True, sample_rate=1.0),
                    outlier_detection=gcp.compute.BackendServiceOutlierDetectionArgs(
                        consecutive_errors=cfg.dr.failure_threshold,
                        interval=gcp.compute.BackendServiceOutlierDetectionIntervalArgs(
                            seconds=cfg.dr.health_check_interval_seconds
                        ),
                        base_ejection_time=gcp.compute.BackendServiceOutlierDetectionBaseEjectionTimeArgs(
                            seconds=cfg.dr.health_check_interval_seconds
                        ),
                        max_ejection_percent=50,
                    )
                    if multi_region
                    else None,
                ),
                opts=self.child_opts(),
            )

        # URL map: per host, the backend serving "/" is the default, other backends get path rules.
        hosts: dict[str, list[LbBackend]] = {}
        for backend in args.backends:
            for host in backend.hosts:
                hosts.setdefault(host, []).append(backend)
        self.hosts = list(hosts)
        host_rules, path_matchers = [], []
        for index, (host, backends) in enumerate(hosts.items()):
            root = next((b for b in backends if "/" in b.paths), backends[0])
            matcher = f"host{index}"
            host_rules.append(gcp.compute.URLMapHostRuleArgs(hosts=[host], path_matcher=matcher))
            path_matchers.append(
                gcp.compute.URLMapPathMatcherArgs(
                    name=matcher,
                    default_service=self.backend_services[root.key].id,
                    path_rules=[
                        gcp.compute.URLMapPathMatcherPathRuleArgs(
                            paths=_path_rules([p for p in b.paths if p != "/"]),
                            service=self.backend_services[b.key].id,
                        )
                        for b in backends
                        if b is not root and any(p != "/" for p in b.paths)
                    ]
                    or None,
                )
            )
        self.url_map = gcp.compute.URLMap(
            self.child_name("https"),
            gcp.compute.URLMapArgs(
                project=args.project,
                name=f"{prefix}-https",
                host_rules=host_rules,
                path_matchers=path_matchers,
                default_url_redirect=gcp.compute.URLMapDefaultUrlRedirectArgs(
                    host_redirect=self.hosts[0],
                    https_redirect=True,
                    redirect_response_code="MOVED_PERMANENTLY_DEFAULT",
                    strip_query=False,
                ),
            ),
            opts=self.child_opts(),
        )

        self.certificate_map = self._certificates(args)
        self.ssl_policy = gcp.compute.SSLPolicy(
            self.child_name("tls"),
            gcp.compute.SSLPolicyArgs(
                project=args.project,
                name=f"{prefix}-tls",
                profile=args.ssl_policy_profile,
                min_tls_version=args.min_tls_version,
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        https_proxy = gcp.compute.TargetHttpsProxy(
            self.child_name("https-proxy"),
            gcp.compute.TargetHttpsProxyArgs(
                project=args.project,
                name=f"{prefix}-https",
                url_map=self.url_map.id,
                certificate_map=self.certificate_map.id.apply(lambda i: f"//certificatemanager.googleapis.com/{i}"),
                ssl_policy=self.ssl_policy.id,
            ),
            opts=self.child_opts(),
        )
        self._forwarding_rule("https", https_proxy, 443, args.project)

        redirect_map = gcp.compute.URLMap(
            self.child_name("http-redirect"),
            gcp.compute.URLMapArgs(
                project=args.project,
                name=f"{prefix}-http-redirect",
                default_url_redirect=gcp.compute.URLMapDefaultUrlRedirectArgs(
                    https_redirect=True, redirect_response_code="MOVED_PERMANENTLY_DEFAULT", strip_query=False
                ),
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        http_proxy = gcp.compute.TargetHttpProxy(
            self.child_name("http-proxy"),
            gcp.compute.TargetHttpProxyArgs(project=args.project, name=f"{prefix}-http", url_map=redirect_map.id),
            opts=self.child_opts(),
        )
        self._forwarding_rule("http", http_proxy, 80, args.project)
        self.ip_address = self.address.address
        self.dns_records = pulumi.Output.all(self.ip_address, *self.authorization_records).apply(
            lambda v: [{"name": host, "type": "A", "value": v[0]} for host in self.hosts] + list(v[1:])
        )
        self.register_outputs({"address": self.ip_address, "hosts": self.hosts})

    def _certificates(self, args: GlobalLoadBalancerArgs) -> gcp.certificatemanager.CertificateMap:
        """A certificate map with one entry per host, each served by its own Google-managed
        certificate that Certificate Manager validates through a DNS authorization (a CNAME the
        operator creates once per host, `dns_records`). Per host and named after the host, so a
        change of one host creates its certificate beside the others and never detaches a
        certificate that is serving; DNS validation issues it before any traffic arrives."""
        prefix = self.context.prefix
        cert_map = gcp.certificatemanager.CertificateMap(
            self.child_name("certs"),
            gcp.certificatemanager.CertificateMapArgs(
                project=args.project, name=f"{prefix}-certs", description="TLS certificates of the public hosts",
                labels=self.labels,
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        self.authorization_records: list[pulumi.Output] = []
        self.certificates: dict[str, gcp.certificatemanager.Certificate] = {}
        for host in sorted(self.hosts):
            key = host_key(host)
            auth = gcp.certificatemanager.DnsAuthorization(
                self.child_name("dns-auth", key),
                gcp.certificatemanager.DnsAuthorizationArgs(
                    project=args.project, name=f"{prefix}-{key}", domain=host, type="FIXED_RECORD", labels=self.labels
                ),
                opts=self.child_opts(depends_on=args.depends_on),
            )
            self.authorization_records.append(
                auth.dns_resource_records.apply(
                    lambda records: {"name": records[0].name, "type": records[0].type, "value": records[0].data}
                )
            )
            self.certificates[host] = gcp.certificatemanager.Certificate(
                self.child_name("cert", key),
                gcp.certificatemanager.CertificateArgs(
                    project=args.project,
                    name=f"{prefix}-{key}",
                    description=f"Google-managed certificate for {host}",
                    scope="DEFAULT",
                    managed=gcp.certificatemanager.CertificateManagedArgs(domains=[host], dns_authorizations=[auth.id]),
                    labels=self.labels,
                ),
                opts=self.child_opts(),
            )
            gcp.certificatemanager.CertificateMapEntry(
                self.child_name("cert-entry", key),
                gcp.certificatemanager.CertificateMapEntryArgs(
                    project=args.project,
                    name=f"{prefix}-{key}",
                    map=cert_map.name,
                    hostname=host,
                    certificates=[self.certificates[host].id],
                    labels=self.labels,
                ),
                opts=self.child_opts(),
            )
        return cert_map

    def _forwarding_rule(
        self,
        key: str,
        proxy: gcp.compute.TargetHttpsProxy | gcp.compute.TargetHttpProxy,
        port: int,
        project: pulumi.Input[str],
    ) -> gcp.compute.GlobalForwardingRule:
        """`<prefix>-<key>`: TCP `port` of the shared global address to `proxy`."""
        return gcp.compute.GlobalForwardingRule(
            self.child_name(f"{key}-rule"),
            gcp.compute.GlobalForwardingRuleArgs(
                project=project,
                name=f"{self.context.prefix}-{key}",
                target=proxy.id,
                ip_address=self.address.address,
                ip_protocol="TCP",
                port_range=str(port),
                load_balancing_scheme="EXTERNAL_MANAGED",
                labels=self.labels,
            ),
            opts=self.child_opts(),
        )
