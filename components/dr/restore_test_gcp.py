"""Scheduled restore tests of the managed GCP databases (`cloudrun`, `gke`): backups proven by restores.

For every enabled data service whose backend on the stack's platform has `restore_test`
"cloud-sql" or "firestore" (the registry, components/data/registry.py: today Cloud SQL for
PostgreSQL on cloudrun and gke, Firestore with MongoDB compatibility on cloudrun), `GcpRestoreTests`
creates:

- a Cloud Run job `<prefix>-restore-<service>` (google-cloud-cli image pinned by version,
  `GCLOUD_IMAGE`) that runs `restore_test_gcp.sh`: it deletes throwaways a killed run left
  behind (older than `LEFTOVER_HOURS`), finds the latest successful backup, restores it into a new
  throwaway target `<prefix>--rt-<service>-<UTC timestamp>` (a new Cloud SQL instance on the VPC,
  private IP only, same version and disk size as the source; or a new Firestore database from the
  backup), checks it (Cloud SQL: the instance is RUNNABLE and lists the application's databases;
  Firestore: the restore operation finished without error and the database is readable), always
  deletes the throwaway (exit trap) and logs one JSON line (`event: restore_test`, `status`,
  `restore_seconds`, `backup_age_seconds`). No row counts: a job that reads tables needs the
  database password and a Cloud SQL connector or a MongoDB client, which the gcloud image has not;
  the check proves that the backup restores into a serving instance with the app's databases;
- a Cloud Scheduler job of the same name that starts it on `restore_test_schedule` (daily in
  prod, weekly elsewhere, after Cloud SQL's backup window), as its own service account which may
  only run these jobs (`roles/run.invoker` on each job, nothing on the project);
- the job's own service account with two custom roles: what it must do anywhere (read the
  sources and their backups, create a throwaway: creating cannot harm data) and, under an IAM
  condition on the name prefix `<prefix>--rt-`, what could destroy data (restore onto an
  instance, delete an instance or database). Stack prefixes never contain `--`
  (components/naming.py), so the condition matches this stack's throwaways and nothing else;
- log-based metrics from the JSON line: `<prefix>-restore-test-runs` (a counter by service and
  status), `<prefix>-restore-test-seconds` and `<prefix>-restore-test-backup-age` (distributions
  by service);
- with monitoring on, alert policies on the stack's notification channels: a restore test failed
  (its JSON line or the Cloud Run execution), none succeeded within its interval plus the task
  timeout and an hour, and the restored backup older than one backup interval (the managed
  services back up daily) plus `dr.rpoMinutes`. The RPO itself is met by point-in-time recovery
  and the replicas (the `dr` output); this alert says the backups those rest on stopped coming.

The schedule is a per-environment constant (`RESTORE_TEST_INTERVAL_DAYS`), not a config key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackConfig, StackContext
from components.data.gcp_placement import backup_start_time, firestore_location
from components.data.registry import REGISTRY, backend
from components.naming import bounded
from components.schedule_windows import CLOUD_SQL_BACKUP_WINDOW_MINUTES, DEFAULT_MARGIN_MINUTES

# google-cloud-cli, Debian slim variant (bash, GNU date, gcloud with the sql and firestore groups)
GCLOUD_IMAGE = "gcr.io/google.com/cloudsdktool/google-cloud-cli:555.0.0-slim"
SCRIPT = Path(__file__).with_name("restore_test_gcp.sh")
METHODS = ("cloud-sql", "firestore")
# daily in production (seed 000: daily backup verification), weekly elsewhere (seed 001)
RESTORE_TEST_INTERVAL_DAYS = {"prod": 1}
DEFAULT_INTERVAL_DAYS = 7
WEEKLY_DAY = 3  # Wednesday: away from the Sunday maintenance windows
# Cloud SQL automated backups and Firestore's backup schedule (components/data) are daily
BACKUP_INTERVAL_SECONDS = 86400
# a restore of the seed's 100 GB database with instance creation fits well within this
TASK_TIMEOUT_SECONDS = 4 * 3600
LEFTOVER_HOURS = 24  # longer than any run (the task timeout): a throwaway this old is a leftover
THROWAWAY_TIER = "db-custom-1-3840"  # the smallest dedicated tier: the restore needs no more
THROWAWAY_MARK = "--rt-"  # no stack prefix contains "--" (components/naming.py: PREFIX_RULE)
EVENT = "restore_test"
RUN_API = "run.googleapis.com"
SCHEDULER_API = "cloudscheduler.googleapis.com"

# Custom-role permissions per method: `anywhere` may be granted on the project, `throwaway` only
# under the name-prefix condition (each would let the job destroy a real database).
PERMISSIONS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "cloud-sql": {
        "anywhere": (
            "cloudsql.backupRuns.get",  # the backup to restore (gcloud sql backups restore)
            "cloudsql.backupRuns.list",  # gcloud sql backups list --instance=<source>
            "cloudsql.databases.list",  # the check: gcloud sql databases list --instance=<throwaway>
            "cloudsql.instances.create",  # gcloud sql instances create <throwaway>
            "cloudsql.instances.get",  # describe the source and throwaway; gcloud sql operations wait
            "cloudsql.instances.list",  # the leftover sweep
            "compute.networks.get",  # the throwaway's private IP on the stack's VPC
            "compute.networks.list",
        ),
        "throwaway": ("cloudsql.instances.delete", "cloudsql.instances.restoreBackup"),
    },
    "firestore": {
        "anywhere": (
            "datastore.backups.get",
            "datastore.backups.list",  # gcloud firestore backups list --location
            "datastore.backups.restoreDatabase",  # restore creates a new database; never over one
            "datastore.databases.create",
            "datastore.databases.get",
            "datastore.databases.getMetadata",  # gcloud firestore databases describe
            "datastore.databases.list",  # the leftover sweep
            "datastore.operations.get",  # the restore's long-running operation
            "datastore.operations.list",
        ),
        "throwaway": ("datastore.databases.delete",),
    },
}


def restore_tested(config: StackConfig) -> list[str]:
    """The enabled data services whose backend on the stack's platform is restore-tested here."""
    return [n for n in config.data.enabled() if backend(n, config.platform).restore_test in METHODS]


def restore_test_apis(config: StackConfig) -> list[str]:
    """The APIs the restore tests call besides the databases' own: Cloud Run (the job), Cloud
    Scheduler, IAM (service accounts, custom roles), Logging and Monitoring."""
    if not restore_tested(config):
        return []
    return [RUN_API, SCHEDULER_API, "iam.googleapis.com", "cloudresourcemanager.googleapis.com",
            "logging.googleapis.com", "monitoring.googleapis.com"]


def interval_days(config: StackConfig) -> int:
    return RESTORE_TEST_INTERVAL_DAYS.get(config.environment, DEFAULT_INTERVAL_DAYS)


def restore_test_schedule(config: StackConfig) -> str:
    """Cron (UTC): an hour after Cloud SQL's backup window closes (it starts the daily backup
    within four hours of `dr.backupSchedule`'s time), so the newest backup is today's; every day
    in prod, on Wednesdays elsewhere."""
    hour, minute = backup_start_time(config.dr.backup_schedule).split(":")
    slot = (int(hour) * 60 + int(minute) + CLOUD_SQL_BACKUP_WINDOW_MINUTES + DEFAULT_MARGIN_MINUTES) % 1440
    day = "*" if interval_days(config) == 1 else str(WEEKLY_DAY)
    return f"{slot % 60} {slot // 60} * * {day}"


def missing_after_seconds(config: StackConfig) -> int:
    """No successful restore test for this long is an alert: the interval, a run's longest
    duration (the task timeout) and an hour."""
    return interval_days(config) * 86400 + TASK_TIMEOUT_SECONDS + 3600


def backup_age_limit_seconds(config: StackConfig) -> int:
    """The restored backup may be one backup interval plus the RPO old (`dr.rpoMinutes`)."""
    return BACKUP_INTERVAL_SECONDS + config.dr.rpo_minutes * 60


def job_name(prefix: str, service: str) -> str:
    """`<prefix>-restore-<service>`: a Cloud Run job name (RFC 1035; held to 49 like service names)."""
    return bounded(f"{prefix}-restore-{service}", 49)


def throwaway_prefix(prefix: str, service: str) -> str:
    """The throwaway's name without its 15-character `-<YYYYMMDDHHMMSS>`: fits Cloud SQL instance ids
    and Firestore database ids (4-63 of [a-z0-9-])."""
    return f"{prefix}{THROWAWAY_MARK}{service}"[:48]


def role_id(prefix: str, kind: str) -> str:
    """A custom role id ([a-zA-Z0-9_.], 3-64)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{prefix}_restore_test_{kind}")[:64]


def metric_series(name: str) -> str:
    """The PromQL name of a user-defined log-based metric."""
    return "logging_googleapis_com:user_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


@dataclass(frozen=True)
class RestoreTarget:
    """One restore-tested data service: what the script gets besides the stack-wide settings."""

    service: str
    method: str  # "cloud-sql" | "firestore"
    env: Mapping[str, pulumi.Input[str]]


def targets_of(config: StackConfig, managed: Sequence[Any], network: pulumi.Input[str], region: str) -> list[RestoreTarget]:
    # `network`: the VPC's name (gcloud sql instances create --network takes a name in the project)
    """A target per restore-tested service, from the component that runs it (`managed`: the platform's
    managed data components, each with `connection.service`)."""
    by_service = {c.connection.service: c for c in managed if c is not None}
    found = []
    for service in restore_tested(config):
        method = backend(service, config.platform).restore_test
        component = by_service.get(service)
        if component is None:
            raise LookupError(f"{REGISTRY[service].title} is restore-tested ({method}) but no component runs it")
        if method == "cloud-sql":
            env = {"SOURCE": component.instance_name, "REGION": region, "NETWORK": network, "TIER": THROWAWAY_TIER,
                   "EXPECTED": component.database.name}
        else:
            env = {"SOURCE": component.database_name, "LOCATION": firestore_location(config)}
        found.append(RestoreTarget(service=service, method=method, env=env))
    return found


@dataclass(frozen=True)
class GcpRestoreTestsArgs:
    context: StackContext
    project: str
    region: str  # where the jobs and their schedules run (the primary region)
    targets: Sequence[RestoreTarget]
    notification_channels: Sequence[pulumi.Input[str]] = ()
    alerts: bool = True  # monitoring on: the alert policies too
    # the APIs, by purpose (ProjectApis.needs)
    iam_apis: Sequence[pulumi.Resource] = field(default_factory=tuple)
    project_iam_apis: Sequence[pulumi.Resource] = field(default_factory=tuple)
    run_apis: Sequence[pulumi.Resource] = field(default_factory=tuple)
    scheduler_apis: Sequence[pulumi.Resource] = field(default_factory=tuple)
    logging_apis: Sequence[pulumi.Resource] = field(default_factory=tuple)
    monitoring_apis: Sequence[pulumi.Resource] = field(default_factory=tuple)


class GcpRestoreTests(PlatformComponent):
    """Restore-test jobs, their schedules and identities, metrics and alerts (see the module doc)."""

    TYPE = "aiplatform:dr:GcpRestoreTests"

    def __init__(self, name: str, args: GcpRestoreTestsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        prefix = self.context.prefix
        self.schedule = restore_test_schedule(cfg)
        self.job_names = {t.service: job_name(prefix, t.service) for t in args.targets}
        self.runner_email, self.invoker_email = self._identities(args)
        self._grants(args)
        script = SCRIPT.read_text()
        self.jobs: dict[str, gcp.cloudrunv2.Job] = {}
        self.schedules: dict[str, gcp.cloudscheduler.Job] = {}
        for target in args.targets:
            self._job(args, target, script)
        self.metrics = self._metrics(args)
        self.alert_policies: dict[str, gcp.monitoring.AlertPolicy] = self._alerts(args) if args.alerts else {}
        self.register_outputs(
            {"jobs": self.job_names, "schedule": self.schedule, "alertPolicies": sorted(self.alert_policies)}
        )

    # --- identities and least privilege ------------------------------------------------------

    def _identities(self, args: GcpRestoreTestsArgs) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The runner's and the scheduler's service accounts (their grants follow: none on the project
        from `ServiceAccounts`). Returns their emails."""
        from components.gcp.project import ServiceAccounts, ServiceAccountsArgs, WorkloadIdentity

        accounts = ServiceAccounts(
            self.child_name("identities"),
            ServiceAccountsArgs(
                context=self.context,
                project=args.project,
                identities=[
                    WorkloadIdentity("restore-test", "restore tests of the managed databases (Cloud Run jobs)"),
                    WorkloadIdentity("restore-sched", "Cloud Scheduler: starts the restore-test jobs"),
                ],
                depends_on=list(args.iam_apis),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return accounts.emails["restore-test"], accounts.emails["restore-sched"]

    def _grants(self, args: GcpRestoreTestsArgs) -> None:
        """The runner's two custom roles: unconditional, and limited to the throwaways by name."""
        prefix = self.context.prefix
        methods = sorted({t.method for t in args.targets})
        member = self.runner_email.apply(lambda e: f"serviceAccount:{e}")
        mark = f"{prefix}{THROWAWAY_MARK}"
        condition = gcp.projects.IAMMemberConditionArgs(
            title="restore-test throwaways only",
            description=f"instances and databases named {mark}*: the restore tests' own",
            expression=" || ".join(
                f'resource.name.startsWith("projects/{args.project}/{kind}/{mark}")'
                for kind in (("instances",) if "cloud-sql" in methods else ()) + (("databases",) if "firestore" in methods else ())
            ),
        )
        self.roles: dict[str, gcp.projects.IAMCustomRole] = {}
        for kind, title in (("anywhere", "read sources and backups, create throwaways"),
                            ("throwaway", "restore onto and delete throwaways")):
            permissions = sorted({p for m in methods for p in PERMISSIONS[m][kind]})
            rid = role_id(prefix, kind)
            role = gcp.projects.IAMCustomRole(
                self.child_name("role", kind),
                gcp.projects.IAMCustomRoleArgs(
                    project=args.project, role_id=rid, title=f"{prefix} restore test: {title}",
                    description="components/dr/restore_test_gcp.py", permissions=permissions, stage="GA",
                ),
                opts=self.child_opts(depends_on=list(args.iam_apis)),
            )
            self.roles[kind] = role
            gcp.projects.IAMMember(
                self.child_name("grant", kind),
                gcp.projects.IAMMemberArgs(
                    project=args.project,
                    # spelled from known values so a preview (and the policy pack) can read it
                    role=f"projects/{args.project}/roles/{rid}",
                    member=member,
                    condition=condition if kind == "throwaway" else None,
                ),
                opts=self.child_opts(depends_on=[role, *args.project_iam_apis]),
            )

    # --- the job and its schedule --------------------------------------------------------------

    def _job(self, args: GcpRestoreTestsArgs, target: RestoreTarget, script: str) -> None:
        Env = gcp.cloudrunv2.JobTemplateTemplateContainerEnvArgs
        name = self.job_names[target.service]
        env: dict[str, pulumi.Input[str]] = {
            "METHOD": target.method,
            "SERVICE": target.service,
            "PROJECT": args.project,
            "TARGET_PREFIX": throwaway_prefix(self.context.prefix, target.service),
            "LEFTOVER_HOURS": str(LEFTOVER_HOURS),
            "LABELS": f"restore-test={target.service},stack-prefix={self.context.prefix}",
            "CLOUDSDK_CONFIG": "/tmp/gcloud",  # gcloud writes its config; the image's HOME may not be writable
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
            **target.env,
        }
        job = gcp.cloudrunv2.Job(
            self.child_name("job", target.service),
            gcp.cloudrunv2.JobArgs(
                project=args.project,
                location=args.region,
                name=name,
                labels=self.labels,
                deletion_protection=False,  # no data: `pulumi destroy` must be able to delete it
                template=gcp.cloudrunv2.JobTemplateArgs(
                    task_count=1,
                    parallelism=1,
                    template=gcp.cloudrunv2.JobTemplateTemplateArgs(
                        service_account=self.runner_email,
                        timeout=f"{TASK_TIMEOUT_SECONDS}s",
                        max_retries=0,  # a retry would restore again; the alert tells a human instead
                        containers=[
                            gcp.cloudrunv2.JobTemplateTemplateContainerArgs(
                                name="restore-test",
                                image=GCLOUD_IMAGE,
                                commands=["bash", "-c"],
                                args=[script],
                                envs=[Env(name=k, value=v) for k, v in env.items()],
                                resources=gcp.cloudrunv2.JobTemplateTemplateContainerResourcesArgs(
                                    limits={"cpu": "1", "memory": "512Mi"}
                                ),
                            )
                        ],
                    ),
                ),
            ),
            opts=self.child_opts(depends_on=list(args.run_apis)),
        )
        self.jobs[target.service] = job
        invoker = gcp.cloudrunv2.JobIamMember(
            self.child_name("invoker", target.service),
            gcp.cloudrunv2.JobIamMemberArgs(
                project=args.project,
                location=args.region,
                name=job.name,
                role="roles/run.invoker",  # run.jobs.run on this job only
                member=self.invoker_email.apply(lambda e: f"serviceAccount:{e}"),
            ),
            opts=self.child_opts(depends_on=list(args.run_apis)),
        )
        self.schedules[target.service] = gcp.cloudscheduler.Job(
            self.child_name("schedule", target.service),
            gcp.cloudscheduler.JobArgs(
                project=args.project,
                region=args.region,
                name=name,
                description=f"starts the {REGISTRY[target.service].title} restore test",
                schedule=self.schedule,
                time_zone="Etc/UTC",
                attempt_deadline="180s",
                retry_config=gcp.cloudscheduler.JobRetryConfigArgs(retry_count=3, min_backoff_duration="300s"),
                http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                    http_method="POST",
                    uri=f"https://run.googleapis.com/v2/projects/{args.project}/locations/{args.region}/jobs/{name}:run",
                    oauth_token=gcp.cloudscheduler.JobHttpTargetOauthTokenArgs(
                        service_account_email=self.invoker_email,
                        scope="https://www.googleapis.com/auth/cloud-platform",
                    ),
                ),
            ),
            # its first run must find the job and may call it
            opts=self.child_opts(depends_on=[job, invoker, *args.scheduler_apis]),
        )

    # --- metrics and alerts --------------------------------------------------------------------

    def _log_filter(self) -> str:
        jobs = " OR ".join(f'"{n}"' for n in self.job_names.values())
        return f'resource.type="cloud_run_job" AND resource.labels.job_name=({jobs}) AND jsonPayload.event="{EVENT}"'

    def _metrics(self, args: GcpRestoreTestsArgs) -> dict[str, gcp.logging.Metric]:
        prefix = self.context.prefix
        M = gcp.logging
        service_label = M.MetricMetricDescriptorLabelArgs(key="service", value_type="STRING")
        base = self._log_filter()

        def metric(key: str, description: str, filter_: str, value_type: str, **own: Any) -> gcp.logging.Metric:
            labels = own.pop("_labels", [service_label])
            return M.Metric(
                self.child_name("metric", key),
                M.MetricArgs(project=args.project, name=f"{prefix}-restore-test-{key}", description=description,
                             filter=filter_, **own,
                             metric_descriptor=M.MetricMetricDescriptorArgs(
                                 metric_kind="DELTA", value_type=value_type, unit="s" if value_type == "DISTRIBUTION" else "1",
                                 display_name=f"{self.context.stack} restore test {key}",
                                 labels=labels)),
                opts=self.child_opts(depends_on=list(args.logging_apis)),
            )

        def buckets(count: int) -> M.MetricBucketOptionsArgs:  # 1 min, 2 min, ... doubling
            return M.MetricBucketOptionsArgs(exponential_buckets=M.MetricBucketOptionsExponentialBucketsArgs(
                num_finite_buckets=count, growth_factor=2, scale=60))

        return {
            "runs": metric(
                "runs", "restore tests by service and status (succeeded, failed)", base, "INT64",
                label_extractors={"service": "EXTRACT(jsonPayload.service)", "status": "EXTRACT(jsonPayload.status)"},
                _labels=[service_label, M.MetricMetricDescriptorLabelArgs(key="status", value_type="STRING")],
            ),
            "seconds": metric(
                "seconds", "seconds from creating the throwaway to the restored data being available",
                f'{base} AND jsonPayload.status="succeeded"', "DISTRIBUTION",
                value_extractor="EXTRACT(jsonPayload.restore_seconds)",
                label_extractors={"service": "EXTRACT(jsonPayload.service)"}, bucket_options=buckets(12),
            ),
            "backup-age": metric(
                "backup-age", "age in seconds of the newest backup a restore test found",
                f"{base} AND jsonPayload.backup_age_seconds>=0", "DISTRIBUTION",
                value_extractor="EXTRACT(jsonPayload.backup_age_seconds)",
                label_extractors={"service": "EXTRACT(jsonPayload.service)"}, bucket_options=buckets(16),
            ),
        }

    def _alerts(self, args: GcpRestoreTestsArgs) -> dict[str, gcp.monitoring.AlertPolicy]:
        cfg = self.config
        A = gcp.monitoring
        jobs = " OR ".join(f'"{n}"' for n in self.job_names.values())
        on_jobs = f'resource.type="cloud_run_job" AND resource.label.job_name=({jobs})'
        policies: dict[str, gcp.monitoring.AlertPolicy] = {}

        def threshold(display: str, filter_: str, value: float, aligner: str) -> A.AlertPolicyConditionArgs:
            return A.AlertPolicyConditionArgs(
                display_name=display,
                condition_threshold=A.AlertPolicyConditionConditionThresholdArgs(
                    filter=filter_, comparison="COMPARISON_GT", threshold_value=value, duration="0s",
                    aggregations=[A.AlertPolicyConditionConditionThresholdAggregationArgs(
                        alignment_period="300s", per_series_aligner=aligner, cross_series_reducer="REDUCE_MAX",
                        group_by_fields=["metric.label.service"] if "logging.googleapis.com" in filter_ else
                        ["resource.label.job_name"])],
                    trigger=A.AlertPolicyConditionConditionThresholdTriggerArgs(count=1),
                ),
            )

        def policy(key: str, display: str, severity: str, text: str, conditions: list) -> None:
            policies[key] = A.AlertPolicy(
                self.child_name("alert", key),
                A.AlertPolicyArgs(
                    project=args.project, display_name=f"[{self.context.stack}] {display}", combiner="OR",
                    severity=severity, notification_channels=list(args.notification_channels),
                    documentation=A.AlertPolicyDocumentationArgs(content=text, mime_type="text/markdown"),
                    user_labels=self.labels, conditions=conditions,
                    # one signal per interval: keep the incident open a day rather than half an hour
                    alert_strategy=A.AlertPolicyAlertStrategyArgs(auto_close="86400s"),
                ),
                opts=self.child_opts(depends_on=[*self.metrics.values(), *args.monitoring_apis]),
            )

        how = ("See docs/deploy-gcp.md, \"Restore tests\": the job's logs name the failed step; run it again with "
               f"`gcloud run jobs execute <job> --region {args.region}`.")
        runs = f'metric.type="logging.googleapis.com/user/{self.context.prefix}-restore-test-runs"'
        policy("restore-test-failed", "Restore test failed", "CRITICAL",
               f"A restore test of a backup failed (seed 000: daily backup verification). {how}", [
                   threshold("restore test reported failure", f'{runs} AND metric.label.status="failed" AND {on_jobs}',
                             0, "ALIGN_SUM"),
                   threshold("restore-test execution failed",
                             f'metric.type="run.googleapis.com/job/completed_execution_count" AND '
                             f'metric.label.result="failed" AND {on_jobs}', 0, "ALIGN_SUM"),
               ])
        window = missing_after_seconds(cfg)
        series = metric_series(f"{self.context.prefix}-restore-test-runs")
        policy("restore-test-missing", "No successful restore test", "CRITICAL",
               f"No restore test succeeded in {window // 3600} h (every {interval_days(cfg)} d plus the task timeout "
               f"and an hour): the backups are unproven. Check the Cloud Scheduler job and the job's executions. {how}",
               [A.AlertPolicyConditionArgs(
                   display_name=f"{t.service}: no successful restore test",
                   condition_prometheus_query_language=A.AlertPolicyConditionConditionPrometheusQueryLanguageArgs(
                       query=f'absent_over_time({series}{{monitored_resource="cloud_run_job",'
                             f'service="{t.service}",status="succeeded"}}[{window}s])',
                       duration="300s", evaluation_interval="300s"),
               ) for t in args.targets])
        limit = backup_age_limit_seconds(cfg)
        policy("restore-test-backup-age", "Restored backup too old", "CRITICAL",
               f"The newest backup a restore test found was older than {limit // 3600} h {limit % 3600 // 60} min: one "
               f"daily backup interval plus the RPO ({cfg.dr.rpo_minutes} min). Check the instance's backups "
               "(gcloud sql backups list / gcloud firestore backups list).", [
                   threshold("backup age", f'metric.type="logging.googleapis.com/user/{self.context.prefix}-restore-test-'
                             f'backup-age" AND {on_jobs}', limit, "ALIGN_PERCENTILE_99"),
               ])
        return policies


def restore_tests(
    foundation: Any,
    *managed: Any,
    monitoring: Optional[Any] = None,
) -> Optional[GcpRestoreTests]:
    """The restore tests of a GCP platform's managed data (`managed`: its Cloud SQL, Firestore ...
    components, None where off), alerting on `monitoring`'s channels (None: monitoring off)."""
    cfg = foundation.config
    if not restore_tested(cfg):
        return None
    apis = foundation.apis
    region = cfg.regions.primary
    return GcpRestoreTests(
        "restore-tests",
        GcpRestoreTestsArgs(
            context=foundation.context,
            project=foundation.project,
            region=region,
            targets=targets_of(cfg, managed, foundation.network.network.name, region),
            notification_channels=[c.name for c in monitoring.channels] if monitoring is not None else [],
            alerts=monitoring is not None,
            iam_apis=apis.needs("iam.googleapis.com"),
            project_iam_apis=apis.needs("cloudresourcemanager.googleapis.com"),
            run_apis=apis.needs(RUN_API),
            scheduler_apis=apis.needs(SCHEDULER_API),
            logging_apis=apis.needs("logging.googleapis.com"),
            monitoring_apis=apis.needs("monitoring.googleapis.com"),
        ),
    )


__all__ = [
    "GCLOUD_IMAGE", "GcpRestoreTests", "GcpRestoreTestsArgs", "PERMISSIONS", "RestoreTarget", "backup_age_limit_seconds",
    "interval_days", "job_name", "missing_after_seconds", "restore_test_apis", "restore_test_schedule", "restore_tested",
    "restore_tests", "targets_of", "throwaway_prefix",
]
