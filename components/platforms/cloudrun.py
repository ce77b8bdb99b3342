"""`platform: cloudrun` - the platform on Cloud Run with managed data services (staging, prod).

Wires, in data-flow order (no ordering beyond what the data and the API preconditions need, so
Cloud SQL, Memorystore, Firestore and the RabbitMQ VM are created in parallel):

  project APIs + service accounts -> VPC (subnet per region, Private Service Access, NAT, firewall)
  -> app secrets (provided + generated) -> Cloud SQL (+ cross-region replica), Memorystore,
  Firestore (MongoDB compatible), RabbitMQ VM -> Secret Manager (every app secret, generated
  password and data-service URL; per-service accessor bindings) -> Cloud Run services per region
  (worker as a worker pool) -> Cloud Armor + global external ALB -> backup bucket + scheduled
  exports -> Cloud Monitoring -> stack outputs (URLs, DNS records, DR report and runbook).

`regions.secondary` (prod) adds: a second subnet, every service in the second region behind the
same load balancer, the Cloud SQL cross-region replica and a multi-region Firestore location.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.config import ConfigError, StackContext
from components.gcp import project_id
from components.data.connection import DataConnection, secret_env_names
from components.secrets.app_secrets import AppSecrets, AppSecretsArgs

POSTGRES_PASSWORD_ENV = "POSTGRES_PASSWORD"


def required_apis(context: StackContext) -> list[str]:
    cfg = context.config
    data = cfg.data
    apis = [
        "cloudresourcemanager.googleapis.com",
        "iam.googleapis.com",
        "compute.googleapis.com",
        "servicenetworking.googleapis.com",
        "run.googleapis.com",
        "secretmanager.googleapis.com",
        "monitoring.googleapis.com",
        "logging.googleapis.com",
        "cloudtrace.googleapis.com",
        "storage.googleapis.com",
        "workflows.googleapis.com",
        "cloudscheduler.googleapis.com",
    ]
    if data.postgres.enabled:
        apis.append("sqladmin.googleapis.com")
    if data.redis.enabled:
        apis.append("redis.googleapis.com")
    if data.mongodb.enabled:
        apis.append("firestore.googleapis.com")
    if cfg.monitoring.enabled and cfg.monitoring.budgets.billing_account:
        apis.append("billingbudgets.googleapis.com")
    return apis


def validate(context: StackContext) -> None:
    """Platform-specific checks, before anything is registered: one ConfigError naming every problem."""
    from components.app.cloudrun import RESERVED_ENV, cloud_run_size

    cfg = context.config
    problems: list[str] = []
    if cfg.is_production and not cfg.gcp.deletion_protection:
        problems.append(
            "ai-assistant-platform:gcp.deletionProtection = False: production data services always keep deletion protection"
        )
    for name, svc in cfg.enabled_services.items():
        try:
            cloud_run_size(svc.cpu, svc.memory, svc.concurrency, whole_cpus_only=svc.kind == "worker")
        except ConfigError as err:
            problems.append(f"ai-assistant-platform:services.{name}: {err}")
        reserved = sorted(RESERVED_ENV & (set(cfg.settings) | set(svc.env)))
        if reserved:
            problems.append(
                f"ai-assistant-platform:services.{name}: {reserved} are set by Cloud Run itself; rename them"
            )
    routed = {n for n, s in cfg.enabled_services.items() if s.route is not None}
    for name in cfg.gcp.cdn_services:
        if name not in routed:
            problems.append(
                f"ai-assistant-platform:gcp.cdnServices: '{name}' is not an enabled service with a route "
                f"(routed: {sorted(routed)})"
            )
    if problems:
        raise ConfigError(
            f"Pulumi.{context.stack}.yaml: invalid configuration; nothing was created.\n"
            + "\n".join(f"  {p}" for p in problems)
        )


def build(context: StackContext) -> dict[str, Any]:
    validate(context)
    project = project_id(context)

    # Provider SDK imports stay here: a Kubernetes stack never pays for them.
    from components.gcp import SDK_MODULES
    from components.sdk import load_sdk

    load_sdk("pulumi_gcp", SDK_MODULES)
    import pulumi_gcp as gcp

    from components.app.cloudrun import CloudRunService, CloudRunServiceArgs, Invoker
    from components.data.cloudsql import CloudSqlPostgres, CloudSqlPostgresArgs
    from components.data.firestore import FirestoreMongo, FirestoreMongoArgs
    from components.data.memorystore import MemorystoreRedis, MemorystoreRedisArgs
    from components.data.rabbitmq_vm import RabbitMqVm, RabbitMqVmArgs, snapshot_interval_hours
    from components.dr.gcp import (
        BucketWriter,
        GcpBackupBucket,
        GcpBackupBucketArgs,
        ScheduledBackupExports,
        ScheduledBackupExportsArgs,
        failover_report,
    )
    from components.edge.gcp_armor import CloudArmorPolicy, CloudArmorPolicyArgs
    from components.edge.gcp_lb import GlobalLoadBalancer, GlobalLoadBalancerArgs, LbBackend
    from components.gcp import firestore_multi_region_of, multi_region_of
    from components.gcp.project import (
        TELEMETRY_ROLES,
        VM_AGENT_ROLES,
        ProjectApis,
        ProjectApisArgs,
        ServiceAccounts,
        ServiceAccountsArgs,
        WorkloadIdentity,
    )
    from components.monitoring.gcp import CloudMonitoring, CloudMonitoringArgs, UptimeTarget
    from components.network.gcp import GcpNetwork, GcpNetworkArgs
    from components.secrets.gcp import SecretAccess, SecretManagerStore, SecretManagerStoreArgs

    cfg = context.config
    gcfg = cfg.gcp
    primary = cfg.regions.primary
    secondary = cfg.regions.secondary
    regions = [primary] + ([secondary] if secondary else [])
    services = cfg.enabled_services
    data = cfg.data
    protect_data = gcfg.deletion_protection

    # --- project ----------------------------------------------------------------------------
    apis = ProjectApis("project", ProjectApisArgs(context=context, project=project, apis=required_apis(context)))
    identities = [
        WorkloadIdentity(name=name, description=f"Cloud Run {svc.kind} {name}", roles=TELEMETRY_ROLES)
        for name, svc in services.items()
    ]
    if data.rabbitmq.enabled:
        identities.append(WorkloadIdentity(name="rabbitmq", description="RabbitMQ VM", roles=VM_AGENT_ROLES))
    backup_roles = ["roles/workflows.invoker", "roles/logging.logWriter"]
    if data.postgres.enabled:
        backup_roles.append("roles/cloudsql.viewer")  # includes cloudsql.instances.export
    if data.mongodb.enabled:
        backup_roles.append("roles/datastore.importExportAdmin")
    identities.append(WorkloadIdentity(name="backup", description="backup export workflow", roles=tuple(backup_roles)))
    accounts = ServiceAccounts(
        "identities",
        ServiceAccountsArgs(
            context=context,
            project=project,
            identities=identities,
            depends_on=apis.needs("iam.googleapis.com", "cloudresourcemanager.googleapis.com"),
        ),
    )

    # --- network ----------------------------------------------------------------------------
    cidrs = {primary: gcfg.network_cidr}
    if secondary:
        cidrs[secondary] = gcfg.secondary_network_cidr
    network = GcpNetwork(
        "network",
        GcpNetworkArgs(
            context=context,
            project=project,
            subnets=cidrs,
            private_service_cidr=gcfg.private_service_cidr,
            depends_on=apis.needs("compute.googleapis.com", "servicenetworking.googleapis.com"),
        ),
    )

    # --- secrets and data -------------------------------------------------------------------
    app_secrets = AppSecrets("app-secrets", AppSecretsArgs(context=context))
    store_values: dict[str, pulumi.Input[str]] = dict(app_secrets.values)
    connections: dict[str, DataConnection] = {}
    postgres = redis = firestore = rabbitmq = None
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
                deletion_protection=protect_data,
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
                deletion_protection=protect_data,
                peer_cidr=gcfg.private_service_cidr,
                depends_on=apis.needs("redis.googleapis.com"),
            ),
        )
        connections["redis"] = redis.connection
    firestore_location = None
    if data.mongodb.enabled:
        firestore_location = gcfg.firestore_location or (firestore_multi_region_of(primary) if secondary else primary)
        firestore = FirestoreMongo(
            "mongodb",
            FirestoreMongoArgs(
                context=context,
                project=project,
                settings=data.mongodb,
                location=firestore_location,
                deletion_protection=protect_data,
                depends_on=apis.needs("firestore.googleapis.com"),
            ),
        )
        connections["mongodb"] = firestore.connection
    if data.rabbitmq.enabled:
        rabbitmq = RabbitMqVm(
            "rabbitmq",
            RabbitMqVmArgs(
                context=context,
                project=project,
                settings=data.rabbitmq,
                region=primary,
                network=network,
                client_ranges=list(cidrs.values()),
                service_account_email=accounts.emails["rabbitmq"],
                service_account_member=accounts.members["rabbitmq"],
                allow_iap_ssh=gcfg.allow_iap_ssh,
                deletion_protection=protect_data,
                depends_on=apis.needs("compute.googleapis.com", "secretmanager.googleapis.com"),
            ),
        )
        connections["rabbitmq"] = rabbitmq.connection
    for connection in connections.values():
        store_values.update(connection.secret_values())

    def secrets_of(name: str) -> list[str]:
        return secret_env_names(services[name].secrets, services[name].uses, connections)

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

    # --- app: Cloud Run per region ----------------------------------------------------------
    internal = [n for n, s in services.items() if s.kind == "web" and s.route is None]
    ordered = internal + [n for n in services if n not in internal]
    run: dict[str, dict[str, CloudRunService]] = {name: {} for name in services}
    for region in regions:
        for name in ordered:
            svc = services[name]
            plain_env: dict[str, pulumi.Input[str]] = {**cfg.settings, **svc.env}
            for other in internal:
                if other != name:
                    plain_env[f"{other.upper().replace('-', '_')}_ENDPOINT"] = run[other][region].uri
            run[name][region] = CloudRunService(
                f"{name}-{region}",
                CloudRunServiceArgs(
                    context=context,
                    project=project,
                    service_name=name,
                    service=svc,
                    region=region,
                    service_account_email=accounts.emails[name],
                    network=network.network.id,
                    subnetwork=network.subnets[region].id,
                    secret_env={env: store.ref(env) for env in secrets_of(name)},
                    plain_env=plain_env,
                    invokers=[Invoker(key=o, member=accounts.members[o]) for o in services if o != name]
                    if name in internal
                    else (),
                    depends_on=[*store.bindings[name], *apis.needs("run.googleapis.com")],
                ),
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
    routed = {n: s for n, s in services.items() if s.route is not None}
    lb = GlobalLoadBalancer(
        "edge-lb",
        GlobalLoadBalancerArgs(
            context=context,
            project=project,
            backends=[
                LbBackend(
                    key=name,
                    hosts=[cfg.host(svc.route)],
                    paths=list(svc.route.paths),
                    cloud_run_services={region: run[name][region].resource.name for region in regions},
                    cdn=cfg.edge.cdn and name in gcfg.cdn_services,
                )
                for name, svc in routed.items()
            ],
            security_policy=armor.policy.self_link,
            ssl_policy_profile=gcfg.ssl_policy_profile,
            depends_on=apis.needs("compute.googleapis.com"),
        ),
    )

    # --- DR: backup bucket and scheduled exports ---------------------------------------------
    bucket_name = f"{project}-{context.stack}-backups".lower()[:63].rstrip("-")
    writers = [BucketWriter(key="backup-workflow", member=accounts.members["backup"], role="roles/storage.objectUser")]
    if postgres:
        writers.append(
            BucketWriter(
                key="cloudsql",
                member=postgres.instance.service_account_email_address.apply(lambda e: f"serviceAccount:{e}"),
                role="roles/storage.objectCreator",
            )
        )
    if firestore:
        number = gcp.organizations.get_project_output(project_id=project).number
        # Firestore's service agent exists once the API has served a database: bind it after that.
        agent = pulumi.Output.all(number, firestore.database.name).apply(
            lambda v: f"serviceAccount:service-{v[0]}@gcp-sa-firestore.iam.gserviceaccount.com"
        )
        writers += [
            BucketWriter(key="firestore", member=agent, role="roles/storage.objectAdmin"),
            BucketWriter(key="firestore", member=agent, role="roles/storage.legacyBucketReader"),
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
    exports = ScheduledBackupExports(
        "backup-exports",
        ScheduledBackupExportsArgs(
            context=context,
            project=project,
            region=primary,
            bucket_name=bucket_name,
            service_account_email=accounts.emails["backup"],
            postgres=(postgres.instance_name, "app") if postgres else None,
            firestore_database=firestore.database_name if firestore else None,
            depends_on=apis.needs("workflows.googleapis.com", "cloudscheduler.googleapis.com"),
        ),
    )

    # --- monitoring -------------------------------------------------------------------------
    if cfg.monitoring.enabled:
        monitoring_apis = ["monitoring.googleapis.com", "logging.googleapis.com"]
        if cfg.monitoring.budgets.billing_account:
            monitoring_apis.append("billingbudgets.googleapis.com")
        CloudMonitoring(
            "monitoring",
            CloudMonitoringArgs(
                context=context,
                project=project,
                uptime_targets=[
                    UptimeTarget(key=name, host=cfg.host(svc.route), path=svc.health_path or "/")
                    for name, svc in routed.items()
                ],
                provided_secrets=context.provided_secrets,
                cloud_run=True,
                cloud_sql_instances=[postgres.instance_name] if postgres else [],
                redis_instances=[redis.instance_name] if redis else [],
                postgres_max_connections=gcfg.postgres_max_connections,
                backup_freshness_query=exports.freshness_query,
                depends_on=apis.needs(*monitoring_apis),
            ),
        )

    # --- outputs ----------------------------------------------------------------------------
    hosts = {name: cfg.host(svc.route) for name, svc in routed.items()}
    report = failover_report(
        cfg,
        prefix=context.prefix,
        postgres_replica=postgres.replica_name if postgres else None,
        firestore_location=firestore_location,
        redis_instance=redis.instance_name if redis else None,
        rabbitmq_disk=f"{context.prefix}-rabbitmq-data" if rabbitmq else None,
        rabbitmq_snapshot_minutes=snapshot_interval_hours(cfg.dr.rpo_minutes) * 60 if rabbitmq else None,
        backup_bucket=bucket_name,
    )
    return {
        "platform": "cloudrun",
        "project": project,
        "regions": regions,
        "urls": {name: f"https://{host}" for name, host in hosts.items()},
        "loadBalancerIp": lb.ip_address,
        "dnsRecords": lb.dns_records,
        "cloudRunServices": {
            name: {region: (svc.uri if svc.uri is not None else svc.physical_name) for region, svc in by_region.items()}
            for name, by_region in run.items()
        },
        "secretIds": {name: secret.secret_id for name, secret in store.secrets.items()},
        "postgres": {
            "instance": postgres.instance_name,
            "connectionName": postgres.connection_name,
            "replica": postgres.replica_name,
        }
        if postgres
        else None,
        "backupBucket": backups.bucket_name,
        "dr": report,
    }
