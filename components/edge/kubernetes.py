"""The edge on a plain Kubernetes cluster: ingress-nginx and the platform's Ingresses.

Creates: optionally the ingress-nginx controller (Helm release, pinned chart; on in dev so a kind
cluster works out of the box), and per public service an Ingress (class nginx) for its host with
the annotations streaming AI responses need (no proxy buffering, 300-600 s timeouts, body size),
the seed-000 per-client rate limit, and a second Ingress for the AI routes with the stricter AI
limit. TLS (and the HTTPS redirect) is on when a cert-manager ClusterIssuer is configured.

Rate limits here are per client IP (ingress-nginx `limit-rpm`); the global 1000 req/min budget
needs a shared limiter (Cloud Armor / WAF on the cloud platforms). The client IP is the TCP peer
unless `edge.ingressNginx.trustedProxyCidrs` names the proxies in front (a cloud load balancer):
only then does the controller read X-Forwarded-For, and only from those addresses
(`enable-real-ip` + `proxy-real-ip-cidr`). Trusting the chart's default range (0.0.0.0/0) would
let any client pick its own address and walk past the per-client limit; kind has no proxy in
front, so dev trusts none.

Canary releases (Argo Rollouts, `services.<name>.release.strategy: canary`) split traffic here:
`stable_ingresses_for` names each routed service's Ingresses, which its Rollout lists as
`trafficRouting.nginx.stableIngresses`; the Rollouts controller then adds, per Ingress, a canary
copy (`nginx.ingress.kubernetes.io/canary-weight`) that sends the step's share of requests to the
`<name>-canary` Service. ingress-nginx applies the stable Ingress's rate limits and timeouts to
the canary share too (a canary Ingress only selects the upstream).

The controller serves its Prometheus metrics on the container port `metrics` (10254);
`scrape_target` names those pods for the monitoring component's PodMonitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.app.kubernetes import IngressSource, ServiceEndpoint
from components.base import PlatformComponent
from components.config import RouteConfig, StackConfig, StackContext
from components.kubernetes_objects import METRICS_PORT_NAME, ScrapeTarget, ingress_rule, metadata

INGRESS_NGINX_REPO = "https://kubernetes.github.io/ingress-nginx"
CONTROLLER_LABELS = {"app.kubernetes.io/name": "ingress-nginx"}
# the chart labels the controller's pods with these (besides `controller.podLabels`)
CONTROLLER_POD_LABELS = {**CONTROLLER_LABELS, "app.kubernetes.io/component": "controller"}
CONTROLLER_METRICS_PORT = 10254


@dataclass(frozen=True)
class NginxIngressArgs:
    context: StackContext
    namespace: pulumi.Input[str]
    services: Mapping[str, ServiceEndpoint]


class NginxIngress(PlatformComponent):
    """ingress-nginx (optional) + one Ingress per public service + one for its AI routes."""

    TYPE = "aiplatform:edge:NginxIngress"

    def __init__(self, name: str, args: NginxIngressArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        edge = cfg.edge
        self.tls = edge.tls_cluster_issuer is not None
        controller = self._controller() if edge.ingress_nginx.install else None
        self.scrape_target: Optional[ScrapeTarget] = None
        if controller is not None:
            self.scrape_target = ScrapeTarget(
                name="ingress-nginx",
                namespace=self._controller_namespace,  # the Namespace's output: its PodMonitor waits for it
                pod_labels=CONTROLLER_POD_LABELS,
                metrics=("nginx_ingress_controller_requests",),
            )

        self.urls: dict[str, str] = {}
        for svc_name, endpoint in args.services.items():
            if endpoint.route is None:
                continue
            host = cfg.host(endpoint.route)
            self.urls[svc_name] = f"{'https' if self.tls else 'http'}://{host}"
            self._ingress(svc_name, endpoint, host, list(endpoint.route.paths), edge.rate_limits.per_client_per_minute, controller, args.namespace)
            ai_paths = _ai_paths(cfg, endpoint.route)
            if ai_paths:
                self._ingress(f"{svc_name}-ai", endpoint, host, ai_paths, edge.rate_limits.ai_routes_per_minute, controller, args.namespace)
        self.register_outputs({"urls": self.urls})

    @staticmethod
    def source_for(config: StackConfig) -> IngressSource:
        """The controller's pods: the only source of internet traffic to public web pods."""
        return IngressSource(namespace=config.kubernetes.ingress_controller_namespace, pod_labels=CONTROLLER_LABELS)

    @staticmethod
    def stable_ingresses_for(config: StackConfig) -> dict[str, list[str]]:
        """The Ingresses (names) of each routed web service: a canary Rollout's `stableIngresses`."""
        found = {}
        for name, svc in config.enabled_services.items():
            if svc.kind == "web" and svc.route is not None:
                found[name] = [name] + ([f"{name}-ai"] if _ai_paths(config, svc.route) else [])
        return found

    def _controller(self) -> k8s.helm.v3.Release:
        cfg = self.config
        ns = cfg.kubernetes.ingress_controller_namespace
        namespace = k8s.core.v1.Namespace(
            self.child_name("controller-namespace"),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ns, labels=self.labels),
            opts=self.child_opts(),
        )
        self._controller_namespace = namespace.metadata.apply(lambda m: m.name)
        return k8s.helm.v3.Release(
            self.child_name("controller"),
            k8s.helm.v3.ReleaseArgs(
                name="ingress-nginx",
                chart="ingress-nginx",
                version=cfg.edge.ingress_nginx.chart_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=INGRESS_NGINX_REPO),
                namespace=self._controller_namespace,
                atomic=True,
                timeout=600,
                values={
                    "controller": {
                        # kind maps host ports 80/443 to the node; Docker Desktop and minikube
                        # reach the NodePort/hostPort the same way. No cloud load balancer.
                        "hostPort": {"enabled": True},
                        "service": {"type": "NodePort"},
                        "allowSnippetAnnotations": False,
                        "config": {
                            "ssl-protocols": "TLSv1.2 TLSv1.3",
                            "hsts": "true",
                            "use-gzip": "true",
                            **client_address_config(cfg.edge.ingress_nginx.trusted_proxy_cidrs),
                        },
                        # the PodMonitor scrapes this container port (its ServiceMonitor stays off:
                        # the CRD comes with kube-prometheus-stack, installed after the edge)
                        "metrics": {"enabled": True, "port": CONTROLLER_METRICS_PORT, "portName": METRICS_PORT_NAME},
                        "podLabels": self.labels,
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                    }
                },
            ),
            opts=self.child_opts(),
        )

    def _ingress(
        self,
        ingress_name: str,
        endpoint: ServiceEndpoint,
        host: str,
        paths: list[str],
        limit_per_minute: int,
        controller: Optional[k8s.helm.v3.Release],
        namespace: pulumi.Input[str],
    ) -> None:
        edge = self.config.edge
        timeout = str(edge.streaming_timeout_seconds)
        annotations = {
            # SSE: stream tokens as they come, keep long responses open
            "nginx.ingress.kubernetes.io/proxy-buffering": "off",
            "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
            "nginx.ingress.kubernetes.io/proxy-read-timeout": timeout,
            "nginx.ingress.kubernetes.io/proxy-send-timeout": timeout,
            "nginx.ingress.kubernetes.io/proxy-body-size": f"{edge.max_body_size_mb}m",
            "nginx.ingress.kubernetes.io/limit-rpm": str(limit_per_minute),
            "nginx.ingress.kubernetes.io/limit-burst-multiplier": "2",
            "nginx.ingress.kubernetes.io/ssl-redirect": "true" if self.tls else "false",
            "nginx.ingress.kubernetes.io/force-ssl-redirect": "true" if self.tls else "false",
        }
        tls = None
        if self.tls:
            annotations["cert-manager.io/cluster-issuer"] = edge.tls_cluster_issuer
            tls = [k8s.networking.v1.IngressTLSArgs(hosts=[host], secret_name=f"{endpoint.name}-tls")]
        k8s.networking.v1.Ingress(
            self.child_name(ingress_name),
            metadata=metadata(ingress_name, namespace, self.labels, annotations),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name="nginx",
                tls=tls,
                rules=[ingress_rule(host, paths, endpoint.name, endpoint.port)],
            ),
            # the controller's admission webhook must exist before Ingresses are validated
            opts=self.child_opts(depends_on=[controller] if controller else None),
        )


def _ai_paths(config: StackConfig, route: RouteConfig) -> list[str]:
    """The AI routes under a service's route: they get their own Ingress with the AI rate limit."""
    return [p for p in config.edge.rate_limits.ai_paths if any(p.startswith(r) for r in route.paths)]


def client_address_config(trusted_proxy_cidrs: tuple[str, ...]) -> dict[str, str]:
    """ingress-nginx ConfigMap keys deciding the client address (see the module docstring)."""
    if not trusted_proxy_cidrs:
        return {"enable-real-ip": "false", "use-forwarded-headers": "false", "use-proxy-protocol": "false"}
    return {
        "enable-real-ip": "true",
        "use-forwarded-headers": "true",
        "forwarded-for-header": "X-Forwarded-For",
        "proxy-real-ip-cidr": ",".join(trusted_proxy_cidrs),
    }
