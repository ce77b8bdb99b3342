"""`platform: gke` - the Kubernetes platform on a private regional GKE cluster this program creates,
with the managed GCP data services, edge, monitoring and DR of the Cloud Run platform.

Nothing here is GKE's own copy of a component: the GCP parts are the Cloud Run platform's
components (project APIs and identities, VPC, Secret Manager, Cloud SQL, Memorystore, Cloud Armor,
Cloud Monitoring, backup bucket and exports) and the workloads are the Kubernetes platform's
(namespace, app layer, in-cluster MongoDB and RabbitMQ, kube-prometheus-stack, backup CronJobs).
Only the cluster, its storage classes, Workload Identity, the GKE Ingress edge and Backup for GKE
are specific to this platform.

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
  -> DR: backup bucket + scheduled Cloud SQL exports, mongodump CronJob, Backup for GKE plans.

Every Kubernetes object is created through the cluster's provider
(`providers={"kubernetes": cluster.provider}`), so one `pulumi up` builds the cluster and then
what runs on it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pulumi

from components.config import ConfigError, StackContext
from components.gcp import project_id
from components.data.connection import secret_env_names

POSTGRES_PASSWORD_ENV = "POSTGRES_PASSWORD"
GKE_SDK_MODULES = ("container", "kms", "gkebackup")


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
    problems = [
        f"  ai-assistant-platform:{gk} = {gv!r}: overlaps {ck} {cv!r}; the VPC needs disjoint ranges"
        for gk, gv in gke_ranges.items()
        for ck, cv in gcp_ranges.items()
        if ipaddress.ip_network(gv).overlaps(ipaddress.ip_network(cv))
    ]
    if problems:
        raise ConfigError(
            f"Pulumi.{context.stack}.yaml: invalid configuration; nothing was created.\n" + "\n".join(problems)
        )


def required_apis(context: StackContext) -> list[str]:
    cfg = context.config
    apis = [
        "cloudresourcemanager.googleapis.com",
        "iam.googleapis.com",
        "compute.googleapis.com",
        "servicenetworking.googleapis.com",
        "container.googleapis.com",
        "cloudkms.googleapis.com",
        "gkebackup.googleapis.com",
        "secretmanager.googleapis.com",
        "monitoring.googleapis.com",
        "logging.googleapis.com",
        "cloudtrace.googleapis.com",
        "storage.googleapis.com",
    ]
    if cfg.data.postgres.enabled:
        apis += ["sqladmin.googleapis.com", "workflows.googleapis.com", "cloudscheduler.googleapis.com"]
    if cfg.data.redis.enabled:
        apis.append("redis.googleapis.com")
    if cfg.monitoring.enabled and cfg.monitoring.budgets.billing_account:
        apis.append("billingbudgets.googleapis.com")
    return apis


def build(context: StackContext) -> dict[str, Any]:
    # Provider SDK imports stay here: a Kubernetes stack never pays for them.
    from components.gcp import SDK_MODULES, multi_region_of
    from components.sdk import load_sdk

    load_sdk("pulumi_gcp", SDK_MODULES + GKE_SDK_MODULES)

    from components.app.kubernetes import KubernetesApp, KubernetesAppArgs
    from components.app.namespace import PlatformNamespace, PlatformNamespaceArgs
    from components.cluster.gke import GkeCluster, GkeClusterArgs
    from components.cluster.gke_identity import GkeWorkloadIdentity, GkeWorkloadIdentityArgs
    from components.cluster.gke_storage import GkeStorage, GkeStorageArgs
    from components.data.cloudsql import CloudSqlPostgres, CloudSqlPostgresArgs
    from components.data.kubernetes import IN_CLUSTER_DATA, InClusterDataArgs
    from components.data.memorystore import MemorystoreRedis, MemorystoreRedisArgs
    from components.dr.gcp import BucketWriter, GcpBackupBucket, GcpBackupBucketArgs
    from components.dr.gcp import ScheduledBackupExports, ScheduledBackupExportsArgs
    from components.dr.gke_backup import GkeBackup, GkeBackupArgs
    from components.dr.kubernetes import KubernetesBackups, KubernetesBackupsArgs
    from components.edge.gcp_armor import CloudArmorPolicy, CloudArmorPolicyArgs
    from components.edge.gke import GkeIngress, GkeIngressArgs
    from components.gcp.project import (
        TELEMETRY_ROLES,
        ProjectApis,
        ProjectApisArgs,
        ServiceAccounts,
        ServiceAccountsArgs,
        WorkloadIdentity,
    )
    from components.monitoring.gcp import CloudMonitoring, CloudMonitoringArgs, UptimeTarget
    from components.monitoring.kubernetes import KubernetesMonitoring, KubernetesMonitoringArgs
    from components.network.gcp import GcpNetwork, GcpNetworkArgs
    from components.secrets.app_secrets import AppSecrets, AppSecretsArgs
    from components.secrets.gcp import SecretAccess, SecretManagerStore, SecretManagerStoreArgs

    cfg = context.config
    gcfg = cfg.gcp
    if cfg.is_production and not gcfg.deletion_protection:
        raise ConfigError(
            f"Pulumi.{context.stack}.yaml: invalid configuration; nothing was created.\n"
            "  ai-assistant-platform:gcp.deletionProtection = False: production data services always keep "
            "deletion protection"
        )
    check_ranges(context)
    project = project_id(context)
    primary = cfg.regions.primary
    secondary = cfg.regions.secondary
    services = cfg.enabled_services
    data = cfg.data
    namespace_name = cfg.kubernetes.namespace

    # --- project: APIs and one Google identity per workload ---------------------------------
    apis = ProjectApis("project", ProjectApisArgs(context=context, project=project, apis=required_apis(context)))
    identities = [
        WorkloadIdentity(name=name, description=f"GKE {svc.kind} {name} (Workload Identity)", roles=TELEMETRY_ROLES)
        for name, svc in services.items()
    ]
    if data.postgres.enabled:
        identities.append(
            WorkloadIdentity(
                name="backup",
                description="backup export workflow",
                roles=("roles/workflows.invoker", "roles/logging.logWriter", "roles/cloudsql.viewer"),
            )
        )
    accounts = ServiceAccounts(
        "identities",
        ServiceAccountsArgs(
            context=context, project=project, identities=identities, depends_on=apis.needs("iam.googleapis.com")
        ),
    )

    # --- network and cluster ----------------------------------------------------------------
    network = GcpNetwork(
        "network",
        GcpNetworkArgs(
            context=context,
            project=project,
            subnets={primary: gcfg.network_cidr},
            private_service_cidr=gcfg.private_service_cidr,
            allow_health_checks=True,  # GKE Ingress: Google's health checkers reach the pods (NEGs)
            depends_on=apis.needs("compute.googleapis.com", "servicenetworking.googleapis.com"),
        ),
    )
    cluster = GkeCluster(
        "gke",
        GkeClusterArgs(
            context=context,
            project=project,
            network=network.network.id,
            depends_on=apis.needs(
                "container.googleapis.com", "cloudkms.googleapis.com", "compute.googleapis.com", "iam.googleapis.com"
            ),
        ),
    )
    on_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})

    namespace = PlatformNamespace("platform", PlatformNamespaceArgs(context), opts=on_cluster)
    storage = GkeStorage("storage", GkeStorageArgs(context), opts=on_cluster)

    # --- secrets and data -------------------------------------------------------------------
    app_secrets = AppSecrets("app-secrets", AppSecretsArgs(context=context))
    store_values: dict[str, pulumi.Input[str]] = dict(app_secrets.values)
    connections = {}
    postgres = redis = None
    if data.postgres.enabled:
        postgres = CloudSqlPostgres(
            "postgres",
            CloudSqlPostgresArgs(
                context=context,
                project=project,
                settings=data.postgres,
                region=primary,
                network=network.network.id,
                private_service_access=network.private_service_access,
                replica_region=secondary,
                max_connections=gcfg.postgres_max_connections,
                deletion_protection=gcfg.deletion_protection,
                peer_cidr=gcfg.private_service_cidr,
                depends_on=apis.needs("sqladmin.googleapis.com"),
            ),
        )
        connections["postgres"] = postgres.connection
        store_values[POSTGRES_PASSWORD_ENV] = postgres.password
    if data.redis.enabled:
        redis = MemorystoreRedis(
            "redis",
            MemorystoreRedisArgs(
                context=context,
                project=project,
                settings=data.redis,
                region=primary,
                network=network.network.id,
                private_service_access=network.private_service_access,
                deletion_protection=gcfg.deletion_protection,
                peer_cidr=gcfg.private_service_cidr,
                depends_on=apis.needs("redis.googleapis.com"),
            ),
        )
        connections["redis"] = redis.connection
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
    for connection in connections.values():
        store_values.update(connection.secret_values())

    def secrets_of(name: str) -> list[str]:
        return secret_env_names(services[name].secrets, services[name].uses, connections)

    # Secret Manager is the record of every secret; the app reads the same values from its
    # Kubernetes Secret (KubernetesApp), and each workload's Google identity may read its own.
    store = SecretManagerStore(
        "secrets",
        SecretManagerStoreArgs(
            context=context,
            project=project,
            values=store_values,
            access=[SecretAccess(key=name, member=accounts.members[name], secrets=secrets_of(name)) for name in services],
            depends_on=apis.needs("secretmanager.googleapis.com"),
        ),
    )

    # --- app --------------------------------------------------------------------------------
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
        ),
        opts=on_cluster,
    )

    # --- edge -------------------------------------------------------------------------------
    armor = CloudArmorPolicy(
        "edge-armor",
        CloudArmorPolicyArgs(
            context=context,
            project=project,
            adaptive_protection=cfg.is_production,
            rules_enabled=cfg.edge.waf,
            depends_on=apis.needs("compute.googleapis.com"),
        ),
    )
    edge = GkeIngress(
        "edge",
        GkeIngressArgs(context, namespace.name, app.services, security_policy=armor.policy.name),
        opts=on_cluster,
    )

    # --- DR ---------------------------------------------------------------------------------
    bucket_name = f"{project}-{context.stack}-backups".lower()[:63].rstrip("-")
    writers = []
    exports = None
    if postgres is not None:
        writers = [
            BucketWriter(key="backup-workflow", member=accounts.members["backup"], role="roles/storage.objectUser"),
            BucketWriter(
                key="cloudsql",
                member=postgres.instance.service_account_email_address.apply(lambda e: f"serviceAccount:{e}"),
                role="roles/storage.objectCreator",
            ),
        ]
    backups = GcpBackupBucket(
        "backups",
        GcpBackupBucketArgs(
            context=context,
            project=project,
            name=bucket_name,
            location=gcfg.backup_location or multi_region_of(primary),
            writers=writers,
            depends_on=apis.needs("storage.googleapis.com"),
        ),
    )
    if postgres is not None:
        exports = ScheduledBackupExports(
            "backup-exports",
            ScheduledBackupExportsArgs(
                context=context,
                project=project,
                region=primary,
                bucket_name=bucket_name,
                service_account_email=accounts.emails["backup"],
                postgres=(postgres.instance_name, "app"),
                depends_on=apis.needs("workflows.googleapis.com", "cloudscheduler.googleapis.com"),
            ),
        )
    if "mongodb" in in_cluster:
        KubernetesBackups(
            "backups-in-cluster",
            KubernetesBackupsArgs(
                context, namespace.name, {"mongodb": connections["mongodb"]}, storage_class=storage.storage_class
            ),
            opts=on_cluster,
        )
    gke_backup = GkeBackup(
        "gke-backup",
        GkeBackupArgs(
            context,
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
            KubernetesMonitoringArgs(context, namespace.name, services, ingress_class=None),
            opts=on_cluster,
        )
        outputs["grafanaUrl"] = k8s_monitoring.grafana_url
        monitoring_apis = ["monitoring.googleapis.com", "logging.googleapis.com"]
        if cfg.monitoring.budgets.billing_account:
            monitoring_apis.append("billingbudgets.googleapis.com")
        CloudMonitoring(
            "cloud-monitoring",
            CloudMonitoringArgs(
                context=context,
                project=project,
                uptime_targets=[
                    UptimeTarget(key=name, host=cfg.host(svc.route), path=svc.health_path or "/")
                    for name, svc in routed.items()
                ],
                provided_secrets=context.provided_secrets,
                cloud_run=False,  # pod CPU/memory/restarts are alerted by kube-prometheus-stack
                cloud_sql_instances=[postgres.instance_name] if postgres else [],
                redis_instances=[redis.instance_name] if redis else [],
                postgres_max_connections=gcfg.postgres_max_connections,
                backup_freshness_query=exports.freshness_query if exports else None,
                log_resource_filter=f'resource.type="k8s_container" AND resource.labels.namespace_name="{namespace_name}"',
                depends_on=apis.needs(*monitoring_apis),
            ),
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
            ),
            "namespace": namespace.name,
            "urls": {name: f"https://{host}" for name, host in hosts.items()},
            "ingressIp": edge.address,
            "dnsRecords": edge.address.apply(
                lambda ip: [{"name": host, "type": "A", "value": ip} for host in hosts.values()]
            ),
            "secretIds": {name: secret.secret_id for name, secret in store.secrets.items()},
            "postgres": {
                "instance": postgres.instance_name,
                "connectionName": postgres.connection_name,
                "replica": postgres.replica_name,
            }
            if postgres
            else None,
            "backupBucket": backups.bucket_name,
            "gkeBackupPlans": {tier: plan.name for tier, plan in gke_backup.plans.items()},
        }
    )
    return outputs
