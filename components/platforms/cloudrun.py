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
same load balancer and the Cloud SQL cross-region replica. (Firestore's location is the pinned
`gcp.firestoreLocation`, multi-region in prod: adding a DR region must not replace the database.)

The parts the `gke` platform builds the same way (project, network, Cloud SQL, Memorystore,
Secret Manager, Cloud Armor, backups, Cloud Monitoring) come from `gcp_wiring`; this module adds
what only Cloud Run has: Firestore, the RabbitMQ VM, the Cloud Run services and their load balancer.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.config import Problem, StackConfig, StackContext
from components.data.registry import backed_by
from components.gcp import gcp_problems, project_id, shared_apis
from components.platforms.limits import cloud_run_problems
from components.secrets.app_secrets import AppSecrets, AppSecretsArgs


def required_apis(context: StackContext) -> list[str]:
    """The shared GCP APIs, Cloud Run, the backup export workflow's Workflows and Scheduler (the
    exports always run here), and Firestore when MongoDB is on."""
    apis = shared_apis(context) + [
        "run.googleapis.com",
        "certificatemanager.googleapis.com",  # the load balancer's per-host certificates
        "workflows.googleapis.com",
        "cloudscheduler.googleapis.com",
    ]
    if backed_by(context.config, "FirestoreMongo"):
        apis.append("firestore.googleapis.com")
    from components.dr.restore_test_gcp import restore_test_apis

    apis += [api for api in restore_test_apis(context.config) if api not in apis]
    if any(svc.calls for svc in context.config.enabled_services.values()):
        apis.append("dns.googleapis.com")  # the private run.app zone (service-to-service calls)
    return apis


def deterministic_url(service: str, project_number: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """`https://<service>-<project number>.<region>.run.app`: the URL Cloud Run gives a service
    whose name and project number fit one DNS label (63 characters; Cloud Run names are at most 49,
    project numbers 12 digits). It is known before the service exists, unlike `uri` (the hash-based
    `*.a.run.app` URL, an output), so a caller does not wait for its callee and two services may
    call each other. Cloud Run accepts an ID token whose audience is either of its URLs."""
    return pulumi.Output.concat("https://", service, "-", project_number, ".", region, ".run.app")


def problems(config: StackConfig) -> list[Problem]:
    """What Cloud Run refuses in a config whose schema is valid, before anything is registered (the
    data backends' problems come from the registry, components/data/registry.py)."""
    from components.app.cloudrun import RESERVED_ENV

    found = gcp_problems(config)
    for name, svc in config.enabled_services.items():
        path = f"services.{name}"
        found += cloud_run_problems(path, svc.cpu, svc.memory, svc.concurrency, worker=svc.kind == "worker")
        plain = set(config.settings) | set(svc.env)
        for env in sorted(RESERVED_ENV & plain):
            found.append(Problem(f"{path}.env", env, "is set by Cloud Run itself; rename it"))
        for callee in svc.calls:
            endpoint = f"{callee.upper().replace('-', '_')}_ENDPOINT"
            if endpoint in plain:
                found.append(Problem(f"{path}.env", endpoint, f"is set by the platform (the URL of {callee}, in calls); rename it"))
    routed = {n for n, s in config.enabled_services.items() if s.route is not None}
    for name in config.gcp.cdn_services:
        if name not in routed:
            found.append(Problem("gcp.cdnServices", name, f"is not an enabled service with a route (routed: {sorted(routed)})"))
    return found


def build(context: StackContext) -> dict[str, Any]:
    project = project_id(context)

    # Provider SDK imports stay here: a Kubernetes stack never pays for them.
    from components.gcp import SDK_MODULES
    from components.sdk import load_sdk

    load_sdk("pulumi_gcp", SDK_MODULES)
    import pulumi_gcp as gcp

    from components.app.cloudrun import CloudRunService, CloudRunServiceArgs, Invoker
    from components.data.firestore import FirestoreMongo, FirestoreMongoArgs
    from components.data.rabbitmq_vm import RabbitMqVm, RabbitMqVmArgs, recovery_minutes, snapshot_interval_hours
    from components.dr.gcp import failover_report
    from components.dr.restore_test_gcp import restore_tests
    from components.edge.gcp_lb import GlobalLoadBalancer, GlobalLoadBalancerArgs, LbBackend
    from components.data.gcp_placement import firestore_location as pinned_firestore_location
    from components.data.gcp_placement import rabbitmq_zone, region_of_zone, subnet_cidrs
    from components.gcp.project import TELEMETRY_ROLES, VM_AGENT_ROLES, WorkloadIdentity
    from components.network.gcp_run_dns import RunAppPrivateDns, RunAppPrivateDnsArgs
    from components.platforms import gcp_wiring

    cfg = context.config
    gcfg = cfg.gcp
    primary = cfg.regions.primary
    secondary = cfg.regions.secondary
    regions = [primary] + ([secondary] if secondary else [])
    services = cfg.enabled_services
    data = cfg.data
    protect_data = gcfg.deletion_protection

    # --- project and network ----------------------------------------------------------------
    identities = [
        WorkloadIdentity(name=name, description=f"Cloud Run {svc.kind} {name}", roles=TELEMETRY_ROLES)
        for name, svc in services.items()
    ]
    for name in backed_by(cfg, "RabbitMqVm"):
        identities.append(WorkloadIdentity(name=name, description="RabbitMQ VM", roles=VM_AGENT_ROLES))
    identities.append(gcp_wiring.backup_identity(postgres=bool(backed_by(cfg, "CloudSqlPostgres"))))
    cidrs = subnet_cidrs(cfg, regions)  # by region, not by role: a swap of the regions keeps every range
    foundation = gcp_wiring.build_foundation(
        context,
        project,
        apis=required_apis(context),
        identities=identities,
        subnets=cidrs,
        agents=[gcp_wiring.FIRESTORE_API] if backed_by(cfg, "FirestoreMongo") else [],
    )
    apis, accounts, network = foundation.apis, foundation.accounts, foundation.network

    # --- secrets and data -------------------------------------------------------------------
    app_secrets = AppSecrets("app-secrets", AppSecretsArgs(context=context))
    postgres, redis = gcp_wiring.cloud_sql_and_memorystore(foundation)
    connections = gcp_wiring.managed_connections(postgres, redis)
    firestore = rabbitmq = None
    firestore_location = None
    for name in backed_by(cfg, "FirestoreMongo"):
        firestore_location = pinned_firestore_location(cfg)
        firestore = FirestoreMongo(
            name,
            FirestoreMongoArgs(
                context=context,
                project=project,
                settings=getattr(data, name),
                location=firestore_location,
                deletion_protection=protect_data,
                depends_on=apis.needs("firestore.googleapis.com"),
            ),
        )
        connections[name] = firestore.connection
    for name in backed_by(cfg, "RabbitMqVm"):
        rabbitmq = RabbitMqVm(
            name,
            RabbitMqVmArgs(
                context=context,
                project=project,
                settings=getattr(data, name),
                region=region_of_zone(rabbitmq_zone(cfg)),
                zone=rabbitmq_zone(cfg),
                network=network,
                client_ranges=list(cidrs.values()),
                service_account_email=accounts.emails[name],
                service_account_member=accounts.members[name],
                allow_iap_ssh=gcfg.allow_iap_ssh,
                depends_on=apis.needs("compute.googleapis.com", "secretmanager.googleapis.com"),
            ),
        )
        connections[name] = rabbitmq.connection
    connections = gcp_wiring.with_hosted(cfg, connections)
    store = gcp_wiring.secret_store(foundation, app_secrets, postgres, connections)

    def secrets_of(name: str) -> list[str]:
        return gcp_wiring.service_secrets(cfg, name, connections)

    # --- app: Cloud Run per region ----------------------------------------------------------
    # A caller reaches an internal (INTERNAL_ONLY) callee at its run.app URL only through the VPC:
    # the private run.app zone sends those calls over Private Google Access (gcp_run_dns).
    if any(svc.calls for svc in services.values()):
        RunAppPrivateDns(
            "run-app-dns",
            RunAppPrivateDnsArgs(
                context=context,
                project=project,
                network=network.network.id,
                depends_on=apis.needs("dns.googleapis.com", "compute.googleapis.com"),
            ),
        )
    # A caller gets its callee's deterministic URL, known before the callee exists, so any call
    # graph plans and deploys in one `up`, cycles included (see `deterministic_url`).
    number = None
    if any(svc.calls for svc in services.values()):
        number = gcp.organizations.get_project_output(
            project_id=project,
            opts=pulumi.InvokeOutputOptions(depends_on=apis.needs("cloudresourcemanager.googleapis.com")),
        ).number
    run: dict[str, dict[str, CloudRunService]] = {name: {} for name in services}
    for region in regions:
        for name, svc in services.items():
            plain_env: dict[str, pulumi.Input[str]] = {**cfg.settings, **svc.env}
            # only the services that call another get its URL
            for callee in svc.calls:
                plain_env[f"{callee.upper().replace('-', '_')}_ENDPOINT"] = deterministic_url(
                    f"{context.prefix}-{callee}", number, region
                )
            callers = [o for o, other in services.items() if name in other.calls]
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
                    invokers=[Invoker(key=o, member=accounts.members[o]) for o in callers],
                    depends_on=[*store.bindings[name], *apis.needs("run.googleapis.com")],
                ),
            )

    # --- edge -------------------------------------------------------------------------------
    armor = gcp_wiring.edge_armor(foundation)
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
            min_tls_version=gcfg.min_tls_version,
            depends_on=apis.needs("compute.googleapis.com", "certificatemanager.googleapis.com"),
        ),
    )

    # --- DR: backup bucket and scheduled exports (of Cloud SQL and Firestore) ----------------
    bucket, exports = gcp_wiring.backups(foundation, exports=True, postgres=postgres, firestore=firestore)

    # --- monitoring -------------------------------------------------------------------------
    monitoring = None
    if cfg.monitoring.enabled:
        monitoring = gcp_wiring.cloud_monitoring(
            foundation,
            "monitoring",
            routed=routed,
            postgres=postgres,
            redis=redis,
            exports=exports,
            cloud_run=True,
        )

    # --- DR: the backups proven by scheduled restores (components/dr/restore_test_gcp.py) ------
    restore_tests(foundation, postgres, firestore, monitoring=monitoring)

    # --- outputs ----------------------------------------------------------------------------
    hosts = {name: cfg.host(svc.route) for name, svc in routed.items()}
    report = failover_report(
        cfg,
        prefix=context.prefix,
        postgres_replica=postgres.replica_name if postgres else None,
        firestore_location=firestore_location,
        redis_instance=redis.instance_name if redis else None,
        rabbitmq_disk=rabbitmq.regional_disk_name if rabbitmq else None,
        rabbitmq_recovery_minutes=recovery_minutes() if rabbitmq else None,
        rabbitmq_snapshot_minutes=snapshot_interval_hours(cfg.dr.rpo_minutes) * 60 if rabbitmq else None,
        backup_bucket=bucket.bucket_name,
        stack=context.stack,
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
        **gcp_wiring.managed_outputs(postgres),
        "backupBucket": bucket.bucket_name,
        "dr": report,
    }
