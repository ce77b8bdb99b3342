"""The `gcp` section: GCP-wide settings of `cloudrun` and `gke` (network ranges, TLS, pinned placement)."""

from __future__ import annotations

import re
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from components.config.base import _Model


# Cloud SQL instance ids: RFC 1035 (lowercase letters, digits, hyphens; a letter first)
_INSTANCE_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


class CloudSqlInstanceSlot(_Model):
    """One Cloud SQL instance of the stack, pinned where it was created: its name after the stack's
    `<prefix>-` and its region. A Cloud SQL instance can be neither renamed nor moved, and a deleted
    instance's name is not reusable for about a week."""

    instance: str = Field(
        description="the instance's name after the stack prefix (`postgres` is `<prefix>-postgres`); changing "
        "this replaces the instance and its data"
    )
    region: str = Field(description="the instance's region; changing this replaces the instance and its data")

    @field_validator("instance")
    @classmethod
    def _rfc1035(cls, v: str) -> str:
        if not _INSTANCE_RE.match(v):
            raise ValueError("must be lowercase letters, digits and hyphens, starting with a letter (a Cloud SQL id)")
        return v


class CloudSqlPlacement(_Model):
    """Which Cloud SQL instance holds which role, pinned (`gcp.cloudSql`): set, it is the whole truth
    (no `replica`: none), whatever `regions.primary`/`regions.secondary` say; unset, the primary is
    `postgres` in regions.primary and the replica `postgres-<regions.secondary>`. After a failover
    `python -m tools.dr_adopt` rewrites it: the promoted replica becomes `primary`."""

    primary: CloudSqlInstanceSlot = Field(
        description="the read-write instance: its name and region; changing this replaces the primary "
        "instance (with its data) unless the state was moved first (tools/dr_adopt.py)"
    )
    replica: Optional[CloudSqlInstanceSlot] = Field(
        default=None,
        description="the cross-region read replica, the DR target; none: no replica (after a promotion, until "
        "a new one is created); changing this replaces the replica (it re-syncs from the primary)",
    )

    @model_validator(mode="after")
    def _distinct(self) -> "CloudSqlPlacement":
        if self.replica is not None:
            if self.replica.instance == self.primary.instance:
                raise ValueError("replica.instance must differ from primary.instance (one name, one instance)")
            if self.replica.region == self.primary.region:
                raise ValueError("replica.region must differ from primary.region: a cross-region replica survives "
                                 "the loss of the primary's region")
        return self


class GcpConfig(_Model):
    """GCP-wide settings (`cloudrun`, `gke`). The project comes from `gcp:project`."""

    project: Optional[str] = Field(
        default=None,
        description="GCP project id; none: the provider's `gcp:project`. Changing this replaces every GCP "
        "resource, the data services with their data, in the new project",
    )
    network_cidr: str = Field(
        default="10.10.0.0/20",
        description="subnet of networkCidrRegion (default regions.primary): Cloud Run Direct VPC egress (one IP per instance) and VMs; a /20 "
        "leaves room for about 4,000 instances; the RabbitMQ VM's fixed private IP is the range's address + 10",
    )
    secondary_network_cidr: str = Field(
        default="10.20.0.0/20",
        description="subnet of the stack's other region (the DR services' Direct VPC egress); disjoint from the "
        "other ranges",
    )
    private_service_cidr: str = Field(
        default="10.100.0.0/16",
        description="Private Service Access range peered to Google (Cloud SQL, Memorystore private IPs); fixed "
        "once those instances hold addresses in it: choose it before the first `pulumi up`",
    )
    deletion_protection: bool = Field(
        default=True,
        description="provider-side deletion protection on data services (Cloud SQL, Memorystore, Firestore) "
        "and the backup buckets' retention; prod always keeps it, set false only to tear down a non-prod stack",
    )
    allow_iap_ssh: bool = Field(
        default=False,
        description="open tcp:22 from Identity-Aware Proxy (35.235.240.0/20) to the RabbitMQ VM for "
        "break-glass `gcloud compute ssh --tunnel-through-iap` (IAM-checked; the VM has no public IP)",
    )
    ssl_policy_profile: Literal["MODERN", "RESTRICTED"] = Field(
        default="MODERN",
        description="SSL policy profile of the load balancer / GKE Ingress (TLS 1.2 cipher suites); "
        "prod default RESTRICTED; minTlsVersion TLS_1_3 requires RESTRICTED",
    )
    cloud_armor_tier: Optional[Literal["CA_ENTERPRISE_PAYGO", "CA_ENTERPRISE_ANNUAL", "CA_STANDARD"]] = Field(
        default=None,
        description="enrol the project in this Cloud Armor tier (billed per project); Enterprise turns on "
        "Adaptive Protection auto-deploy in prod, the only automatic L7 flood mitigation (Standard "
        "Adaptive Protection only alerts); none: leave the project's tier as it is",
    )
    min_tls_version: Literal["TLS_1_2", "TLS_1_3"] = Field(
        default="TLS_1_2",
        description="minimum TLS version of the load balancer / GKE Ingress SSL policy; prod default "
        "TLS_1_3 (seeds 001/002); clients without TLS 1.3 are then refused",
    )
    firestore_location: Optional[str] = Field(
        default=None,
        description="Firestore (MongoDB compatibility) location, pinned at creation; default: the "
        "multi-region of regions.primary's continent (nam5/eur3) in prod, else regions.primary; "
        "production stacks set it explicitly. Changing this replaces the Firestore database (its data)",
    )
    backup_location: Optional[str] = Field(
        default=None,
        description="backup bucket location, pinned at creation; default: the multi-region (US/EU/ASIA) of "
        "regions.primary; production stacks set it explicitly. Changing this replaces the backup bucket "
        "(its exports)",
    )
    redis_tier: Optional[Literal["BASIC", "STANDARD_HA"]] = Field(
        default=None,
        description="Memorystore tier, pinned at creation; default: STANDARD_HA in prod, else BASIC; must agree "
        "with data.redis.ha; production stacks set it explicitly. Changing this replaces the Memorystore "
        "instance (cache and sessions)",
    )
    cloud_sql: Optional[CloudSqlPlacement] = Field(
        default=None,
        description="Cloud SQL's instances by role (primary, replica), pinned at creation so that swapping "
        "regions.primary/secondary moves no database; default: `postgres` in regions.primary, the replica "
        "`postgres-<regions.secondary>`; production stacks set it explicitly. Changing this replaces the "
        "instance whose slot changes (its data) unless the state was moved first (tools/dr_adopt.py)",
    )
    redis_region: Optional[str] = Field(
        default=None,
        description="region of the Memorystore instance, pinned at creation; default: regions.primary; "
        "production stacks set it explicitly. Changing this replaces the Memorystore instance (cache and sessions)",
    )
    rabbitmq_zone: Optional[str] = Field(
        default=None,
        description="zone of the RabbitMQ VM (cloudrun), pinned at creation; its region holds the VM's regional "
        "data disk (this zone and the next), fixed IP and snapshot schedule; default: `<regions.primary>-b`; "
        "production stacks set it explicitly. Changing this replaces the broker's data disk (restore it from a "
        "snapshot first, see docs/deploy-gcp.md) and its IP",
    )
    rabbitmq_restore_snapshot: Optional[str] = Field(
        default=None,
        description="snapshot the RabbitMQ data disk is created from when it is created anew: the restore into "
        "the other region after a failover (`python -m tools.dr_adopt --rebuild-rabbitmq`); read only at creation "
        "(ignored afterwards), so leaving it set changes nothing",
    )
    network_cidr_region: Optional[str] = Field(
        default=None,
        description="the region whose subnet has networkCidr (the other region's has secondaryNetworkCidr), "
        "pinned at creation so that swapping regions.primary/secondary keeps every subnet's range; default: "
        "regions.primary; production stacks set it explicitly. Changing this replaces the subnets and the "
        "RabbitMQ VM's fixed IP",
    )
    export_schedule: Optional[str] = Field(
        default=None,
        description="cron (UTC) of the nightly database export to the backup bucket; default: the first slot "
        "an hour clear of the Cloud SQL backup window (dr.backupSchedule + 4 h) and dr.maintenanceWindow",
    )
    postgres_max_connections: int = Field(
        default=200, ge=25, le=10000, description="Cloud SQL max_connections flag; the alert fires at 80 %"
    )
    cdn_services: tuple[str, ...] = Field(
        default=("frontend",),
        description="routed services whose load-balancer backend has Cloud CDN (static assets); the rest "
        "(APIs, streaming) are never cached",
    )

    @field_validator("rabbitmq_zone")
    @classmethod
    def _zone(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not re.match(r"^[a-z]+-[a-z]+\d+-[a-z]$", v):
            raise ValueError("must be a zone such as 'us-central1-b' (its region, a hyphen, a letter)")
        return v

    @field_validator("export_schedule")
    @classmethod
    def _export_cron(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and len(v.split()) != 5:
            raise ValueError("must be a 5-field cron expression such as '0 7 * * *'")
        return v

    @model_validator(mode="after")
    def _tls_1_3_is_restricted(self) -> "GcpConfig":
        # The SSL policy API refuses TLS_1_3 with any profile but RESTRICTED (pinned SDK docs).
        if self.min_tls_version == "TLS_1_3" and self.ssl_policy_profile != "RESTRICTED":
            raise ValueError(
                f"minTlsVersion TLS_1_3 needs sslPolicyProfile RESTRICTED (got {self.ssl_policy_profile!r}); "
                "set sslPolicyProfile: RESTRICTED or minTlsVersion: TLS_1_2"
            )
        return self

    @model_validator(mode="after")
    def _ranges_are_disjoint(self) -> "GcpConfig":
        # Subnets and the Private Service Access range share one VPC: overlapping ranges would make
        # Cloud SQL / Memorystore private IPs unroutable from Cloud Run, so reject them up front.
        import ipaddress

        nets = {}
        for key in ("network_cidr", "secondary_network_cidr", "private_service_cidr"):
            value = getattr(self, key)
            try:
                nets[key] = ipaddress.IPv4Network(value)
            except ValueError:
                raise ValueError(f"{to_camel(key)} {value!r} must be an IPv4 network such as '10.10.0.0/20'") from None
            if not nets[key].is_private:
                raise ValueError(f"{to_camel(key)} {value!r} must be a private (RFC 1918) range")
        if nets["network_cidr"].prefixlen > 26 or nets["secondary_network_cidr"].prefixlen > 26:
            raise ValueError("networkCidr and secondaryNetworkCidr must be /26 or larger (Direct VPC egress minimum)")
        if nets["private_service_cidr"].prefixlen > 24:
            raise ValueError("privateServiceCidr must be /24 or larger (Private Service Access minimum)")
        keys = list(nets)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if nets[a].overlaps(nets[b]):
                    raise ValueError(f"{to_camel(a)} and {to_camel(b)} overlap; the VPC needs disjoint ranges")
        return self
