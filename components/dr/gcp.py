"""Disaster recovery on GCP (`cloudrun`; the backup bucket is reused by `gke`).

`GcpBackupBucket` creates the long-term backup bucket:
- multi-region (US/EU/ASIA of the primary region, or `gcp.backupLocation`): it survives the loss
  of any one region;
- uniform bucket-level access, public access prevention enforced, a 7-day soft delete, and a
  retention policy of `dr.retention.dailyDays` (nothing can be deleted or overwritten before the
  shortest tier expires; left unlocked so it can still be changed, lock it once validated). No
  Object Versioning: Cloud Storage refuses a retention policy on a versioned bucket, and the
  retention policy already blocks deletes and overwrites. Every export therefore writes a new,
  run-unique object name (`<date>-<execution id>`), so a same-day re-run never hits a retained
  object;
- access logging (Cloud Storage usage and storage logs) into a private `<bucket>-logs`-style log
  bucket kept `ACCESS_LOG_DAYS` days, which only Cloud Storage's log writer may write to;
- teardown (`teardown=True`: a non-prod stack with `gcp.deletionProtection: false`): no retention
  policy and `force_destroy`, so `pulumi destroy` can empty and delete both buckets;
- the seed 002 retention tiers as lifecycle rules by object prefix:

  | prefix     | written                   | storage class        | deleted after             |
  |------------|---------------------------|----------------------|---------------------------|
  | `daily/`   | every run                 | STANDARD             | `dailyDays` (30 d)        |
  | `weekly/`  | Sundays (copy of daily)   | NEARLINE after 7 d   | `weeklyWeeks` (12 w)      |
  | `monthly/` | 1st of month              | COLDLINE after 30 d  | `monthlyMonths` (12 m)    |
  | `yearly/`  | 1 January                 | ARCHIVE after 30 d   | `yearlyYears` (7 y)       |

- bucket-level IAM for the writers passed in (and nothing else).

`ScheduledBackupExports` fills it: a Cloud Workflows workflow, started by Cloud Scheduler on
`export_schedule` (outside Cloud SQL's backup and maintenance windows, see
`components/schedule_windows.py`), exports the PostgreSQL database (serverless Cloud SQL export,
gzip SQL, retried while the instance is busy with another operation) to
`daily/postgres/<date>-<execution id>.sql.gz` and copies it (never over an existing object) to the
weekly/monthly/yearly prefixes on the days those tiers are due, and exports Firestore to
`<tier>/firestore/<date>-<execution id>` for every due tier. Its
`freshness_query` (PromQL) returns a series when no run succeeded in `backupMaxAgeHours`, which
the monitoring layer alerts on.

With a Firestore database, the workflow's service account gets a project custom role with the
export permissions only (`FIRESTORE_EXPORT_PERMISSIONS`): `roles/datastore.importExportAdmin` would
also let it import an export over the production database.

`failover_report(...)` computes the DR stack outputs: the RPO/RTO the configured replicas and
backups achieve per data service, and the failover runbook (what to promote, what to switch).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackConfig, StackContext
from components.data.gcp_placement import export_schedule
from components.dr.gcp_export_workflow import FIRESTORE_EXPORT_PERMISSIONS, backup_workflow_source

SOFT_DELETE_SECONDS = 7 * 86400
ACCESS_LOG_DAYS = 365
# Cloud Storage writes usage/storage logs as this group (https://cloud.google.com/storage/docs/access-logs)
STORAGE_LOG_WRITER = "group:cloud-storage-analytics@google.com"


@dataclass(frozen=True)
class BucketWriter:
    """`member` gets `role` on the bucket; `key` names the binding."""

    key: str
    member: pulumi.Input[str]
    role: str = "roles/storage.objectCreator"


@dataclass(frozen=True)
class GcpBackupBucketArgs:
    context: StackContext
    project: pulumi.Input[str]
    name: str  # globally unique and stable, e.g. <project>-<stack>-backups
    location: str  # US, EU, ASIA or a dual-region
    writers: Sequence[BucketWriter] = ()
    # a non-prod stack being torn down: no retention policy, force_destroy (see the module doc)
    teardown: bool = False
    depends_on: Sequence[pulumi.Resource] = ()  # the Cloud Storage API


def log_bucket_name(bucket: str) -> str:
    """The access-log bucket of `bucket`: `<bucket>-logs`, shortened with a hash to stay within
    Cloud Storage's 63 characters."""
    import hashlib

    name = f"{bucket}-logs"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(bucket.encode()).hexdigest()[:6]
    return f"{bucket[: 63 - len('-logs') - 7].rstrip('-')}-{digest}-logs"


def tier_rules(config: StackConfig) -> list[tuple[str, Optional[tuple[int, str]], int]]:
    """(prefix, (age, storage class) transition or None, delete age in days) per retention tier."""
    r = config.dr.retention
    tiers: list[tuple[str, Optional[tuple[int, str]], int]] = [("daily/", None, r.daily_days)]
    if r.weekly_weeks:
        tiers.append(("weekly/", (7, "NEARLINE"), r.weekly_weeks * 7))
    if r.monthly_months:
        tiers.append(("monthly/", (30, "COLDLINE"), r.monthly_months * 31))
    if r.yearly_years:
        tiers.append(("yearly/", (30, "ARCHIVE"), r.yearly_years * 366))
    return tiers


class GcpBackupBucket(PlatformComponent):
    """Multi-region, private, retention-locked-ready bucket with the seed's tiers and access logs."""

    TYPE = "aiplatform:dr:GcpBackupBucket"

    def __init__(self, name: str, args: GcpBackupBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        Rule = gcp.storage.BucketLifecycleRuleArgs
        Action = gcp.storage.BucketLifecycleRuleActionArgs
        Condition = gcp.storage.BucketLifecycleRuleConditionArgs
        rules = []
        for prefix, transition, delete_after in tier_rules(self.config):
            if transition and transition[0] < delete_after:
                rules.append(
                    Rule(
                        action=Action(type="SetStorageClass", storage_class=transition[1]),
                        condition=Condition(age=transition[0], matches_prefixes=[prefix], with_state="LIVE"),
                    )
                )
            rules.append(Rule(action=Action(type="Delete"), condition=Condition(age=delete_after, matches_prefixes=[prefix])))
        self.tiers = [prefix for prefix, _, _ in tier_rules(self.config)]
        self.bucket_name = args.name
        self.log_bucket_name = log_bucket_name(args.name)
        depends = list(args.depends_on) or None
        retention = (
            None
            if args.teardown
            else gcp.storage.BucketRetentionPolicyArgs(
                retention_period=self.config.dr.retention.daily_days * 86400, is_locked=False
            )
        )
        def private_bucket(key: str, bucket: str, lifecycle: list, depends_on, **own: Any) -> gcp.storage.Bucket:
            """A bucket of this component: private, uniform access, soft delete, the retention policy
            (none in teardown), force-destroyable only in teardown."""
            return gcp.storage.Bucket(
                self.child_name(key),
                gcp.storage.BucketArgs(
                    project=args.project,
                    name=bucket,
                    location=args.location,
                    storage_class="STANDARD",
                    uniform_bucket_level_access=True,
                    public_access_prevention="enforced",
                    soft_delete_policy=gcp.storage.BucketSoftDeletePolicyArgs(
                        retention_duration_seconds=SOFT_DELETE_SECONDS
                    ),
                    retention_policy=retention,
                    lifecycle_rules=lifecycle,
                    force_destroy=args.teardown,
                    labels=self.labels,
                    **own,
                ),
                opts=self.child_opts(stateful=True, depends_on=depends_on),
            )

        # the access logs are an audit trail: retained like the daily tier, then kept a year
        self.log_bucket = private_bucket(
            "access-logs",
            self.log_bucket_name,
            [Rule(action=Action(type="Delete"), condition=Condition(age=ACCESS_LOG_DAYS))],
            depends,
        )
        log_writer = gcp.storage.BucketIAMMember(
            self.child_name("access-logs-writer"),
            gcp.storage.BucketIAMMemberArgs(
                bucket=self.log_bucket.name, role="roles/storage.objectCreator", member=STORAGE_LOG_WRITER
            ),
            opts=self.child_opts(),
        )
        # the log bucket must accept Cloud Storage's log writer before logs are delivered
        self.bucket = private_bucket(
            "bucket",
            args.name,
            rules,
            [*(depends or []), log_writer],
            logging=gcp.storage.BucketLoggingArgs(log_bucket=self.log_bucket.name, log_object_prefix=args.name),
        )
        for writer in args.writers:
            gcp.storage.BucketIAMMember(
                self.child_name(writer.key, writer.role.split(".")[-1]),
                gcp.storage.BucketIAMMemberArgs(bucket=self.bucket.name, role=writer.role, member=writer.member),
                opts=self.child_opts(),
            )
        self.register_outputs(
            {"bucket": args.name, "logBucket": self.log_bucket_name, "location": args.location, "tiers": self.tiers}
        )


@dataclass(frozen=True)
class ScheduledBackupExportsArgs:
    context: StackContext
    project: pulumi.Input[str]
    region: str
    bucket_name: str
    service_account_email: pulumi.Input[str]
    postgres: Optional[tuple[str, str]] = None  # (Cloud SQL instance name, database)
    firestore_database: Optional[str] = None
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # Workflows + Scheduler APIs


class ScheduledBackupExports(PlatformComponent):
    """A backup workflow and the scheduler job that runs it daily. Exposes `freshness_query`."""

    TYPE = "aiplatform:dr:ScheduledBackupExports"

    def __init__(self, name: str, args: ScheduledBackupExportsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        self.workflow_name = f"{self.context.prefix}-backup-export"
        self.schedule = export_schedule(cfg)
        self.workflow = gcp.workflows.Workflow(
            self.child_name("workflow"),
            gcp.workflows.WorkflowArgs(
                project=args.project,
                name=self.workflow_name,
                region=args.region,
                description="daily export of the databases into the tiered backup bucket",
                service_account=args.service_account_email,
                source_contents=backup_workflow_source(args.bucket_name, args.postgres, args.firestore_database),
                call_log_level="LOG_ERRORS_ONLY",
                deletion_protection=False,
                labels=self.labels,
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        self.export_role = None
        if args.firestore_database:
            # custom role ids allow [a-zA-Z0-9_.] only, 3-64 characters
            role_id = re.sub(r"[^A-Za-z0-9_]", "_", f"{self.context.prefix}_firestore_export")
            self.export_role = gcp.projects.IAMCustomRole(
                self.child_name("firestore-export-role"),
                gcp.projects.IAMCustomRoleArgs(
                    project=args.project,
                    role_id=role_id,
                    title=f"{self.context.prefix} Firestore export only",
                    description="export the Firestore database to the backup bucket; no import, no writes",
                    permissions=list(FIRESTORE_EXPORT_PERMISSIONS),
                    stage="GA",
                ),
                opts=self.child_opts(depends_on=args.depends_on),
            )
            gcp.projects.IAMMember(
                self.child_name("firestore-export"),
                gcp.projects.IAMMemberArgs(
                    project=args.project,
                    # the role's full name, spelled from known values so a preview (and the policy
                    # pack) can read it; the grant still waits for the role to exist
                    role=pulumi.Output.concat("projects/", args.project, "/roles/", role_id),
                    member=pulumi.Output.from_input(args.service_account_email).apply(lambda e: f"serviceAccount:{e}"),
                ),
                opts=self.child_opts(depends_on=[self.export_role]),
            )
        self.job = gcp.cloudscheduler.Job(
            self.child_name("schedule"),
            gcp.cloudscheduler.JobArgs(
                project=args.project,
                name=self.workflow_name,
                region=args.region,
                description="starts the backup export workflow",
                schedule=self.schedule,
                time_zone="Etc/UTC",
                attempt_deadline="320s",
                retry_config=gcp.cloudscheduler.JobRetryConfigArgs(retry_count=3, min_backoff_duration="300s"),
                http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                    http_method="POST",
                    uri=self.workflow.id.apply(lambda wid: f"https://workflowexecutions.googleapis.com/v1/{wid}/executions"),
                    body=base64.b64encode(json.dumps({"argument": "{}"}).encode()).decode(),
                    headers={"Content-Type": "application/json"},
                    oauth_token=gcp.cloudscheduler.JobHttpTargetOauthTokenArgs(
                        service_account_email=args.service_account_email,
                        scope="https://www.googleapis.com/auth/cloud-platform",
                    ),
                ),
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        self.freshness_query = (
            "absent_over_time(workflows_googleapis_com:finished_execution_count{"
            f'monitored_resource="workflows.googleapis.com/Workflow",workflow_id="{self.workflow_name}",'
            f'status="SUCCEEDED"}}[{cfg.monitoring.thresholds.backup_max_age_hours}h])'
        )
        self.register_outputs({"workflow": self.workflow_name, "schedule": self.schedule})


# ---------------------------------------------------------------------------------------------
# DR report: achieved RPO/RTO and the failover runbook (stack outputs)
# ---------------------------------------------------------------------------------------------

def failover_report(
    config: StackConfig,
    *,
    prefix: str,
    postgres_replica: Optional[str],
    firestore_location: Optional[str],
    redis_instance: Optional[str],
    rabbitmq_disk: Optional[str],
    rabbitmq_snapshot_minutes: Optional[int] = None,
    rabbitmq_recovery_minutes: Optional[dict[str, int]] = None,
    backup_bucket: str,
    stack: str = "<stack>",
) -> dict[str, Any]:
    """What a regional outage costs with this stack's replicas and backups, and what to do.

    The figures (RPO/RTO per data service, transient data, `meetsTargets`) are the `dr` output of
    `components/dr/objectives.py`, computed from the config like on every platform; this adds the
    runbook's steps with the stack's real names (and the RabbitMQ VM's recovery times).
    """
    from components.dr.objectives import dr_output

    dr = config.dr
    primary = config.regions.primary
    secondary = config.regions.secondary
    data = config.data
    # the figures come from the config (components/dr/objectives.py), the same as the check's
    rpo = dr_output(config)["achievedRpoMinutes"]
    failover_seconds = dr.failure_threshold * dr.health_check_interval_seconds
    runbook: list[str] = []
    if secondary:
        adopt = f"python -m tools.dr_adopt --stack {stack}"
        runbook.append(
            f"Stateless services: nothing to do. The load balancer ejects {primary} after "
            f"{dr.failure_threshold} consecutive errors (~{failover_seconds} s) and serves from {secondary}; "
            "the global IP and DNS stay the same."
        )
        if postgres_replica:
            runbook.append(
                f"PostgreSQL (by hand, first): `gcloud sql instances promote-replica {postgres_replica}`. Then "
                f"`{adopt}{' --recreate-redis' if redis_instance else ''}` prints the adoption (add `--run` to run it): "
                "the promoted instance takes the primary role in the state (nothing replaced), gcp.cloudSql names it "
                "the primary, regions.primary/secondary are swapped, and `pulumi up --continue-on-error` writes "
                f"`{prefix}-database-url` with its address and redeploys the services on it."
            )
        if data.mongodb.enabled:
            runbook.append(
                f"MongoDB: Firestore in {firestore_location} is multi-region: nothing to promote."
                if rpo.get("mongodb") == 0
                else f"MongoDB: restore the latest export from gs://{backup_bucket}/daily/firestore/ into a new database."
            )
        if redis_instance:
            runbook.append(
                f"Redis ({redis_instance}, cache/sessions): `--recreate-redis` in the same adoption forgets the "
                f"instance in {primary} and creates an empty one in {secondary} (gcp.redisRegion); users sign in again."
            )
        if rabbitmq_disk:
            runbook.append(
                f"RabbitMQ: a failed VM or zone heals itself (the group recreates the VM on the regional disk). The "
                f"broker and {rabbitmq_disk} stay in {primary}: queued jobs wait for the region (workers retry), or "
                "re-enqueue them from the database; snapshots (multi-regional) are the copy if the disk is lost."
            )
        if postgres_replica:
            runbook.append(
                f"Failback, in a quiet hour once {primary} is back: `{adopt} --phase replica` (a new replica in "
                f"{primary}), then the same promotion and adoption the other way round."
            )
    else:
        runbook.append(
            f"Single region ({primary}): rebuild in another region from backups - Cloud SQL backups and "
            f"gs://{backup_bucket} exports (multi-regional), RabbitMQ disk snapshots - by setting regions.primary "
            "and running `pulumi up`."
        )
    report = dr_output(config, runbook=runbook)
    if rabbitmq_recovery_minutes:
        report["achievedRtoMinutes"]["rabbitmq"] = dict(rabbitmq_recovery_minutes)
    return report
