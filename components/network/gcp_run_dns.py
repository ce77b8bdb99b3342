"""Private DNS for `run.app` on the VPC, so service-to-service calls to internal Cloud Run services
arrive as internal traffic (`cloudrun`).

An internal-only Cloud Run service (the MCP server: ingress `INTERNAL_ONLY`) admits a request only
if it reaches Google through a VPC network of the project. A caller with Direct VPC egress
`PRIVATE_RANGES_ONLY` sends only private destinations through the VPC; the callee's `run.app` URL
resolves publicly to Google front-end addresses, so without this component the call leaves
directly over the internet and is rejected (404/403).

Creates:
- a private Cloud DNS zone `run.app.` visible only to the stack's VPC, with `run.app.` A records on
  `private.googleapis.com` (199.36.153.8/30, Private Google Access) and `*.run.app.` as a CNAME to
  it: every `*.run.app` name resolves, inside the VPC, to addresses that Direct VPC egress treats
  as private and sends through the VPC, where Private Google Access (on every subnet) delivers
  them to Cloud Run as internal requests;
- a route for 199.36.153.8/30 to the default internet gateway (Private Google Access needs it; the
  VPC's default route would do, but an explicit route keeps working if that one is removed).

Why this and not `ALL_TRAFFIC` egress: the callers also hold long-lived streaming connections to
the AI providers. Through the VPC those would all pass Cloud NAT (data processing charges per GB,
NAT ports per instance exhausted by many concurrent streams to one provider address, one more hop
on every token); with this zone only private destinations and `run.app` go through the VPC and
the AI traffic stays on Cloud Run's direct internet egress.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackContext

# private.googleapis.com: Private Google Access addresses for every Google API and run.app
PRIVATE_GOOGLE_ACCESS_RANGE = "199.36.153.8/30"
PRIVATE_GOOGLE_ACCESS_IPS = tuple(str(ip) for ip in ipaddress.ip_network(PRIVATE_GOOGLE_ACCESS_RANGE))
RUN_APP_ZONE = "run.app."


@dataclass(frozen=True)
class RunAppPrivateDnsArgs:
    context: StackContext
    project: pulumi.Input[str]
    network: pulumi.Input[str]  # the VPC (id or self link)
    depends_on: Sequence[pulumi.Resource] = ()  # the Cloud DNS and Compute APIs


class RunAppPrivateDns(PlatformComponent):
    """Exposes `zone` and `route`."""

    TYPE = "aiplatform:network:RunAppPrivateDns"

    def __init__(self, name: str, args: RunAppPrivateDnsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        prefix = self.context.prefix
        self.zone = gcp.dns.ManagedZone(
            self.child_name("zone"),
            gcp.dns.ManagedZoneArgs(
                project=args.project,
                name=f"{prefix}-run-app",
                dns_name=RUN_APP_ZONE,
                description="run.app through Private Google Access: calls to internal Cloud Run services stay internal",
                visibility="private",
                private_visibility_config=gcp.dns.ManagedZonePrivateVisibilityConfigArgs(
                    networks=[gcp.dns.ManagedZonePrivateVisibilityConfigNetworkArgs(network_url=args.network)]
                ),
                labels=self.labels,
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        for key, record_type, record_name, data in (
            ("apex", "A", RUN_APP_ZONE, list(PRIVATE_GOOGLE_ACCESS_IPS)),
            ("wildcard", "CNAME", f"*.{RUN_APP_ZONE}", [RUN_APP_ZONE]),
        ):
            gcp.dns.RecordSet(
                self.child_name(key),
                gcp.dns.RecordSetArgs(
                    project=args.project,
                    managed_zone=self.zone.name,
                    name=record_name,
                    type=record_type,
                    ttl=300,
                    rrdatas=data,
                ),
                opts=self.child_opts(),
            )
        self.route = gcp.compute.Route(
            self.child_name("route"),
            gcp.compute.RouteArgs(
                project=args.project,
                name=f"{prefix}-private-google-access",
                description="Private Google Access (private.googleapis.com) for run.app and Google APIs",
                network=args.network,
                dest_range=PRIVATE_GOOGLE_ACCESS_RANGE,
                next_hop_gateway="default-internet-gateway",
                priority=1000,
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        self.register_outputs({"zone": self.zone.name})
