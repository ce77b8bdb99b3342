"""The `gke` section: the private regional GKE cluster (ranges, nodes, control-plane access)."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from components.config.base import _Model


class GkeConfig(_Model):
    """GKE cluster settings (`gke`).

    `masterAuthorizedNetworks`: the only source ranges that may reach the cluster's public control
    plane *IP* endpoint (the operators' VPN); the DNS endpoint (`controlPlaneDnsEndpoint`) is
    guarded by IAM instead, so CI runners without stable ranges use it. The nodes are private.
    `subnetCidr`/`podsCidr`/`servicesCidr`: the cluster's own VPC-native subnet and its secondary
    ranges; they must not overlap the other GCP ranges nor `masterCidr` (a /28 for the control plane).
    """

    master_authorized_networks: tuple[str, ...] = Field(
        default=(),
        description="CIDR ranges (the operators' VPN) allowed to reach the control plane's IP endpoint; "
        "empty: none, only the IAM-guarded DNS endpoint",
    )
    control_plane_dns_endpoint: bool = Field(
        default=True,
        description="the control plane's DNS endpoint (`gke-....gke.goog`) with IAM-only access from anywhere "
        "(container.clusters.connect; authorized networks do not apply to it); the program's Kubernetes provider "
        "and CI connect through it. false: only the IP endpoint, reachable from masterAuthorizedNetworks",
    )
    master_cidr: str = Field(
        default="172.16.0.32/28",
        description="/28 of the private control plane; changing this replaces the GKE cluster and with it "
        "the in-cluster MongoDB and RabbitMQ volumes",
    )
    subnet_cidr: str = Field(
        default="10.40.0.0/20",
        description="the cluster subnet's node range, which only grows in place: changing this replaces the subnet "
        "and the cluster (with the in-cluster MongoDB and RabbitMQ volumes) unless the new range contains the current one",
    )
    pods_cidr: str = Field(
        default="10.44.0.0/14",
        description="secondary range of the pods (a /14: up to 1,024 nodes at 110 pods each); fixed while the cluster uses it",
    )
    services_cidr: str = Field(
        default="10.48.0.0/20", description="secondary range of the Services' ClusterIPs; fixed while the cluster uses it"
    )
    machine_type: str = Field(
        default="e2-standard-4", description="machine type of the nodes; e2-standard-4 (4 vCPU, 16 GB) fits the staging sizes, the seed's "
        "4-vCPU prod API needs a larger one (prod-gke: e2-standard-8)"
    )
    disk_size_gb: int = Field(default=100, ge=20, le=65536, description="boot disk of each node in GB (pd-balanced)")
    min_nodes_per_zone: int = Field(default=1, ge=0, description="node autoscaler minimum per zone (3 zones: 3 nodes in all)")
    max_nodes_per_zone: int = Field(default=3, ge=1, description="node autoscaler maximum per zone")
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = Field(
        default="REGULAR", description="GKE release channel that upgrades the cluster (REGULAR: Google's default)"
    )
    secrets_key_rotation_days: int = Field(
        default=90, ge=1, le=36500, description="rotation period in days of the KMS key that encrypts the cluster's Secrets"
    )

    region: Optional[str] = Field(
        default=None,
        description="region of the GKE cluster (its subnet, NAT and KMS key ring), pinned at creation so that "
        "swapping regions.primary/secondary moves no cluster; default: regions.primary; production stacks set "
        "it explicitly. Changing this replaces the GKE cluster and with it the in-cluster MongoDB and RabbitMQ "
        "volumes (restore them with Backup for GKE, docs/deploy-gke.md)",
    )
    backup_location: Optional[str] = Field(
        default=None,
        description="region of the Backup for GKE plans (where their backups are stored), pinned at creation; "
        "default: regions.secondary, else regions.primary; production stacks set it explicitly. Changing this "
        "replaces the Backup for GKE plans and with them their backups",
    )

    @field_validator("master_authorized_networks", "master_cidr", "subnet_cidr", "pods_cidr", "services_cidr")
    @classmethod
    def _cidrs(cls, v: Any) -> Any:
        import ipaddress

        for cidr in (v if isinstance(v, tuple) else (v,)):
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a network in CIDR notation such as '203.0.113.0/24'") from None
        return v

    @model_validator(mode="after")
    def _ranges(self) -> "GkeConfig":
        import ipaddress

        if ipaddress.ip_network(self.master_cidr).prefixlen != 28:
            raise ValueError(f"masterCidr {self.master_cidr!r} must be a /28 (GKE private control plane)")
        ranges = {
            "masterCidr": self.master_cidr,
            "subnetCidr": self.subnet_cidr,
            "podsCidr": self.pods_cidr,
            "servicesCidr": self.services_cidr,
        }
        nets = {k: ipaddress.ip_network(v) for k, v in ranges.items()}
        keys = list(nets)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if nets[a].overlaps(nets[b]):
                    raise ValueError(f"{a} {ranges[a]!r} overlaps {b} {ranges[b]!r}")
        if self.min_nodes_per_zone > self.max_nodes_per_zone:
            raise ValueError(
                f"minNodesPerZone ({self.min_nodes_per_zone}) must not exceed maxNodesPerZone ({self.max_nodes_per_zone})"
            )
        return self
