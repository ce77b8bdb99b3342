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
from components.gcp import deletion_protection_problems, project_id, raise_config_problems, shared_apis

GKE_SDK_MODULES = ("container", "kms", "gkebackup")
MONGODB_DUMP_IDENTITY = "mongodb-backup"  # Google service account of the mongodump upload


def check_ranges(context: StackContext) -> None:
    """The cluster's ranges share the VPC with the GCP ranges: they must not overlap."""
    cfg = context.config
    gcp_ranges = {
        "gcp.networkCidr": cfg.gcp.network_cidr,
        "gcp.secondaryNetworkCidr": cfg.gcp.secondary_network_cidr,
        "gcp.privateServiceCidr": cfg.gcp.private_service_cidr,
    }
    gke_ranges = {
        "gke.masterCidr": cfg.gke.master_cidr,
        "gke.subnetCidr": cfg.gke.subnet_cidr,
        "gke.podsCidr": cfg.gke.pods_cidr,
        "gke.servicesCidr": cfg.gke.services_cidr,
    }
    raise_config_problems(
        context,
        [
            f"ai-assistant-platform:{gk} = {gv!r}: overlaps {ck} {cv!r}; the VPC needs disjoint ranges"
            for gk, gv in gke_ranges.items()
            for ck, cv in gcp_ranges.items()
            if ipaddress.ip_network(gv).overlaps(ipaddress.ip_network(cv))
        ],
    )


def metrics_server_problems(context: StackContext) -> list[str]:
    """GKE runs its own metrics-server (a managed add-on serving `metrics.k8s.io`): a second one
    would fight it over the cluster-wide APIService."""
    if context.config.kubernetes.metrics_server.install:
        return [
            "ai-assistant-platform:kubernetes.metricsServer.install = True: GKE provides metrics-server "
            "itself; remove the key (or set it false) on platform gke"
        ]
    return []


def problems(config: StackConfig) -> list[Problem]:
    from components.release.argo_controller import release_problems

    return release_problems(config)


def required_apis(context: StackContext) -> list[str]:
    """The shared GCP APIs, the cluster's (GKE, Cloud KMS, Backup for GKE), and Workflows and
    Scheduler for the backup exports, which run only for Cloud SQL here."""
    apis = shared_apis(context) + [
        "container.googleapis.com",
        "cloudkms.googleapis.com",
        "gkebackup.googleapis.com",
    ]
    if context.config.data.postgres.enabled:
        apis += ["workflows.googleapis.com", "cloudscheduler.googleapis.com"]
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
    from components.data.kubernetes import IN_CLUSTER_DATA, InClusterDataArgs
    from components.dr.gke_backup import GkeBackup, GkeBackupArgs
    from components.dr.gke_offsite import OffsiteDumpAccess, OffsiteDumpAccessArgs
    from components.dr.kubernetes import KubernetesBackups, KubernetesBackupsArgs, OffsiteCopy
    from components.edge.gke import GkeIngress, GkeIngressArgs
    from components.gcp.project import TELEMETRY_ROLES, WorkloadIdentity
    from components.monitoring.kubernetes import KubernetesMonitoring, KubernetesMonitoringArgs
    from components.platforms import gcp_wiring
    from components.release.argo_controller import ArgoRollouts, ArgoRolloutsArgs, installs_argo_rollouts
    from components.secrets.app_secrets import AppSecrets, AppSecretsArgs

    cfg = context.config
    gcfg = cfg.gcp
    raise_config_problems(context, deletion_protection_problems(context) + metrics_server_problems(context))
    check_ranges(context)
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
    if data.postgres.enabled:
        identities.append(gcp_wiring.backup_identity(postgres=True))
    if data.mongodb.enabled:  # the mongodump CronJob's upload into the backup bucket; bucket-scoped only
        identities.append(WorkloadIdentity(name=MONGODB_DUMP_IDENTITY, description="mongodump upload (Workload Identity)"))
    foundation = gcp_wiring.build_foundation(
        context,
        project,
        apis=required_apis(context),
        identities=identities,
        subnets={primary: gcfg.network_cidr},
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
    in_cluster = {}
    for service in ("mongodb", "rabbitmq"):
        if getattr(data, service).enabled:
            in_cluster[service] = IN_CLUSTER_DATA[service](
                service,
                InClusterDataArgs(
                    context, namespace.name, getattr(data, service), storage_class=storage.storage_class
                ),
                opts=on_cluster,
            )
            connections[service] = in_cluster[service].connection

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
    if "mongodb" in in_cluster:
        # the dumps stay on their volume (fast restores) and go to the bucket's tiers (7 years, off-cluster)
        OffsiteDumpAccess(
            "backups-offsite",
            OffsiteDumpAccessArgs(
                context,
                bucket_name=bucket.bucket_name,
                bucket=bucket.bucket.name,
                tiers=bucket.tiers,
                account=accounts.accounts[MONGODB_DUMP_IDENTITY].name,
                member=accounts.members[MONGODB_DUMP_IDENTITY],
                workload_pool=cluster.workload_pool,
                namespace=namespace.name,
                service="mongodb",
            ),
        )
        KubernetesBackups(
            "backups-in-cluster",
            KubernetesBackupsArgs(
                context,
                namespace.name,
                {"mongodb": connections["mongodb"]},
                storage_class=storage.storage_class,
                offsite=OffsiteCopy(bucket=bucket.bucket_name, service_account_email=accounts.emails[MONGODB_DUMP_IDENTITY]),
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
    if cfg.monitoring.enabled:
        k8s_monitoring = KubernetesMonitoring(
            "monitoring",
            # Grafana stays inside the cluster (kubectl port-forward): no second public endpoint
            KubernetesMonitoringArgs(
                context, namespace.name, services, ingress_class=None,
                scrape_targets=[component.scrape_target for component in in_cluster.values()]
                + ([rollouts.scrape_target] if rollouts and rollouts.scrape_target else []),
            ),
            opts=on_cluster,
        )
        outputs["grafanaUrl"] = k8s_monitoring.grafana_url
        gcp_wiring.cloud_monitoring(
            foundation,
            "cloud-monitoring",
            routed=routed,
            postgres=postgres,
            redis=redis,
            exports=exports,
            cloud_run=False,  # pod CPU/memory/restarts are alerted by kube-prometheus-stack
            log_resource_filter=f'resource.type="k8s_container" AND resource.labels.namespace_name="{namespace_name}"',
        )

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
                lambda n: f"gcloud container clusters get-credentials {n} --region {primary} --project {project}"
                + (" --dns-endpoint" if cfg.gke.control_plane_dns_endpoint else "")
            ),
            "namespace": namespace.name,
            "urls": {name: f"https://{host}" for name, host in hosts.items()},
            "ingressIp": edge.address,
            "dnsRecords": edge.address.apply(
                lambda ip: [{"name": host, "type": "A", "value": ip} for host in hosts.values()]
            ),
            "secretIds": {name: secret.secret_id for name, secret in store.secrets.items()},
            "postgres": gcp_wiring.postgres_outputs(postgres),
            "backupBucket": bucket.bucket_name,
            "gkeBackupPlans": {tier: plan.name for tier, plan in gke_backup.plans.items()},
        }
    )
    return outputs
