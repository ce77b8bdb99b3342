"""The private VPC of a GCP stack (`cloudrun`, `gke`).

Creates:
- a custom-mode VPC (no auto subnets, regional routing is not enough: GLOBAL dynamic routing so a
  second region reaches the primary region's data services);
- one subnet per region with Private Google Access (VMs without public IPs reach Google APIs such
  as Secret Manager) and sampled flow logs;
- Private Service Access: a reserved internal range (`gcp.privateServiceCidr`) peered to Google's
  service producer network, so Cloud SQL and Memorystore get private IPs only; deleting it removes
  the peering (`REMOVE_PEERING`), so `pulumi destroy` can delete the VPC afterwards;
- Cloud NAT per region (router + NAT) for outbound internet from private VMs (image pulls);
- firewall rules: an explicit, logged deny-all ingress at the lowest priority (GCP's implied rule
  is invisible and unlogged), and an explicit allow for Google's health checkers only when
  `allow_health_checks` is set (GKE). Data services add their own narrow allow rules
  (e.g. RabbitMQ 5672 from the subnets that run clients) with `allow_ingress(...)`.

Exposes `network`, `subnets` (by region), `subnet_cidrs`, `private_service_access` (the
servicenetworking connection; depend on it, or use its `network` output, for private-IP services)
and `private_service_range`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackContext

# Google front ends and health checkers (https://cloud.google.com/load-balancing/docs/health-checks)
HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
# Identity-Aware Proxy TCP forwarding source range.
IAP_RANGE = "35.235.240.0/20"


@dataclass(frozen=True)
class GcpNetworkArgs:
    context: StackContext
    project: pulumi.Input[str]
    subnets: Mapping[str, str]  # region -> CIDR (first entry is the primary region)
    private_service_cidr: str
    enable_nat: bool = True
    allow_health_checks: bool = False
    depends_on: Sequence[pulumi.Resource] = ()  # compute + servicenetworking APIs


class GcpNetwork(PlatformComponent):
    """VPC, subnets per region, Private Service Access, Cloud NAT and default-deny firewall."""

    TYPE = "aiplatform:network:GcpNetwork"

    def __init__(self, name: str, args: GcpNetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        prefix = self.context.prefix
        self.project = args.project

        self.network = gcp.compute.Network(
            self.child_name("vpc"),
            gcp.compute.NetworkArgs(
                project=args.project,
                name=f"{prefix}-vpc",
                auto_create_subnetworks=False,
                routing_mode="GLOBAL",
                description=f"{self.context.project} {self.context.stack}: private network",
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )

        self.subnets: dict[str, gcp.compute.Subnetwork] = {}
        self.subnet_cidrs: dict[str, str] = dict(args.subnets)
        for region, cidr in args.subnets.items():
            self.subnets[region] = gcp.compute.Subnetwork(
                self.child_name("subnet", region),
                gcp.compute.SubnetworkArgs(
                    project=args.project,
                    name=f"{prefix}-{region}",
                    region=region,
                    network=self.network.id,
                    ip_cidr_range=cidr,
                    private_ip_google_access=True,
                    log_config=gcp.compute.SubnetworkLogConfigArgs(
                        aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
                    ),
                ),
                opts=self.child_opts(),
            )

        # Private Service Access: Google-managed services (Cloud SQL, Memorystore) get addresses from
        # this range through VPC peering, so they never need a public IP.
        address, _, length = args.private_service_cidr.partition("/")
        self.private_service_range = gcp.compute.GlobalAddress(
            self.child_name("psa-range"),
            gcp.compute.GlobalAddressArgs(
                project=args.project,
                name=f"{prefix}-psa",
                purpose="VPC_PEERING",
                address_type="INTERNAL",
                address=address,
                prefix_length=int(length),
                network=self.network.id,
                labels=self.labels,
            ),
            opts=self.child_opts(),
        )
        self.private_service_cidr = args.private_service_cidr
        self.private_service_access = gcp.servicenetworking.Connection(
            self.child_name("psa"),
            gcp.servicenetworking.ConnectionArgs(
                network=self.network.id,
                service="servicenetworking.googleapis.com",
                reserved_peering_ranges=[self.private_service_range.name],
                # REMOVE_PEERING: on delete, drop the VPC peering even while Cloud SQL still holds
                # the producer's resources (it keeps them for days after an instance is deleted),
                # so the VPC can be deleted: ABANDON would leave the peering and block the network.
                deletion_policy="REMOVE_PEERING",
                # a re-run after a failed create updates the ranges of the existing connection
                update_on_creation_fail=True,
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )

        if args.enable_nat:
            for region in args.subnets:
                router = gcp.compute.Router(
                    self.child_name("router", region),
                    gcp.compute.RouterArgs(
                        project=args.project, name=f"{prefix}-router-{region}", region=region, network=self.network.id
                    ),
                    opts=self.child_opts(),
                )
                gcp.compute.RouterNat(
                    self.child_name("nat", region),
                    gcp.compute.RouterNatArgs(
                        project=args.project,
                        name=f"{prefix}-nat-{region}",
                        region=region,
                        router=router.name,
                        nat_ip_allocate_option="AUTO_ONLY",
                        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
                        enable_endpoint_independent_mapping=False,
                        log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
                    ),
                    opts=self.child_opts(),
                )

        # Deny by default, visibly: GCP's implied deny-ingress cannot be logged or seen by policies.
        gcp.compute.Firewall(
            self.child_name("deny-all-ingress"),
            gcp.compute.FirewallArgs(
                project=args.project,
                name=f"{prefix}-deny-all-ingress",
                network=self.network.id,
                direction="INGRESS",
                priority=65534,
                denies=[gcp.compute.FirewallDenyArgs(protocol="all")],
                source_ranges=["0.0.0.0/0"],
                log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
                description="default deny; every allowed flow has its own rule",
            ),
            opts=self.child_opts(),
        )
        if args.allow_health_checks:
            self.allow_ingress(
                self.child_name("allow-health-checks"),
                "health-checks",
                ports=("0-65535",),
                source_ranges=HEALTH_CHECK_RANGES,
                description="Google load balancer health checks and proxies",
                opts=self.child_opts(),
            )
        self.register_outputs(
            {
                "network": self.network.id,
                "subnets": {r: s.id for r, s in self.subnets.items()},
                "privateServiceRange": args.private_service_cidr,
            }
        )

    def allow_ingress(
        self,
        resource_name: str,
        rule: str,
        *,
        ports: Sequence[str],
        source_ranges: Sequence[str],
        target_tags: Sequence[str] = (),
        protocol: str = "tcp",
        description: str,
        opts: pulumi.ResourceOptions,
    ) -> gcp.compute.Firewall:
        """A narrow allow rule on this VPC (priority 1000, logged). Data services call it, with
        their own child name and options, for the one port they serve, from the ranges that
        actually run their clients."""
        return gcp.compute.Firewall(
            resource_name,
            gcp.compute.FirewallArgs(
                project=self.project,
                name=f"{self.context.prefix}-allow-{rule}",
                network=self.network.id,
                direction="INGRESS",
                priority=1000,
                allows=[gcp.compute.FirewallAllowArgs(protocol=protocol, ports=list(ports))],
                source_ranges=list(source_ranges),
                target_tags=list(target_tags) or None,
                log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
                description=description,
            ),
            opts=opts,
        )
