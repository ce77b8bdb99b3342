"""`platform: gke` - the Kubernetes platform on a private regional GKE cluster this program creates,
with the managed GCP data services, edge, monitoring and DR of the Cloud Run platform.

Nothing here is GKE's own copy of a component: the GCP parts are wired by `gcp_wiring` exactly as
on the Cloud Run platform (project APIs and identities, VPC, Secret Manager, Cloud SQL,
Memorystore, Cloud Armor, Cloud Monitoring, backup bucket and exports) and the workloads are the
Kubernetes platform's (namespace, app layer, in-cluster MongoDB and RabbitMQ,
kube-prometheus-stack, backup CronJobs).
Only the cluster, its storage classes, Workload Identity, the GKE Ingress edge and Backup for GKE
are specific to this platform. Canary/blueGreen services are Argo Rollouts as on `kubernetes`,
but replica-weighted: GKE Ingress cannot split a host's traffic by weight, so a canary step's
weight is its share of the pods behind the one Service.

Wiring, in data-flow order (nothing waits for more than its inputs and its APIs, so the cluster,
Cloud SQL and Memorystore are created in parallel):

  project APIs (+ container, cloudkms, gkebackup) + Google service accounts per workload
  -> VPC (subnet, Private Service Access, NAT, deny-all firewall, health-check allow)
  -> GKE cluster (own VPC-native subnet, KMS key, node pool) -> Kubernetes provider
  -> namespace, regional-PD StorageClass and VolumeSnapshotClass            (on the cluster)
  -> app secrets; Cloud SQL (+ cross-region replica) and Memorystore over private IP;
     MongoDB and RabbitMQ as StatefulSets on regional persistent disks       (on the cluster)
  -> Secret Manager (every secret and data-service URL, per-workload accessor bindings) and the
     same values in the app's Kubernetes Secret (etcd encrypted with the KMS key)
  -> Workload Identity bindings -> the app layer (service accounts annotated with their Google
     service account, Services annotated for NEGs and BackendConfigs, pods admitting Google's load
     balancer ranges) -> Cloud Armor + GKE Ingress (BackendConfig, FrontendConfig,
     ManagedCertificates, static IP)
  -> kube-prometheus-stack + Cloud Monitoring uptime checks and alerts
  -> DR: backup bucket + scheduled Cloud SQL exports, mongodump CronJob (volume + bucket tiers, its
     own Workload Identity limited to creating objects under `<tier>/mongodb/`), Backup for GKE plans.

Every Kubernetes object is created through the cluster's provider
(`providers={"kubernetes": cluster.provider}`), so one `pulumi up` builds the cluster and then
what runs on it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pulumi

from components.config import Problem, StackConfig, StackContext
from components.gcp import gcp_problems, project_id, shared_apis
from components.data.gcp_placement import gke_region
from components.platforms.limits import BACKUP_FOR_GKE_MAX_RETAIN_DAYS as MAX_RETAIN_DAYS
from components.platforms.limits import fits_node_problems, machine_type_problems

GKE_SDK_MODULES = ("container", "kms", "gkebackup")


def dump_identity(service: str) -> str:
    """The Google service account of an in-cluster dump's upload (`mongodb-backup`)."""
    return f"{service}-backup"


def offsite_dumps(config) -> list[str]:
    """The in-cluster data services whose dumps go to the backup bucket (the registry's
    `dumped_in_cluster` ones that run on the cluster here)."""
    from components.data.registry import REGISTRY, in_cluster

    return [n for n in in_cluster(config) if REGISTRY[n].dumped_in_cluster]


def dump_description(service: str) -> str:
    from components.data.registry import REGISTRY

    return f"{REGISTRY[service].dump_tool} upload (Workload Identity)"


def cloud_sql_enabled(config) -> bool:
    from components.data.registry import backed_by

    return bool(backed_by(config, "CloudSqlPostgres"))


def range_problems(config: StackConfig) -> list[Problem]:
    """The cluster's ranges share the VPC with the GCP ranges: they must not overlap."""
    gcp_ranges = {
        "gcp.networkCidr": config.gcp.network_cidr,
        "gcp.secondaryNetworkCidr": config.gcp.secondary_network_cidr,
        "gcp.privateServiceCidr": config.gcp.private_service_cidr,
    }
    gke_ranges = {
        "gke.masterCidr": config.gke.master_cidr,
        "gke.subnetCidr": config.gke.subnet_cidr,
        "gke.podsCidr": config.gke.pods_cidr,
        "gke.servicesCidr": config.gke.services_cidr,
    }
    return [
        Problem(gk, gv, f"overlaps {ck} {cv!r}; the VPC needs disjoint ranges")
        for gk, gv in gke_ranges.items()
        for ck, cv in gcp_ranges.items()
        if ipaddress.ip_network(gv).overlaps(ipaddress.ip_network(cv))
    ]


def metrics_server_problems(config: StackConfig) -> list[Problem]:
    """GKE runs its own metrics-server (a managed add-on serving `metrics.k8s.io`): a second one
    would fight it over the cluster-wide APIService."""
    if config.kubernetes.metrics_server.install:
        return [Problem("kubernetes.metricsServer.install", True,
                        "GKE provides metrics-server itself; remove the key (or set it false) on platform gke")]
    return []


def control_plane_problems(config: StackConfig) -> list[Problem]:
    """`gke.masterAuthorizedNetworks` opens the control plane's IP endpoint to its ranges: a /0
    (0.0.0.0/0, ::/0) is the whole internet, which is what authorized networks exist to prevent."""
    return [
        Problem("gke.masterAuthorizedNetworks", cidr,
                "a /0 opens the control plane to the whole internet; list the operators' ranges (VPN, office), "
                "or leave it empty and connect through the DNS endpoint (gke.controlPlaneDnsEndpoint, IAM-guarded)")
        for cidr in config.gke.master_authorized_networks
        if ipaddress.ip_network(cidr).prefixlen == 0
    ]


def node_fit_problems(config: StackConfig) -> list[Problem]:
    """The node pool's machine type exists and every pod's request fits on one of its nodes."""
    machine = config.gke.machine_type
    found = machine_type_problems("gke.machineType", machine)
    for name, svc in config.enabled_services.items():
        found += fits_node_problems(f"services.{name}", svc.cpu, svc.memory, machine)
    from components.data.registry import in_cluster

    for name in in_cluster(config):
        settings = getattr(config.data, name)
        found += fits_node_problems(f"data.{name}", settings.cpu, settings.memory, machine)
    return found


def backup_problems(config: StackConfig) -> list[Problem]:
    """Backup for GKE keeps a backup at most 365 days (its plans' retention): the daily tier's days
    and the weekly tier's weeks x 7 (dr/gke_backup.py; the monthly tier is capped there)."""
    retention = config.dr.retention
    tiers = (("dr.retention.dailyDays", retention.daily_days, retention.daily_days),
             ("dr.retention.weeklyWeeks", retention.weekly_weeks, retention.weekly_weeks * 7))
    return [
        Problem(path, value, f"Backup for GKE keeps a backup at most {MAX_RETAIN_DAYS} days")
        for path, value, days in tiers
        if days > MAX_RETAIN_DAYS
    ]


def problems(config: StackConfig) -> list[Problem]:
    """What GKE and the GCP services refuse in a config whose schema is valid, before anything is
    registered (the data backends' problems come from the registry, components/data/registry.py)."""
    from components.release.argo_controller import release_problems

    return (
        gcp_problems(config)
        + range_problems(config)
        + metrics_server_problems(config)
        + control_plane_problems(config)
        + node_fit_problems(config)
        + backup_problems(config)
        + release_problems(config)
    )


def required_apis(context: StackContext) -> list[str]:
    """The shared GCP APIs, the cluster's (GKE, Cloud KMS, Backup for GKE), and Workflows and
    Scheduler for the backup exports, which run only for Cloud SQL here."""
    apis = shared_apis(context) + [
        "container.googleapis.com",
        "cloudkms.googleapis.com",
        "gkebackup.googleapis.com",
    ]
    if cloud_sql_enabled(context.config):
        apis += ["workflows.googleapis.com", "cloudscheduler.googleapis.com"]
    from components.dr.restore_test_gcp import restore_test_apis

    apis += [api for api in restore_test_apis(context.config) if api not in apis]
    return apis


def build(context: StackContext) -> dict[str, Any]:
    # Provider SDK imports stay here: a Kubernetes stack never pays for them.
    from components.gcp import SDK_MODULES
    from components.sdk import load_sdk

    load_sdk("pulumi_gcp", SDK_MODULES + GKE_SDK_MODULES)

    from components.app.kubernetes import KubernetesApp, KubernetesAppArgs
    from components.app.namespace import PlatformNamespace, PlatformNamespaceArgs
    from components.cluster.gke import GkeCluster, GkeClusterArgs
    from components.cluster.gke_identity import GkeWorkloadIdentity, GkeWorkloadIdentityArgs
    from components.cluster.gke_storage import GkeStorage, GkeStorageArgs
    from components.data.kubernetes_statefulset import InClusterDataArgs
    from components.data.registry import component_class, in_cluster
    from components.dr.gke_backup import GkeBackup, GkeBackupArgs
    from components.dr.objectives import dr_output
    from components.dr.gke_offsite import OffsiteDumpAccess, OffsiteDumpAccessArgs, offsite_component_name
    from components.dr.kubernetes import KubernetesBackups, KubernetesBackupsArgs, OffsiteCopy
    from components.dr.restore_test_gcp import restore_tests
    from components.edge.gke import GkeIngress, GkeIngressArgs
    from components.gcp.project import TELEMETRY_ROLES, WorkloadIdentity
    from components.monitoring.kubernetes import KubernetesMonitoring, KubernetesMonitoringArgs
    from components.platforms import gcp_wiring
    from components.release.argo_controller import ArgoRollouts, ArgoRolloutsArgs, installs_argo_rollouts
    from components.secrets.app_secrets import AppSecrets, AppSecretsArgs

    cfg = context.config
    gcfg = cfg.gcp
    project = project_id(context)
    primary = cfg.regions.primary
    secondary = cfg.regions.secondary
    services = cfg.enabled_services
    data = cfg.data
    namespace_name = cfg.kubernetes.namespace

    # --- project: APIs and one Google identity per workload; network ------------------------
    identities = [
        WorkloadIdentity(name=name, description=f"GKE {svc.kind} {name} (Workload Identity)", roles=TELEMETRY_ROLES)
        for name, svc in services.items()
    ]
    if cloud_sql_enabled(cfg):
        identities.append(gcp_wiring.backup_identity(postgres=True))
    for service in offsite_dumps(cfg):  # each dump CronJob's upload into the backup bucket; bucket-scoped only
        identities.append(WorkloadIdentity(name=dump_identity(service), description=dump_description(service)))
    foundation = gcp_wiring.build_foundation(
        context,
        project,
        apis=required_apis(context),
        identities=identities,
        subnets={gke_region(cfg): gcfg.network_cidr},  # the cluster's region (gke.region), not the role
        allow_health_checks=True,  # GKE Ingress: Google's health checkers reach the pods (NEGs)
        agents=["container.googleapis.com"],  # the GKE service agent uses the secrets key
    )
    apis, accounts, network = foundation.apis, foundation.accounts, foundation.network

    # --- cluster ----------------------------------------------------------------------------
    cluster = GkeCluster(
        "gke",
        GkeClusterArgs(
            context=context,
            project=project,
            network=network.network.id,
            service_agent=apis.agent("container.googleapis.com").member,
            depends_on=apis.needs(
                "container.googleapis.com",
                "cloudkms.googleapis.com",
                "compute.googleapis.com",
                "iam.googleapis.com",
                "cloudresourcemanager.googleapis.com",
            ),
        ),
    )
    on_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})

    namespace = PlatformNamespace("platform", PlatformNamespaceArgs(context), opts=on_cluster)
    storage = GkeStorage("storage", GkeStorageArgs(context), opts=on_cluster)

    # --- secrets and data -------------------------------------------------------------------
    app_secrets = AppSecrets("app-secrets", AppSecretsArgs(context=context))
    postgres, redis = gcp_wiring.cloud_sql_and_memorystore(foundation)
    connections = gcp_wiring.managed_connections(postgres, redis)
    statefulsets = {}
    for service in in_cluster(cfg):
        statefulsets[service] = component_class(service, cfg.platform)(
            service,
            InClusterDataArgs(
                context, namespace.name, getattr(data, service), storage_class=storage.storage_class
            ),
            opts=on_cluster,
        )
        connections[service] = statefulsets[service].connection
    connections = gcp_wiring.with_hosted(cfg, connections)

    # Secret Manager is the record of every secret; the app reads the same values from its
    # Kubernetes Secret (KubernetesApp), and each workload's Google identity may read its own.
    store = gcp_wiring.secret_store(foundation, app_secrets, postgres, connections)

    # --- app --------------------------------------------------------------------------------
    rollouts = ArgoRollouts("argo-rollouts", ArgoRolloutsArgs(context), opts=on_cluster) if installs_argo_rollouts(cfg) else None
    identity = GkeWorkloadIdentity(
        "workload-identity",
        GkeWorkloadIdentityArgs(
            context=context,
            workload_pool=cluster.workload_pool,
            namespace=namespace.name,
            accounts={name: accounts.accounts[name].name for name in services},
            emails={name: accounts.emails[name] for name in services},
        ),
        opts=on_cluster,
    )
    app = KubernetesApp(
        "app",
        KubernetesAppArgs(
            context,
            namespace=namespace.name,
            connections=connections,
            secrets=app_secrets.values,
            ingress_sources=[GkeIngress.source_for(cfg)],
            service_account_annotations=identity.annotations,
            service_annotations=GkeIngress.service_annotations_for(cfg),
            rollouts_controller=rollouts.release if rollouts else None,  # replica-weighted: no stable Ingresses
        ),
        opts=on_cluster,
    )

    # --- edge -------------------------------------------------------------------------------
    armor = gcp_wiring.edge_armor(foundation)
    edge = GkeIngress(
        "edge",
        GkeIngressArgs(
            context,
            namespace.name,
            app.services,
            project=project,
            security_policy=armor.policy.name,
            depends_on=apis.needs("compute.googleapis.com"),
        ),
        opts=on_cluster,
    )

    # --- DR: backup bucket and scheduled Cloud SQL exports, in-cluster dumps, Backup for GKE --
    bucket, exports = gcp_wiring.backups(foundation, exports=postgres is not None, postgres=postgres)
    dumped = offsite_dumps(cfg)
    for service in dumped:
        # the dumps stay on their volume (fast restores) and go to the bucket's tiers (7 years, off-cluster)
        OffsiteDumpAccess(
            offsite_component_name(service),
            OffsiteDumpAccessArgs(
                context,
                bucket_name=bucket.bucket_name,
                bucket=bucket.bucket.name,
                tiers=bucket.tiers,
                account=accounts.accounts[dump_identity(service)].name,
                member=accounts.members[dump_identity(service)],
                workload_pool=cluster.workload_pool,
                namespace=namespace.name,
                service=service,
            ),
        )
    if dumped:
        KubernetesBackups(
            "backups-in-cluster",
            KubernetesBackupsArgs(
                context,
                namespace.name,
                {service: connections[service] for service in dumped},
                storage_class=storage.storage_class,
                offsite={
                    service: OffsiteCopy(bucket=bucket.bucket_name, service_account_email=accounts.emails[dump_identity(service)])
                    for service in dumped
                },
            ),
            opts=on_cluster,
        )
    gke_backup = GkeBackup(
        "gke-backup",
        GkeBackupArgs(
            context,
            project=project,
            cluster_id=cluster.id,
            namespace=namespace.name,
            depends_on=apis.needs("gkebackup.googleapis.com"),
        ),
    )

    # --- monitoring -------------------------------------------------------------------------
    routed = {n: s for n, s in services.items() if s.kind == "web" and s.route is not None}
    outputs: dict[str, Any] = {}
    cloud_monitoring = None
    if cfg.monitoring.enabled:
        k8s_monitoring = KubernetesMonitoring(
            "monitoring",
            # Grafana stays inside the cluster (kubectl port-forward): no second public endpoint
            KubernetesMonitoringArgs(
                context, namespace.name, services, ingress_class=None,
                scrape_targets=[component.scrape_target for component in statefulsets.values()]
                + ([rollouts.scrape_target] if rollouts and rollouts.scrape_target else []),
            ),
            opts=on_cluster,
        )
        outputs["grafanaUrl"] = k8s_monitoring.grafana_url
        cloud_monitoring = gcp_wiring.cloud_monitoring(
            foundation,
            "cloud-monitoring",
            routed=routed,
            postgres=postgres,
            redis=redis,
            exports=exports,
            cloud_run=False,  # pod CPU/memory/restarts are alerted by kube-prometheus-stack
            log_resource_filter=f'resource.type="k8s_container" AND resource.labels.namespace_name="{namespace_name}"',
        )

    # --- DR: Cloud SQL's backups proven by scheduled restores (components/dr/restore_test_gcp.py)
    restore_tests(foundation, postgres, monitoring=cloud_monitoring)

    # --- outputs ----------------------------------------------------------------------------
    hosts = {name: cfg.host(svc.route) for name, svc in routed.items()}
    outputs.update(
        {
            "platform": "gke",
            "project": project,
            "regions": [primary] + ([secondary] if secondary else []),
            "cluster": cluster.name,
            "clusterLocation": cluster.location,
            "getCredentials": cluster.name.apply(
                lambda n: f"gcloud container clusters get-credentials {n} --region {gke_region(cfg)} --project {project}"
                + (" --dns-endpoint" if cfg.gke.control_plane_dns_endpoint else "")
            ),
            "namespace": namespace.name,
            "urls": {name: f"https://{host}" for name, host in hosts.items()},
            "ingressIp": edge.address,
            "dnsRecords": edge.address.apply(
                lambda ip: [{"name": host, "type": "A", "value": ip} for host in hosts.values()]
            ),
            "secretIds": {name: secret.secret_id for name, secret in store.secrets.items()},
            **gcp_wiring.managed_outputs(postgres),
            "backupBucket": bucket.bucket_name,
            "gkeBackupPlans": {tier: plan.name for tier, plan in gke_backup.plans.items()},
            "dr": dr_output(cfg),
        }
    )
    return outputs
