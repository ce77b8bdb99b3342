"""PostgreSQL on Cloud SQL (`cloudrun`, `gke`).

Creates:
- the primary instance `<prefix>-<instance>` (`postgres` unless `gcp.cloudSql` pins another name: a
  stable name, since Cloud SQL names cannot be reused for a week after deletion; its name and
  region are pinned by role, never derived from which region is called primary):
  - private IP only (`ipv4_enabled=False`, `private_network` = the VPC through Private Service
    Access) and TLS required for every connection (`ssl_mode=ENCRYPTED_ONLY`);
  - REGIONAL availability (synchronous standby in a second zone) when `settings.ha` (prod);
  - automated daily backups at the DR schedule's hour, `retained_backups` = the daily tier
    (`dr.retention.dailyDays`), point-in-time recovery from WAL with `transaction_log_retention_days`
    (at most 7 on the Enterprise edition), a final backup when the instance is deleted, and
    backups retained after deletion;
  - maintenance window at the start of `dr.maintenanceWindow` (seed 002: Sunday 02:00 UTC), Query
    Insights, an explicit `max_connections` (the monitoring alert fires at 80 % of it) and an audit
    trail (`database_flags`): pgAudit (DDL and role changes; parameters never logged, they may
    carry personal data), `log_statement=ddl`, every statement's duration without its text
    (`log_duration=on`, `log_min_duration_statement=-1`: a logged slow statement would carry its
    literal and bind values, which may be personal data; slow queries are found in Query Insights,
    which keeps them normalized, literals removed), connections with client host names, lock
    waits, temp files and checkpoints, warnings and up (CIS Cloud SQL PostgreSQL flags).
    pgAudit needs `CREATE EXTENSION pgaudit;` once in the database (the migrations' job);
  - `disk_autoresize` with `ignore_changes` on `settings.diskSize` (the SDK's advice): the disk
    grows on its own and the config's `storageGi` is only its initial size, so an autoresize never
    turns into a planned shrink and replacement;
  - deletion protection twice: Pulumi-side (`deletion_protection`) and API-side
    (`deletion_protection_enabled`, which also stops deletes from the console or gcloud);
- the application database and user, with a pulumi_random password;
- a cross-region read replica `<prefix>-<replica_instance>` (default `postgres-<region>`) in
  `replica_region` (prod): the DR target that is promoted when the primary region is lost. The
  logical names are the roles, `postgres-primary` and `postgres-replica` (an alias keeps the old
  region-suffixed replica name); the physical names and regions come from `gcp.cloudSql`, so
  swapping regions.primary/secondary moves neither. After a promotion, `tools/dr_adopt.py` moves
  the promoted replica's state to the primary role and pins its name there (nothing replaced).

Exposes `connection` (DataConnection with a `postgresql://...?sslmode=require` URL as a secret
Output), `password` (secret), `instance`, `replica`, `instance_name` and `replica_name`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components.base import PlatformComponent
from components.config import DataServiceConfig, StackContext
from components.data.connection import DataConnection, NetworkPeer
from components.data.gcp_placement import backup_start_time, maintenance_day_hour

PORT = 5432
# Cloud SQL tier by environment when `data.postgres.tier` is not set: shared-core tiers have no SLA,
# so even staging gets a dedicated vCPU.
DEFAULT_TIERS = {"dev": "db-custom-1-3840", "staging": "db-custom-1-3840", "prod": "db-custom-2-7680"}
# Enterprise edition keeps at most 7 days of transaction logs for point-in-time recovery.
MAX_LOG_RETENTION_DAYS = 7
# Engine paths the provider must not plan against: the disk grows by autoresize.
IGNORED_CHANGES = ["settings.diskSize"]


def database_flags(max_connections: int) -> list[tuple[str, str]]:
    """The PostgreSQL flags (names as Cloud SQL accepts them) of the primary and its replica."""
    return [
        ("cloudsql.enable_pgaudit", "on"),
        ("pgaudit.log", "ddl,role"),
        ("pgaudit.log_parameter", "off"),
        ("pgaudit.log_relation", "on"),
        ("log_statement", "ddl"),
        # durations only: statement text (with its literals) never reaches the logs
        ("log_duration", "on"),
        ("log_min_duration_statement", "-1"),
        ("log_min_messages", "warning"),
        ("log_min_error_statement", "error"),
        ("log_hostname", "on"),
        ("log_checkpoints", "on"),
        ("log_connections", "on"),
        ("log_disconnections", "on"),
        ("log_lock_waits", "on"),
        ("log_temp_files", "0"),
        ("max_connections", str(max_connections)),
    ]


@dataclass(frozen=True)
class CloudSqlPostgresArgs:
    context: StackContext
    project: pulumi.Input[str]
    settings: DataServiceConfig
    region: str
    network: pulumi.Input[str]  # VPC id
    private_service_access: pulumi.Resource  # the servicenetworking connection the private IP needs
    replica_region: Optional[str] = None
    # names after the stack prefix, pinned by role (gcp.cloudSql; components/data/gcp_placement.py)
    instance: str = "postgres"
    replica_instance: Optional[str] = None  # default: postgres-<replica_region>
    database: str = "app"
    user: str = "app"
    max_connections: int = 200
    deletion_protection: bool = True
    peer_cidr: Optional[str] = None  # the Private Service Access range, for firewall/network policies
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # the Cloud SQL Admin API


class CloudSqlPostgres(PlatformComponent):
    """Cloud SQL for PostgreSQL: private, TLS-only, backed up with PITR, protected, replicated."""

    TYPE = "aiplatform:data:CloudSqlPostgres"

    def __init__(self, name: str, args: CloudSqlPostgresArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        s = args.settings
        prefix = self.context.prefix
        self.instance_name = f"{prefix}-{args.instance}"
        tier = s.tier or DEFAULT_TIERS[cfg.environment]
        version = f"POSTGRES_{(s.version or '16').split('.')[0]}"
        retention = cfg.dr.retention

        ip_configuration = gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
            ipv4_enabled=False,
            private_network=args.network,
            ssl_mode="ENCRYPTED_ONLY",
            enable_private_path_for_google_cloud_services=True,
        )
        day, hour = maintenance_day_hour(cfg)
        maintenance = gcp.sql.DatabaseInstanceSettingsMaintenanceWindowArgs(day=day, hour=hour, update_track="stable")
        insights = gcp.sql.DatabaseInstanceSettingsInsightsConfigArgs(
            query_insights_enabled=True,
            query_plans_per_minute=5,
            query_string_length=1024,
            record_application_tags=True,
            record_client_address=False,
        )
        flags = [
            gcp.sql.DatabaseInstanceSettingsDatabaseFlagArgs(name=flag, value=value)
            for flag, value in database_flags(args.max_connections)
        ]

        def instance_settings(**own: Any) -> gcp.sql.DatabaseInstanceSettingsArgs:
            """Settings the primary and its replica share: the same size, disk, network, protection,
            maintenance and flags, so the replica can take the primary's load once promoted."""
            return gcp.sql.DatabaseInstanceSettingsArgs(
                tier=tier,
                # Explicit: PostgreSQL 16+ otherwise defaults to Enterprise Plus, which rejects db-custom tiers.
                edition="ENTERPRISE",
                disk_type="PD_SSD",
                disk_size=s.storage_gi,
                disk_autoresize=True,
                disk_autoresize_limit=s.storage_gi * 4,
                deletion_protection_enabled=args.deletion_protection,
                ip_configuration=ip_configuration,
                maintenance_window=maintenance,
                insights_config=insights,
                database_flags=flags,
                **own,
            )

        depends = [args.private_service_access, *args.depends_on]
        self.instance = gcp.sql.DatabaseInstance(
            self.child_name("primary"),
            gcp.sql.DatabaseInstanceArgs(
                project=args.project,
                name=self.instance_name,
                region=args.region,
                database_version=version,
                deletion_protection=args.deletion_protection,
                settings=instance_settings(
                    availability_type="REGIONAL" if s.ha else "ZONAL",
                    backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                        enabled=True,
                        start_time=backup_start_time(cfg.dr.backup_schedule),
                        point_in_time_recovery_enabled=True,
                        transaction_log_retention_days=min(MAX_LOG_RETENTION_DAYS, retention.daily_days),
                        backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                            retained_backups=retention.daily_days, retention_unit="COUNT"
                        ),
                    ),
                    final_backup_config=gcp.sql.DatabaseInstanceSettingsFinalBackupConfigArgs(
                        enabled=True, retention_days=retention.daily_days
                    ),
                    retain_backups_on_delete=True,
                    user_labels=self.labels,
                ),
            ),
            opts=self.child_opts(stateful=True, depends_on=depends, ignore_changes=IGNORED_CHANGES),
        )

        self.database = gcp.sql.Database(
            self.child_name("database"),
            gcp.sql.DatabaseArgs(
                project=args.project,
                instance=self.instance.name,
                name=args.database,
                # Dropping the database would drop the data: a delete only forgets it.
                deletion_policy="ABANDON",
            ),
            opts=self.child_opts(stateful=True),
        )
        password = random.RandomPassword(
            self.child_name("password"),
            random.RandomPasswordArgs(length=32, special=False),
            opts=self.child_opts(),
        )
        self.password = pulumi.Output.secret(password.result)
        self.user = gcp.sql.User(
            self.child_name("user"),
            gcp.sql.UserArgs(
                project=args.project,
                instance=self.instance.name,
                name=args.user,
                password=self.password,
                # A role that owns objects cannot be dropped; leave it to the database.
                deletion_policy="ABANDON",
            ),
            opts=self.child_opts(),
        )

        self.replica: Optional[gcp.sql.DatabaseInstance] = None
        self.replica_name: Optional[str] = None
        if args.replica_region:
            self.replica_name = f"{prefix}-{args.replica_instance or f'postgres-{args.replica_region}'}"
            self.replica = gcp.sql.DatabaseInstance(
                self.child_name("replica"),
                gcp.sql.DatabaseInstanceArgs(
                    project=args.project,
                    name=self.replica_name,
                    region=args.replica_region,
                    database_version=version,
                    master_instance_name=self.instance.name,
                    deletion_protection=args.deletion_protection,
                    settings=instance_settings(
                        # Promoted in a regional disaster; switch to REGIONAL after promotion.
                        availability_type="ZONAL",
                        user_labels={**self.labels, "role": "dr-replica"},
                    ),
                ),
                opts=self.child_opts(
                    stateful=True,
                    ignore_changes=IGNORED_CHANGES,
                    # the logical name used to carry the region; keep the existing replica
                    aliases=[pulumi.Alias(name=self.child_name("replica", args.replica_region))],
                ),
            )

        self.connection_name = self.instance.connection_name
        url = pulumi.Output.all(self.instance.private_ip_address, self.password).apply(
            lambda v: f"postgresql://{args.user}:{v[1]}@{v[0]}:{PORT}/{args.database}?sslmode=require"
        )
        self.connection = DataConnection(
            service="postgres",
            host=self.instance.private_ip_address,
            port=PORT,
            url=pulumi.Output.secret(url),
            tls=True,
            peer=NetworkPeer(cidr=args.peer_cidr),
        )
        self.register_outputs(
            {
                "instance": self.instance_name,
                "connectionName": self.instance.connection_name,
                "replica": self.replica_name,
            }
        )
