"""A private, regional GKE Standard cluster and the Kubernetes provider that deploys onto it.

`GkeCluster` creates:
- a dedicated least-privilege node service account (log/metric writer, monitoring viewer,
  resource-metadata writer, Artifact Registry reader) instead of the Compute Engine default
  account, which has Editor on the project;
- a Cloud KMS key ring and crypto key (rotated every `gke.secretsKeyRotationDays`) for
  application-layer encryption of Kubernetes Secrets in etcd, with the GKE service agent granted
  encrypter/decrypter on that key only; key rings cannot be deleted, so the ring's name ends in a
  random suffix drawn once per stack instance and a destroyed-and-rebuilt stack gets a new ring;
- unless the network hands over a subnet with secondary ranges, the cluster's own VPC-native
  subnet (nodes, pods and services ranges from `gke.*Cidr`, Private Google Access, flow logs);
- the cluster: regional (control plane and nodes in three zones), private nodes (no external
  IPs), the control plane's DNS endpoint with IAM-only access (`gke.controlPlaneDnsEndpoint`: CI
  runners without stable egress ranges connect with their Google identity) and its IP endpoint
  reachable only from `gke.masterAuthorizedNetworks`,
  Workload Identity, Dataplane V2 (eBPF, enforces NetworkPolicy), shielded nodes, Secrets
  encrypted with the KMS key, a release channel, a recurring maintenance window built from the
  seeds' window, the HTTP load balancing (GKE Ingress), Gateway API, Compute Engine PD CSI and
  Backup for GKE add-ons, system and workload logging, deletion protection in production;
  the default node pool is removed right after creation;
- an autoscaled node pool (`gke.machineType`, `gke.min/maxNodesPerZone` in each zone) with shielded
  instances (secure boot, integrity monitoring), the GKE metadata server (pods never see the
  node's credentials), auto repair and auto upgrade, surge upgrades without unavailability;
- a `kubernetes.Provider` (`.provider`) whose kubeconfig is built from the cluster's DNS endpoint
  (or, with the DNS endpoint off, its IP endpoint and CA certificate) and authenticates with the
  `gke-gcloud-auth-plugin` exec credential, so one
  `pulumi up` creates the cluster and then its workloads. The kubeconfig also carries the node
  pool's name, so nothing is deployed before there are nodes to run it.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.base import PlatformComponent
from components.config import StackContext
from components.data.gcp_placement import gke_region

# The roles a GKE node needs and nothing more (GKE hardening guide: "use least privilege Google
# service accounts"). Workloads get their own Google service accounts through Workload Identity.
NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
)

GKE_AUTH_PLUGIN = "gke-gcloud-auth-plugin"

_DAYS = {"MON": "MO", "TUE": "TU", "WED": "WE", "THU": "TH", "FRI": "FR", "SAT": "SA", "SUN": "SU"}
_WINDOW_RE = re.compile(r"^(?P<day>[A-Z]{3}):(?P<start>\d\d:\d\d)-(?P<end_day>[A-Z]{3}):(?P<end>\d\d:\d\d)$")
# A Monday; window dates only anchor the time of day, GKE repeats them by the RRULE.
_ANCHOR = _dt.date(2025, 1, 6)
# GKE accepts a maintenance policy only if it leaves at least 48 hours of maintenance time in any
# 32 days, counted in blocks of at least 4 hours (GKE docs, "Configure maintenance windows").
GKE_WINDOW_HOURS = 8


@dataclass(frozen=True)
class MaintenanceWindow:
    start_time: str
    end_time: str
    recurrence: str


def gke_maintenance_window(spec: str) -> MaintenanceWindow:
    """The cluster's recurring window from the seeds' window (`dr.maintenanceWindow`,
    'SUN:02:00-SUN:04:00', UTC).

    A 2-hour weekly window is rejected by the GKE API (less than 48 h in 32 days), so the window
    opens at the seeds' time on the seeds' day and on the day before, for 8 hours each
    (e.g. Saturday and Sunday 02:00-10:00 UTC: at least 64 h in any 32 days). Cloud SQL and
    Memorystore keep the seeds' exact window.
    """
    m = _WINDOW_RE.match(spec)
    if not m or m.group("day") not in _DAYS:
        raise ValueError(f"maintenance window {spec!r} must look like 'SUN:02:00-SUN:04:00'")
    day_names = list(_DAYS)
    day = day_names.index(m.group("day"))
    previous = (day - 1) % 7
    hours, minutes = (int(x) for x in m.group("start").split(":"))
    start = _dt.datetime.combine(_ANCHOR + _dt.timedelta(days=day), _dt.time(hours, minutes))
    end = start + _dt.timedelta(hours=GKE_WINDOW_HOURS)
    by_day = ",".join(_DAYS[day_names[i]] for i in sorted({previous, day}))
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return MaintenanceWindow(start.strftime(fmt), end.strftime(fmt), f"FREQ=WEEKLY;BYDAY={by_day}")


@dataclass(frozen=True)
class ClusterSubnet:
    """A subnet with secondary ranges for a VPC-native cluster, when the network provides one."""

    subnetwork: pulumi.Input[str]
    pods_range_name: pulumi.Input[str]
    services_range_name: pulumi.Input[str]


@dataclass(frozen=True)
class GkeClusterArgs:
    context: StackContext
    network: pulumi.Input[str]  # the VPC (id or self link)
    project: str  # the configured project id (the workload pool is `<project>.svc.id.goog`)
    # `member` of the GKE service agent (ProjectApis.agent("container.googleapis.com")): it is
    # granted the secrets key
    service_agent: pulumi.Input[str]
    subnet: Optional[ClusterSubnet] = None  # None: the cluster creates its own subnet
    # Resources that must exist first and that no input refers to: the APIs every child calls
    # (GKE, Cloud KMS, Compute, IAM, and Cloud Resource Manager for the node roles).
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)


def kubeconfig(cluster_name: str, endpoint: str, ca_certificate: Optional[str]) -> str:
    """A kubeconfig for one cluster that authenticates with the gke-gcloud-auth-plugin (no
    long-lived credentials in the state: the plugin mints short-lived tokens from the caller's
    gcloud credentials). `ca_certificate` None: the DNS endpoint, whose certificate is publicly
    trusted (the cluster CA signs only the IP endpoint's)."""
    trust = [f"    certificate-authority-data: {ca_certificate}"] if ca_certificate else []
    return "\n".join(
        [
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- cluster:",
            *trust,
            f"    server: https://{endpoint}",
            f"  name: {cluster_name}",
            "contexts:",
            "- context:",
            f"    cluster: {cluster_name}",
            f"    user: {cluster_name}",
            f"  name: {cluster_name}",
            f"current-context: {cluster_name}",
            "preferences: {}",
            "users:",
            f"- name: {cluster_name}",
            "  user:",
            "    exec:",
            "      apiVersion: client.authentication.k8s.io/v1beta1",
            f"      command: {GKE_AUTH_PLUGIN}",
            "      installHint: Install gke-gcloud-auth-plugin for use with kubectl by following",
            "        https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin",
            "      provideClusterInfo: true",
            "",
        ]
    )


class GkeCluster(PlatformComponent):
    """A private regional GKE Standard cluster, its node pool and a Kubernetes provider for it.

    Outputs: `name`, `id` (projects/*/locations/*/clusters/*), `location`, `endpoint`,
    `workload_pool`, `project_id`, `node_service_account` (email), `control_plane_host` (what the
    kubeconfig connects to), `kubeconfig`, `provider`.
    """

    TYPE = "aiplatform:cluster:GkeCluster"

    def __init__(self, name: str, args: GkeClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        gke = cfg.gke
        region = gke_region(cfg)  # pinned (gke.region): a swap of regions.primary/secondary moves no cluster
        prefix = self.context.prefix
        after = list(args.depends_on) or None

        # From the configured project, not a getProject invoke: that calls Cloud Resource Manager
        # at preview, before the program has enabled it.
        self.project_id = args.project
        self.workload_pool = f"{args.project}.svc.id.goog"
        self.location = region

        # --- node identity --------------------------------------------------------------------
        self.node_account = gcp.serviceaccount.Account(
            self.child_name("nodes"),
            gcp.serviceaccount.AccountArgs(
                project=args.project,
                account_id=f"{prefix}-nodes"[:30],
                display_name="GKE nodes (least privilege)",
                description="Node identity of the platform's GKE cluster: logs, metrics, image pulls only.",
            ),
            opts=self.child_opts(depends_on=after),
        )
        for role in NODE_ROLES:
            gcp.projects.IAMMember(
                self.child_name("nodes", role.split("/")[1].replace(".", "-").lower()),
                gcp.projects.IAMMemberArgs(project=args.project, role=role, member=self.node_account.member),
                # project IAM is Cloud Resource Manager's: its API is among `after`
                opts=self.child_opts(depends_on=after),
            )
        self.node_service_account = self.node_account.email

        # --- application-layer secrets encryption ------------------------------------------------
        # Cloud KMS never deletes a key ring (nor a key): `pulumi destroy` only forgets it and
        # destroys the key's versions, so a fixed name would make the next `up` of a rebuilt stack
        # fail with "already exists". The ring's name carries a suffix drawn once per stack
        # instance (kept in its state, so it never changes while the stack lives); the key inside
        # it keeps a fixed name. The key encrypts every Secret in etcd: protected in production.
        ring_suffix = random.RandomId(self.child_name("keyring-suffix"), byte_length=3, opts=self.child_opts())
        self.key_ring = gcp.kms.KeyRing(
            self.child_name("secrets-keyring"),
            gcp.kms.KeyRingArgs(
                project=args.project,
                name=ring_suffix.hex.apply(lambda h: f"{prefix}-cluster-{h}"),
                location=region,
            ),
            opts=self.child_opts(stateful=True, depends_on=after),
        )
        self.secrets_key = gcp.kms.CryptoKey(
            self.child_name("secrets-key"),
            gcp.kms.CryptoKeyArgs(
                name="gke-secrets",
                key_ring=self.key_ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=f"{gke.secrets_key_rotation_days * 86400}s",
                labels=self.labels,
            ),
            opts=self.child_opts(stateful=True),
        )
        key_grant = gcp.kms.CryptoKeyIAMMember(
            self.child_name("secrets-key-gke-agent"),
            gcp.kms.CryptoKeyIAMMemberArgs(
                crypto_key_id=self.secrets_key.id,
                role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                member=args.service_agent,
            ),
            opts=self.child_opts(),
        )

        # --- subnet ---------------------------------------------------------------------------
        subnet = args.subnet or self._own_subnet(args.project, args.network, region, after)

        # --- cluster --------------------------------------------------------------------------
        window = gke_maintenance_window(cfg.dr.maintenance_window)
        self.cluster = gcp.container.Cluster(
            self.child_name("cluster"),
            gcp.container.ClusterArgs(
                project=args.project,
                name=f"{prefix}-cluster",
                location=region,  # regional: control plane and nodes replicated over three zones
                description="AI assistant platform (managed by Pulumi)",
                network=args.network,
                subnetwork=subnet.subnetwork,
                networking_mode="VPC_NATIVE",
                ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                    cluster_secondary_range_name=subnet.pods_range_name,
                    services_secondary_range_name=subnet.services_range_name,
                ),
                remove_default_node_pool=True,
                initial_node_count=1,
                # Used only by the default pool, which exists for the minutes before it is removed:
                # even that one must not run as the Compute Engine default account.
                node_config=gcp.container.ClusterNodeConfigArgs(
                    service_account=self.node_account.email,
                    oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                    shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(
                        enable_secure_boot=True, enable_integrity_monitoring=True
                    ),
                    workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(
                        mode="GKE_METADATA"
                    ),
                ),
                private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                    enable_private_nodes=True,
                    # the endpoint stays public so `pulumi up` can reach it, but only from the
                    # authorized networks below
                    enable_private_endpoint=False,
                    master_ipv4_cidr_block=gke.master_cidr,
                ),
                # The DNS endpoint: IAM decides who may connect (container.clusters.connect), from
                # anywhere, so CI runners with no stable egress range reach the control plane;
                # Kubernetes-native credentials (certs, tokens) are refused on it.
                control_plane_endpoints_config=gcp.container.ClusterControlPlaneEndpointsConfigArgs(
                    dns_endpoint_config=gcp.container.ClusterControlPlaneEndpointsConfigDnsEndpointConfigArgs(
                        allow_external_traffic=gke.control_plane_dns_endpoint,
                        enable_k8s_certs_via_dns=False,
                        enable_k8s_tokens_via_dns=False,
                    ),
                    ip_endpoints_config=gcp.container.ClusterControlPlaneEndpointsConfigIpEndpointsConfigArgs(
                        enabled=True
                    ),
                ),
                master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                    cidr_blocks=[
                        gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                            cidr_block=cidr, display_name=f"authorized-{i}"
                        )
                        for i, cidr in enumerate(gke.master_authorized_networks)
                    ],
                    gcp_public_cidrs_access_enabled=False,
                ),
                workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                    workload_pool=self.workload_pool
                ),
                # Dataplane V2: eBPF datapath with built-in NetworkPolicy enforcement (the
                # network_policy add-on must stay off with it).
                datapath_provider="ADVANCED_DATAPATH",
                enable_shielded_nodes=True,
                enable_legacy_abac=False,
                # key_grant's output: the cluster is created only once the GKE service agent may
                # use the key, without an explicit depends_on.
                database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(
                    state="ENCRYPTED", key_name=key_grant.crypto_key_id
                ),
                release_channel=gcp.container.ClusterReleaseChannelArgs(channel=gke.release_channel),
                maintenance_policy=gcp.container.ClusterMaintenancePolicyArgs(
                    recurring_window=gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(
                        start_time=window.start_time,
                        end_time=window.end_time,
                        recurrence=window.recurrence,
                    )
                ),
                addons_config=gcp.container.ClusterAddonsConfigArgs(
                    http_load_balancing=gcp.container.ClusterAddonsConfigHttpLoadBalancingArgs(disabled=False),
                    horizontal_pod_autoscaling=gcp.container.ClusterAddonsConfigHorizontalPodAutoscalingArgs(
                        disabled=False
                    ),
                    gce_persistent_disk_csi_driver_config=gcp.container.ClusterAddonsConfigGcePersistentDiskCsiDriverConfigArgs(
                        enabled=True
                    ),
                    gke_backup_agent_config=gcp.container.ClusterAddonsConfigGkeBackupAgentConfigArgs(enabled=True),
                ),
                gateway_api_config=gcp.container.ClusterGatewayApiConfigArgs(channel="CHANNEL_STANDARD"),
                logging_config=gcp.container.ClusterLoggingConfigArgs(
                    enable_components=["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"]
                ),
                # System metrics only: kube-prometheus-stack scrapes workloads and kube-state
                # metrics in the cluster; Managed Prometheus (which GKE's kube-state and control
                # plane packages require) would collect and bill the same series twice.
                monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                    enable_components=["SYSTEM_COMPONENTS"],
                    managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=False),
                ),
                node_pool_defaults=gcp.container.ClusterNodePoolDefaultsArgs(
                    node_config_defaults=gcp.container.ClusterNodePoolDefaultsNodeConfigDefaultsArgs(
                        insecure_kubelet_readonly_port_enabled="FALSE"
                    )
                ),
                deletion_protection=cfg.is_production,
                resource_labels=self.labels,
            ),
            opts=self.child_opts(
                stateful=True,
                depends_on=after,
                # The API reports the first remaining pool's config as the cluster's node_config
                # once the default pool is gone; without this every preview would replace the
                # cluster.
                ignore_changes=["nodeConfig", "initialNodeCount"],
            ),
        )
        self.name = self.cluster.name
        self.id = self.cluster.id
        self.endpoint = self.cluster.endpoint

        # --- node pool ------------------------------------------------------------------------
        self.node_pool = gcp.container.NodePool(
            self.child_name("pool"),
            gcp.container.NodePoolArgs(
                project=args.project,
                name="platform",
                cluster=self.cluster.id,
                location=region,
                initial_node_count=max(gke.min_nodes_per_zone, 1),
                autoscaling=gcp.container.NodePoolAutoscalingArgs(
                    min_node_count=gke.min_nodes_per_zone,
                    max_node_count=gke.max_nodes_per_zone,
                    location_policy="BALANCED",
                ),
                management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
                upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(
                    strategy="SURGE", max_surge=1, max_unavailable=0
                ),
                node_config=gcp.container.NodePoolNodeConfigArgs(
                    machine_type=gke.machine_type,
                    boot_disk=gcp.container.NodePoolNodeConfigBootDiskArgs(
                        disk_type="pd-balanced", size_gb=gke.disk_size_gb
                    ),
                    image_type="COS_CONTAINERD",
                    service_account=self.node_account.email,
                    # access is decided by IAM on the (least-privilege) account, not by scopes
                    oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                    shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                        enable_secure_boot=True, enable_integrity_monitoring=True
                    ),
                    workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                        mode="GKE_METADATA"
                    ),
                    metadata={"disable-legacy-endpoints": "true"},
                    resource_labels=self.labels,
                    labels={"pool": "platform"},
                ),
            ),
            opts=self.child_opts(ignore_changes=["initialNodeCount"]),
        )

        # --- Kubernetes provider --------------------------------------------------------------
        if gke.control_plane_dns_endpoint:
            # gke-<hash>.<region>.gke.goog: reachable from anywhere, guarded by IAM
            self.control_plane_host = self.cluster.control_plane_endpoints_config.apply(
                lambda c: c.dns_endpoint_config.endpoint
            )
            ca: pulumi.Input[Optional[str]] = None
        else:
            self.control_plane_host = self.cluster.endpoint
            ca = self.cluster.master_auth.cluster_ca_certificate
        self.kubeconfig = pulumi.Output.all(
            self.cluster.name, self.control_plane_host, ca, self.node_pool.name
        ).apply(lambda v: kubeconfig(v[0], v[1], v[2]))
        self.provider = k8s.Provider(
            self.child_name("k8s"),
            kubeconfig=self.kubeconfig,
            opts=self.child_opts(),
        )

        self.register_outputs(
            {
                "name": self.name,
                "location": self.location,
                "endpoint": self.endpoint,
                "controlPlaneHost": self.control_plane_host,
                "workloadPool": self.workload_pool,
                "nodeServiceAccount": self.node_service_account,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _own_subnet(
        self,
        project: Optional[pulumi.Input[str]],
        network: pulumi.Input[str],
        region: str,
        after: Optional[list[pulumi.Resource]],
    ) -> ClusterSubnet:
        """The cluster's VPC-native subnet: node addresses plus secondary ranges for pods and
        services, Private Google Access (private nodes reach Google APIs), flow logs."""
        gke = self.config.gke
        pods, services = "pods", "services"
        self.subnetwork = gcp.compute.Subnetwork(
            self.child_name("subnet"),
            gcp.compute.SubnetworkArgs(
                project=project,
                name=f"{self.context.prefix}-cluster-{region}",
                network=network,
                region=region,
                ip_cidr_range=gke.subnet_cidr,
                private_ip_google_access=True,
                secondary_ip_ranges=[
                    gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=pods, ip_cidr_range=gke.pods_cidr),
                    gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=services, ip_cidr_range=gke.services_cidr),
                ],
                log_config=gcp.compute.SubnetworkLogConfigArgs(
                    aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
                ),
            ),
            opts=self.child_opts(depends_on=after),
        )
        return ClusterSubnet(
            subnetwork=self.subnetwork.id,
            pods_range_name=self.subnetwork.secondary_ip_ranges.apply(lambda r: r[0].range_name),
            services_range_name=self.subnetwork.secondary_ip_ranges.apply(lambda r: r[1].range_name),
        )
