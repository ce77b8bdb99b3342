"""The GCP wiring the `cloudrun` and `gke` platforms share.

Both platforms run in one GCP project on the same foundation, managed data services, secret
store, edge protection, monitoring and backups; they differ in the app layer (Cloud Run services
or workloads on a GKE cluster), the edge in front of it (a global ALB or a GKE Ingress) and where
MongoDB and RabbitMQ live (Firestore and a VM, or StatefulSets). What both build the same way is
built here once, with the same logical names, so a fix reaches both platforms:

- `backup_identity`: the backup export workflow's service account and the roles its exports need;
- `build_foundation` -> `GcpFoundation`: project APIs, one service account per workload, the VPC;
- `cloud_sql_and_memorystore`: Cloud SQL (+ cross-region replica) and Memorystore on Private
  Service Access, with the stack's deletion protection, and their connections
  (`managed_connections`);
- `secret_store`: Secret Manager with every app secret, generated password and data-service URL,
  each workload's identity allowed to read only the secrets it uses (`service_secrets`);
- `edge_armor`: the Cloud Armor policy (adaptive protection in production; the Cloud Armor tier
  of `gcp.cloudArmorTier`);
- `backups`: the tiered backup bucket, who may write into it, and the scheduled exports;
- `cloud_monitoring`: uptime checks of the routed hosts and alerts on the managed data services;
- `postgres_outputs`: the Cloud SQL stack output.

Every resource waits for the APIs it calls (`ProjectApis.needs`) and for nothing else, so the
slow ones (Cloud SQL, Memorystore, a cluster) are created in parallel. The platforms import this
module after `load_sdk`, like every module that uses pulumi_gcp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pulumi

from components.config import ServiceConfig, StackConfig, StackContext
from components.data.cloudsql import CloudSqlPostgres, CloudSqlPostgresArgs
from components.data.connection import DataConnection, secret_env_names
from components.data.registry import backed_by, hosted_connections
from components.data.firestore import FirestoreMongo
from components.data.memorystore import MemorystoreRedis, MemorystoreRedisArgs
from components.dr.gcp import (
    BucketWriter,
    GcpBackupBucket,
    GcpBackupBucketArgs,
    ScheduledBackupExports,
    ScheduledBackupExportsArgs,
)
from components.edge.gcp_armor import CloudArmorPolicy, CloudArmorPolicyArgs
from components.data.gcp_placement import backup_location, cloud_sql_slots, redis_region
from components.gcp.project import ProjectApis, ProjectApisArgs, ServiceAccounts, ServiceAccountsArgs, WorkloadIdentity
from components.monitoring.gcp import CloudMonitoring, CloudMonitoringArgs, UptimeTarget
from components.naming import bounded
from components.network.gcp import GcpNetwork, GcpNetworkArgs
from components.secrets.app_secrets import AppSecrets
from components.secrets.gcp import SecretAccess, SecretManagerStore, SecretManagerStoreArgs

POSTGRES_PASSWORD_ENV = "POSTGRES_PASSWORD"
FIRESTORE_API = "firestore.googleapis.com"
POSTGRES_DATABASE = "app"  # the database CloudSqlPostgres creates, which the exports dump


def backup_identity(*, postgres: bool) -> WorkloadIdentity:
    """The backup export workflow's service account: it runs the workflow, writes its logs and
    starts the export of each database the stack has."""
    roles = ["roles/workflows.invoker", "roles/logging.logWriter"]
    if postgres:
        roles.append("roles/cloudsql.viewer")  # includes cloudsql.instances.export
    # Firestore: an export-only custom role, created with the exports (components/dr/gcp.py);
    # roles/datastore.importExportAdmin could also import over production data
    return WorkloadIdentity(name="backup", description="backup export workflow", roles=tuple(roles))


@dataclass(frozen=True)
class GcpFoundation:
    """What the rest of a GCP platform is built on: the project's APIs, the workloads' service
    accounts and the VPC."""

    context: StackContext
    project: str
    apis: ProjectApis
    accounts: ServiceAccounts
    network: GcpNetwork

    @property
    def config(self) -> StackConfig:
        return self.context.config


def build_foundation(
    context: StackContext,
    project: str,
    *,
    apis: Sequence[str],
    identities: Sequence[WorkloadIdentity],
    subnets: Mapping[str, str],
    allow_health_checks: bool = False,
    agents: Sequence[str] = (),
) -> GcpFoundation:
    """Enables `apis`, creates a service account per identity (once IAM and Cloud Resource Manager,
    which its project role bindings call, are enabled) and
    the VPC with a subnet per region of `subnets` (region -> CIDR, primary first), Private Service
    Access, NAT and the firewall (`allow_health_checks`: Google's health checkers may reach the
    workloads). `agents`: the APIs whose service agents the platform grants roles to."""
    project_apis = ProjectApis(
        "project", ProjectApisArgs(context=context, project=project, apis=apis, agents=agents)
    )
    accounts = ServiceAccounts(
        "identities",
        ServiceAccountsArgs(
            context=context,
            project=project,
            identities=identities,
            depends_on=project_apis.needs("iam.googleapis.com", "cloudresourcemanager.googleapis.com"),
        ),
    )
    network = GcpNetwork(
        "network",
        GcpNetworkArgs(
            context=context,
            project=project,
            subnets=subnets,
            private_service_cidr=context.config.gcp.private_service_cidr,
            allow_health_checks=allow_health_checks,
            depends_on=project_apis.needs("compute.googleapis.com", "servicenetworking.googleapis.com"),
        ),
    )
    return GcpFoundation(context=context, project=project, apis=project_apis, accounts=accounts, network=network)


def cloud_sql_and_memorystore(
    foundation: GcpFoundation,
) -> tuple[Optional[CloudSqlPostgres], Optional[MemorystoreRedis]]:
    """The data services the registry runs on Cloud SQL (PostgreSQL) and Memorystore (Redis) on
    this platform, when enabled, where `gcp.cloudSql` and `gcp.redisRegion` pin them (default: the
    primary region, the Cloud SQL replica in the secondary one), on the VPC through Private
    Service Access."""
    cfg = foundation.config
    gcfg = cfg.gcp
    data = cfg.data
    network = foundation.network
    # Both sit on the VPC through Private Service Access with the stack's deletion protection;
    # workloads reach them from the Private Service Access range.
    placement: dict[str, Any] = dict(
        context=foundation.context,
        project=foundation.project,
        network=network.network.id,
        private_service_access=network.private_service_access,
        deletion_protection=gcfg.deletion_protection,
        peer_cidr=gcfg.private_service_cidr,
    )
    postgres = redis = None
    # placed by role, pinned (gcp.cloudSql, gcp.redisRegion): a swap of regions.primary/secondary moves neither
    primary, replica = cloud_sql_slots(cfg)
    for name in backed_by(cfg, "CloudSqlPostgres"):
        postgres = CloudSqlPostgres(
            name,
            CloudSqlPostgresArgs(
                **placement,
                settings=getattr(data, name),
                region=primary.region,
                instance=primary.instance,
                replica_region=replica.region if replica else None,
                replica_instance=replica.instance if replica else None,
                max_connections=gcfg.postgres_max_connections,
                depends_on=foundation.apis.needs("sqladmin.googleapis.com"),
            ),
        )
    for name in backed_by(cfg, "MemorystoreRedis"):
        redis = MemorystoreRedis(
            name,
            MemorystoreRedisArgs(
                **placement,
                settings=getattr(data, name),
                region=redis_region(cfg),
                depends_on=foundation.apis.needs("redis.googleapis.com"),
            ),
        )
    return postgres, redis


def managed_connections(
    postgres: Optional[CloudSqlPostgres], redis: Optional[MemorystoreRedis]
) -> dict[str, DataConnection]:
    """The connections of the managed data services, by data service; the platform adds its own."""
    return {c.connection.service: c.connection for c in (postgres, redis) if c is not None}


def with_hosted(config: StackConfig, connections: Mapping[str, DataConnection]) -> dict[str, DataConnection]:
    """`connections` plus those of the data services hosted on another's backend (the vector
    database as pgvector in Cloud SQL: its clients get the PostgreSQL URL as VECTOR_DB_URL)."""
    return {**connections, **hosted_connections(config, connections)}


def service_secrets(config: StackConfig, name: str, connections: Mapping[str, DataConnection]) -> list[str]:
    """The secret env names service `name` reads: its own secrets and those of the data it uses."""
    svc = config.enabled_services[name]
    return secret_env_names(svc.secrets, svc.uses, connections)


def secret_store(
    foundation: GcpFoundation,
    app_secrets: AppSecrets,
    postgres: Optional[CloudSqlPostgres],
    connections: Mapping[str, DataConnection],
) -> SecretManagerStore:
    """Secret Manager holding every app secret, the PostgreSQL password and each connection's
    secrets (URLs, CA certificates); each service's identity may read only its own."""
    values: dict[str, pulumi.Input[str]] = dict(app_secrets.values)
    if postgres is not None:
        values[POSTGRES_PASSWORD_ENV] = postgres.password
    for connection in connections.values():
        values.update(connection.secret_values())
    cfg = foundation.config
    return SecretManagerStore(
        "secrets",
        SecretManagerStoreArgs(
            context=foundation.context,
            project=foundation.project,
            values=values,
            access=[
                SecretAccess(
                    key=name,
                    member=foundation.accounts.members[name],
                    secrets=service_secrets(cfg, name, connections),
                )
                for name in cfg.enabled_services
            ],
            depends_on=foundation.apis.needs("secretmanager.googleapis.com"),
        ),
    )


def edge_armor(foundation: GcpFoundation) -> CloudArmorPolicy:
    """The Cloud Armor policy of the public edge: WAF rules when `edge.waf`, rate limits always,
    adaptive protection in production."""
    cfg = foundation.config
    return CloudArmorPolicy(
        "edge-armor",
        CloudArmorPolicyArgs(
            context=foundation.context,
            project=foundation.project,
            adaptive_protection=cfg.is_production,
            rules_enabled=cfg.edge.waf,
            tier=cfg.gcp.cloud_armor_tier,
            depends_on=foundation.apis.needs("compute.googleapis.com"),
        ),
    )


def backups(
    foundation: GcpFoundation,
    *,
    exports: bool,
    postgres: Optional[CloudSqlPostgres],
    firestore: Optional[FirestoreMongo] = None,
) -> tuple[GcpBackupBucket, Optional[ScheduledBackupExports]]:
    """The tiered backup bucket `<project>-<stack>-backups` and, with `exports` (the platform
    created `backup_identity`), the scheduled export of the databases into it.

    Writers: the backup workflow (it copies exports between tiers), the Cloud SQL instance's
    service account (it writes the SQL export) and Firestore's service agent (it writes the export
    and lists the bucket)."""
    cfg = foundation.config
    project = foundation.project
    accounts = foundation.accounts
    # global namespace: the GCP project id and the full stack name; dots would make it a domain name
    bucket_name = bounded(f"{project}-{foundation.context.stack_token}-backups", 63)
    writers: list[BucketWriter] = []
    if exports:
        writers.append(
            BucketWriter(key="backup-workflow", member=accounts.members["backup"], role="roles/storage.objectUser")
        )
    if postgres is not None:
        writers.append(
            BucketWriter(
                key="cloudsql",
                member=postgres.instance.service_account_email_address.apply(lambda e: f"serviceAccount:{e}"),
                role="roles/storage.objectCreator",
            )
        )
    if firestore is not None:
        # Firestore's service agent writes the export (generated, not derived from a getProject)
        agent = foundation.apis.agent(FIRESTORE_API).member
        writers += [
            BucketWriter(key="firestore", member=agent, role="roles/storage.objectAdmin"),
            BucketWriter(key="firestore", member=agent, role="roles/storage.legacyBucketReader"),
        ]
    bucket = GcpBackupBucket(
        "backups",
        GcpBackupBucketArgs(
            context=foundation.context,
            project=project,
            name=bucket_name,
            location=backup_location(cfg),
            # a non-prod stack being torn down (prod refuses deletionProtection: false)
            teardown=not cfg.gcp.deletion_protection,
            writers=writers,
            depends_on=foundation.apis.needs("storage.googleapis.com"),
        ),
    )
    scheduled = None
    if exports:
        scheduled = ScheduledBackupExports(
            "backup-exports",
            ScheduledBackupExportsArgs(
                context=foundation.context,
                project=project,
                region=cfg.regions.primary,
                bucket_name=bucket_name,
                service_account_email=accounts.emails["backup"],
                postgres=(postgres.instance_name, POSTGRES_DATABASE) if postgres is not None else None,
                firestore_database=firestore.database_name if firestore is not None else None,
                depends_on=foundation.apis.needs(
                    "workflows.googleapis.com", "cloudscheduler.googleapis.com", "iam.googleapis.com"
                ),
            ),
        )
    return bucket, scheduled


def cloud_monitoring(
    foundation: GcpFoundation,
    name: str,
    *,
    routed: Mapping[str, ServiceConfig],
    postgres: Optional[CloudSqlPostgres],
    redis: Optional[MemorystoreRedis],
    exports: Optional[ScheduledBackupExports],
    cloud_run: bool,
    log_resource_filter: Optional[str] = None,
) -> CloudMonitoring:
    """Cloud Monitoring: an uptime check per routed host, alerts on Cloud SQL, Memorystore and
    backup age, the AI token metric, the dashboard and (with a billing account) budgets.
    `cloud_run`: the Cloud Run request/latency/CPU/memory alerts too."""
    cfg = foundation.config
    monitoring_apis = ["monitoring.googleapis.com", "logging.googleapis.com"]
    if cfg.monitoring.budgets.billing_account:
        # the budget filter's project number comes from getProject (Cloud Resource Manager)
        monitoring_apis += ["billingbudgets.googleapis.com", "cloudresourcemanager.googleapis.com"]
    return CloudMonitoring(
        name,
        CloudMonitoringArgs(
            context=foundation.context,
            project=foundation.project,
            uptime_targets=[
                UptimeTarget(key=key, host=cfg.host(svc.route), path=svc.health_path or "/")
                for key, svc in routed.items()
            ],
            provided_secrets=foundation.context.provided_secrets,
            cloud_run=cloud_run,
            cloud_sql_instances=[postgres.instance_name] if postgres else [],
            redis_instances=[redis.instance_name] if redis else [],
            postgres_max_connections=cfg.gcp.postgres_max_connections,
            backup_freshness_query=exports.freshness_query if exports else None,
            log_resource_filter=log_resource_filter,
            depends_on=foundation.apis.needs(*monitoring_apis),
        ),
    )


def managed_outputs(postgres: Optional[CloudSqlPostgres]) -> dict[str, Any]:
    """The stack outputs of the managed data services: the Cloud SQL one's under its data
    service's name (`postgres`, see `postgres_outputs`); none when it is off."""
    return {postgres.connection.service: postgres_outputs(postgres)} if postgres is not None else {}


def postgres_outputs(postgres: Optional[CloudSqlPostgres]) -> Optional[dict[str, Any]]:
    """The `postgres` stack output: instance, connection name (Cloud SQL Auth Proxy) and replica."""
    if postgres is None:
        return None
    return {
        "instance": postgres.instance_name,
        "connectionName": postgres.connection_name,
        "replica": postgres.replica_name,
    }
