"""The `edge` section: CDN, WAF, rate limits, streaming timeouts, HSTS and the nginx controller."""

from __future__ import annotations

from typing import Optional

from pydantic import Field, field_validator, model_validator

from components.config.base import _Model


class RateLimitsConfig(_Model):
    """Seed 000: 1000 req/min global, 60 req/min per client, 30 req/min on AI routes."""

    global_per_minute: int = Field(
        default=1000, ge=1,
        description="requests per minute one client IP may send over all routes before the AWS WAF blocks it "
        "(ecs; seed 000: 1000/min)",
    )
    per_client_per_minute: int = Field(
        default=60, ge=1,
        description="requests per minute per client IP (Cloud Armor throttle, nginx limit-rpm, AWS WAF on the API "
        "hosts; seed 000: 60/min)",
    )
    ai_routes_per_minute: int = Field(
        default=30, ge=1, description="requests per minute per client IP on `aiPaths` (seed 000: 30/min)"
    )
    ai_paths: tuple[str, ...] = Field(
        default=("/api/chat", "/api/ai", "/v1/chat"),
        description="path prefixes of the AI (model-calling) routes that get the stricter `aiRoutesPerMinute`",
    )

    @model_validator(mode="after")
    def _limits_nest(self) -> "RateLimitsConfig":
        # Every limit is per client address (Cloud Armor throttles, WAFv2 rate rules keyed on IP,
        # nginx limit-rpm): a client limit above the global one, or an AI-route limit above the
        # client one, would never be reached -- a setting that silently does nothing. On Cloud Armor
        # the AI rule replaces the client rule on AI paths, so a larger AI limit would loosen them.
        if self.per_client_per_minute > self.global_per_minute:
            raise ValueError(
                f"perClientPerMinute ({self.per_client_per_minute}) must not exceed globalPerMinute "
                f"({self.global_per_minute}): the global limit would cut every client first"
            )
        if self.ai_routes_per_minute > self.per_client_per_minute:
            raise ValueError(
                f"aiRoutesPerMinute ({self.ai_routes_per_minute}) must not exceed perClientPerMinute "
                f"({self.per_client_per_minute}): AI routes are the expensive ones (seed 000: 30 <= 60)"
            )
        return self


class IngressNginxConfig(_Model):
    install: bool = Field(default=False, description="install the controller (on in dev)")
    chart_version: str = Field(default="4.13.3", description="pinned ingress-nginx chart")
    trusted_proxy_cidrs: tuple[str, ...] = Field(
        default=(),
        description=(
            "ranges of the proxies/load balancers in front of the controller whose X-Forwarded-For "
            "is believed (per-client rate limits key on it); empty: none, the TCP peer is the client"
        ),
    )

    @field_validator("trusted_proxy_cidrs")
    @classmethod
    def _proxy_ranges(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for cidr in v:
            try:
                network = ipaddress.ip_network(cidr)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR range such as '10.0.0.0/24'") from None
            if network.prefixlen == 0:
                raise ValueError(f"{cidr!r} trusts every address: any client could set its own IP")
        return v


class EdgeConfig(_Model):
    cdn: bool = Field(default=True, description="Cloud CDN on the backends of gcp.cdnServices (cloudrun, gke); ecs always serves through "
        "CloudFront and refuses false")
    waf: bool = Field(default=True, description="web application firewall on the public edge: Cloud Armor (cloudrun, gke) or AWS WAFv2 (ecs) "
        "with managed rules and the rate limits")
    rate_limits: RateLimitsConfig = Field(
        default=RateLimitsConfig(),
        description="Seed 000: 1000 req/min global, 60 req/min per client, 30 req/min on AI routes.",
    )
    streaming_timeout_seconds: int = Field(
        default=600, ge=300, le=3600, description="seconds a proxied response may stream (backend / proxy read timeout); seed 000: SSE responses "
        "need 300-600 s without buffering"
    )
    max_body_size_mb: int = Field(
        default=50, ge=1, le=1024, description="largest request body in MB that ingress-nginx accepts (kubernetes)"
    )
    hsts_max_age_seconds: int = Field(
        default=31536000,
        ge=0,
        le=63072000,
        description="Strict-Transport-Security max-age (with includeSubDomains) the cloud load balancers "
        "add to every public response (cloudrun, gke); 0 sends no header",
    )
    tls_cluster_issuer: Optional[str] = Field(
        default=None, description="cert-manager ClusterIssuer for Ingress TLS (kubernetes)"
    )
    ingress_nginx: IngressNginxConfig = Field(
        default=IngressNginxConfig(), description="ingress-nginx, the Ingress controller of the kubernetes platform"
    )

    @property
    def hsts_header(self) -> Optional[str]:
        """The `Strict-Transport-Security` response header ('Name: value'), None when off."""
        if not self.hsts_max_age_seconds:
            return None
        return f"Strict-Transport-Security: max-age={self.hsts_max_age_seconds}; includeSubDomains"
