"""The edge on GKE: a global external Application Load Balancer built by the GKE Ingress controller.

`GkeIngress` creates:
- a global static IPv4 address (the DNS A records of the public hosts point at it, so it is kept
  across deployments and protected in production);
- an SSL policy: minimum `gcp.minTlsVersion` (TLS 1.3 in prod, seeds 001/002), cipher profile
  `gcp.sslPolicyProfile` (RESTRICTED in prod: the API allows TLS 1.3 only with it);
- a FrontendConfig: HTTP answers with a 301 to HTTPS, the SSL policy on the HTTPS proxy;
- per public service (a web service with a `route`):
  - a BackendConfig: the Cloud Armor policy (WAF and rate limits, from the GCP edge component),
    Cloud CDN only for `gcp.cdnServices` (the frontend's static Next.js assets; API and
    streaming responses are never cached), a health check on the service's health path and port, a backend timeout of
    `edge.streamingTimeoutSeconds` so SSE responses are not cut, connection draining so rollouts
    do not drop requests, request logging, and the HSTS response header
    (`edge.hstsMaxAgeSeconds`);
  - a ManagedCertificate (Google-managed TLS certificate) for its host;
- one Ingress (class `gce`, external) routing each public host and path to its Service, with the
  static IP, the certificates and the FrontendConfig attached.

The Services must carry the annotations of `service_annotations(config)`: container-native load
balancing (NEGs: the load balancer sends traffic straight to pod IPs) and the BackendConfig. The
names are derived from the config alone, so the platform passes them to the app layer before this
component exists, and the Ingress is created afterwards from the app's Service endpoints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.config import StackConfig, StackContext
from components.kubernetes_objects import ingress_rule, metadata

if TYPE_CHECKING:  # pragma: no cover
    from components.app.kubernetes import IngressSource, ServiceEndpoint

NEG_ANNOTATION = "cloud.google.com/neg"
BACKEND_CONFIG_ANNOTATION = "cloud.google.com/backend-config"
# Google Front Ends and health checkers: with container-native load balancing (NEGs) the load
# balancer connects to pod IPs from these ranges, so the pods' NetworkPolicy must admit them.
GOOGLE_LB_RANGES = ("130.211.0.0/22", "35.191.0.0/16")
# Time the load balancer keeps sending in-flight requests to an endpoint that is going away.
DRAINING_SECONDS = 60


def backend_config_name(service: str) -> str:
    return f"{service}-backend"


def public_services(config: StackConfig) -> list[str]:
    """Enabled web services with a public route, in config order."""
    return [n for n, s in config.enabled_services.items() if s.kind == "web" and s.route is not None]


def service_annotations(config: StackConfig) -> dict[str, dict[str, str]]:
    """The annotations each public Service needs for the GKE Ingress (pass to the app layer)."""
    return {
        name: {
            NEG_ANNOTATION: json.dumps({"ingress": True}),
            BACKEND_CONFIG_ANNOTATION: json.dumps({"default": backend_config_name(name)}),
        }
        for name in public_services(config)
    }


@dataclass(frozen=True)
class GkeIngressArgs:
    context: StackContext
    namespace: pulumi.Input[str]
    services: Mapping[str, "ServiceEndpoint"]  # KubernetesApp.services: name, port, health_path, route
    project: pulumi.Input[str]  # the configured project: the address and SSL policy live there
    security_policy: Optional[pulumi.Input[str]] = None  # name of the Cloud Armor policy
    depends_on: Sequence[pulumi.Resource] = ()  # the Compute API (address, SSL policy)


class GkeIngress(PlatformComponent):
    """Outputs: `address` (the static IP for DNS), `urls` (service -> https URL),
    `service_annotations` (service -> annotations its Service needs)."""

    TYPE = "aiplatform:edge:GkeIngress"

    service_annotations_for = staticmethod(service_annotations)

    @staticmethod
    def source_for(config: StackConfig) -> "IngressSource":
        """Who sends public traffic to the web pods: Google's load balancers and health checks."""
        from components.app.kubernetes import IngressSource

        return IngressSource(cidrs=GOOGLE_LB_RANGES)

    def __init__(self, name: str, args: GkeIngressArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        edge = cfg.edge
        prefix = self.context.prefix
        namespace = args.namespace
        self.service_annotations = service_annotations(cfg)
        public = [n for n in public_services(cfg) if n in args.services]
        missing = sorted(set(public_services(cfg)) - set(args.services))
        if missing:
            raise ValueError(f"GkeIngress: the app layer has no Service for public service(s) {missing}")
        if edge.waf and args.security_policy is None:
            raise ValueError("GkeIngress: edge.waf is on but no Cloud Armor policy was given")

        self.ip = gcp.compute.GlobalAddress(
            self.child_name("ip"),
            gcp.compute.GlobalAddressArgs(
                project=args.project,
                name=f"{prefix}-ingress",
                description="Public IP of the platform's GKE Ingress (DNS points here)",
                ip_version="IPV4",
                address_type="EXTERNAL",
                labels=self.labels,
            ),
            # a GCP resource on the Kubernetes provider's component: it must wait for its API itself
            opts=self.child_opts(stateful=True, depends_on=args.depends_on),
        )
        self.ssl_policy = gcp.compute.SSLPolicy(
            self.child_name("tls"),
            gcp.compute.SSLPolicyArgs(
                project=args.project,
                name=f"{prefix}-ingress-tls",
                description=f"{cfg.gcp.min_tls_version} or higher with the {cfg.gcp.ssl_policy_profile} profile",
                min_tls_version=cfg.gcp.min_tls_version,
                profile=cfg.gcp.ssl_policy_profile,
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )

        frontend_config = k8s.apiextensions.CustomResource(
            self.child_name("frontend-config"),
            api_version="networking.gke.io/v1beta1",
            kind="FrontendConfig",
            metadata=metadata("https-redirect", namespace, self.labels),
            spec={
                "redirectToHttps": {"enabled": True, "responseCodeName": "MOVED_PERMANENTLY_DEFAULT"},
                "sslPolicy": self.ssl_policy.name,
            },
            opts=self.child_opts(),
        )

        certificates = []
        rules = []
        self.urls: dict[str, str] = {}
        self.backend_configs: dict[str, k8s.apiextensions.CustomResource] = {}
        for svc_name in public:
            endpoint = args.services[svc_name]
            svc = cfg.services[svc_name]
            host = cfg.host(svc.route)
            self.urls[svc_name] = f"https://{host}"
            self.backend_configs[svc_name] = k8s.apiextensions.CustomResource(
                self.child_name(svc_name, "backend"),
                api_version="cloud.google.com/v1",
                kind="BackendConfig",
                metadata=metadata(backend_config_name(svc_name), namespace, self.labels),
                spec=self._backend_spec(svc_name, endpoint, args.security_policy),
                opts=self.child_opts(),
            )
            certificates.append(
                k8s.apiextensions.CustomResource(
                    self.child_name(svc_name, "cert"),
                    api_version="networking.gke.io/v1",
                    kind="ManagedCertificate",
                    metadata=metadata(f"{svc_name}-cert", namespace, self.labels),
                    spec={"domains": [host]},
                    opts=self.child_opts(),
                )
            )
            rules.append(ingress_rule(host, svc.route.paths, endpoint.name, endpoint.port))

        annotations: dict[str, pulumi.Input[str]] = {
            "kubernetes.io/ingress.class": "gce",
            "kubernetes.io/ingress.global-static-ip-name": self.ip.name,
            "networking.gke.io/managed-certificates": pulumi.Output.all(
                *[c.metadata.apply(lambda m: m["name"]) for c in certificates]
            ).apply(lambda names: ",".join(names)),
            "networking.gke.io/v1beta1.FrontendConfig": frontend_config.metadata.apply(lambda m: m["name"]),
        }
        self.ingress = k8s.networking.v1.Ingress(
            self.child_name("ingress"),
            metadata=metadata("platform", namespace, self.labels, annotations),
            spec=k8s.networking.v1.IngressSpecArgs(rules=rules),
            # BackendConfigs are found by the Services' annotations, not by a reference here;
            # they must exist before the controller builds the backends from them.
            opts=self.child_opts(
                depends_on=list(self.backend_configs.values()),
                # the controller provisions the load balancer and waits for healthy NEGs
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m"),
            ),
        )
        self.address = self.ip.address
        self.register_outputs({"address": self.address, "urls": self.urls})

    def _backend_spec(
        self, svc_name: str, endpoint: "ServiceEndpoint", security_policy: Optional[pulumi.Input[str]]
    ) -> dict[str, Any]:
        cfg = self.config
        spec: dict[str, Any] = {
            # backend service timeout = the longest a response may stream (SSE)
            "timeoutSec": cfg.edge.streaming_timeout_seconds,
            "connectionDraining": {"drainingTimeoutSec": DRAINING_SECONDS},
            "healthCheck": {
                "type": "HTTP",
                "requestPath": endpoint.health_path or "/",
                "port": endpoint.port,
                "checkIntervalSec": 15,
                "timeoutSec": 5,
                "healthyThreshold": 1,
                "unhealthyThreshold": cfg.dr.failure_threshold,
            },
            "logging": {"enable": True, "sampleRate": 1.0},
        }
        if cfg.edge.hsts_header:
            # HSTS on every public response (the load balancer adds it)
            spec["customResponseHeaders"] = {"headers": [cfg.edge.hsts_header]}
        if security_policy is not None:
            spec["securityPolicy"] = {"name": security_policy}
        if cfg.edge.cdn and svc_name in cfg.gcp.cdn_services:
            spec["cdn"] = {
                "enabled": True,
                # static content types only (JS, CSS, images, fonts); HTML and event streams pass
                "cacheMode": "CACHE_ALL_STATIC",
                "defaultTtl": 3600,
                "maxTtl": 86400,
                "clientTtl": 3600,
                "negativeCaching": True,
                "cachePolicy": {"includeHost": True, "includeProtocol": True, "includeQueryString": True},
            }
        else:
            spec["cdn"] = {"enabled": False}
        return spec
