"""AWS Backup restore testing (`ecs`): the backups of every system of record are restored on a
schedule, into throwaway copies that AWS Backup deletes again, and a failed or missing restore pages.

Which services: every enabled data service whose `ecs` backend has `restore_test == "aws-backup"`
in the registry (components/data/registry.py; today RDS PostgreSQL and DocumentDB). What AWS Backup
needs to know about each backend's resource is in `PROTECTED`, keyed by the backend's component;
a backend marked "aws-backup" without an entry there fails the plan.

What it creates, in the primary region (where the vault and its recovery points are):

- a restore testing plan `<prefix>_restore_tests` (AWS Backup allows letters, digits and underscores,
  1-50 characters): daily in prod, weekly elsewhere (`restore_test_schedule`, until a
  `dr.restoreTestSchedule` key exists), at the first full hour that clears every backup-plan rule of
  the day (its start + start window + run, + the schedule margin), so the test restores that day's
  recovery point; on the weekly day, the hour after the weekly rule. It selects the
  `LATEST_WITHIN_WINDOW` recovery point from this stack's vault, `SNAPSHOT` points only (the backup
  plan takes snapshots; DocumentDB has no continuous backup in AWS Backup), within 1 day: the
  shortest window AWS Backup accepts, the closest it gets to the RPO, so a test never restores a
  stale point: when no point is a day old there is nothing to restore and the "missing" alarm fires;
- per restore-tested service a selection by ARN, with the restore metadata overrides its resource
  type needs: the source's subnet group and security groups (without them AWS Backup restores into
  the default VPC, which this account need not have, and which is reachable from elsewhere), no
  public access, no Multi-AZ and a throwaway instance class for RDS (the dev tier), none for
  DocumentDB (AWS Backup restores the cluster without instances: storage only). The restored copy
  lives `VALIDATION_WINDOW_HOURS` and AWS Backup deletes it;
- an IAM role for the restores that only AWS Backup, on behalf of this account, can assume, with
  AWS's managed restore policy only (no backup or vault permissions);
- alarms on the alert topic: `<prefix>-restore-test-failed` (any restore job from the vault failed,
  `AWS/Backup` NumberOfRestoreJobsFailed) and, per service, `<prefix>-restore-test-missing-<service>`
  (no restore of its resource type completed within the interval + start window + `dr.rtoMinutes`:
  a restore that takes longer than the RTO counts as missing). CloudWatch evaluates at most 7 days,
  so a weekly test gets no "missing" alarm (the status output says so; the failure alarm and the
  event rule still cover it, and the backup-age alarm of components/dr/aws.py covers the backups);
- an EventBridge rule on AWS Backup's "Restore Job State Change" with status FAILED or ABORTED,
  to the alert topic: the event itself (restore job id, resource type, status message) within
  minutes, not at the next alarm period. It matches every restore job of the account in the
  region: a manual restore failing during an incident should page too.

Validation: AWS Backup marks a restore job COMPLETED only once the restored instance or cluster is
available -- the recovery point decrypts with its key, the engine starts from it, in the stack's
subnets. Nothing here connects to the copy (no row counts, no marker query): that needs a function
inside the VPC with the database drivers and, for DocumentDB, an instance in the restored cluster;
`PutRestoreValidationResult` is then the place to report it. Restore time and data age: AWS Backup
records them per job (creation and completion date, recovery point creation date): console, AWS
Backup > Jobs > Restore jobs (filter by the plan), or `aws backup list-restore-jobs
--by-restore-testing-plan-arn <arn>` and `aws backup describe-restore-job --restore-job-id <id>`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

import pulumi
import pulumi_aws as aws

from components import schedule_windows as sw
from components.base import PlatformComponent
from components.config import StackConfig, StackContext
from components.data.aws import DEFAULT_TIERS
from components.data.registry import backend, built_on
from components.dr.aws import retention_tiers
from components.dr.aws_common import service_role, topic_alarm
from components.naming import bounded

RESTORE_TEST = "aws-backup"  # the registry's restore_test value this module serves
RESTORE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"
# the backup plan's rules (components/dr/aws.py): start window, and how long a snapshot takes
BACKUP_START_WINDOW_MINUTES = 60
BACKUP_RUN_MINUTES = 60
START_WINDOW_HOURS = 1  # the restore job starts within an hour of the scheduled time
SELECTION_WINDOW_DAYS = 1  # the shortest AWS Backup accepts (1-365)
VALIDATION_WINDOW_HOURS = 1  # the shortest AWS Backup accepts (1-168): nothing validates longer
CLOUDWATCH_MAX_EVALUATION_HOURS = 7 * 24
PLAN_NAME_MAX = 50


@dataclass(frozen=True)
class Protected:
    """How AWS Backup restore-tests one kind of resource."""

    resource_type: str  # AWS Backup's ProtectedResourceType
    resource: Callable[[Any], Any]  # the backed-up provider resource of the data component
    overrides: Callable[[StackConfig, str, Any], Mapping[str, pulumi.Input[str]]]


def _rds_overrides(config: StackConfig, service: str, instance: aws.rds.Instance) -> dict:
    return {
        "dbsubnetgroupname": instance.db_subnet_group_name,
        "vpcsecuritygroupids": instance.vpc_security_group_ids.apply(json.dumps),
        "dbinstanceclass": DEFAULT_TIERS[service]["dev"],
        "multiaz": "false",
        "publiclyaccessible": "false",
    }


def _docdb_overrides(config: StackConfig, service: str, cluster: aws.docdb.Cluster) -> dict:
    return {
        "dbsubnetgroupname": cluster.db_subnet_group_name,
        "vpcsecuritygroupids": cluster.vpc_security_group_ids.apply(json.dumps),
    }


# backend component ("module:Class" in the registry) -> what AWS Backup restores of it
PROTECTED: Mapping[str, Protected] = {
    "components.data.rds:RdsPostgres": Protected("RDS", lambda c: c.instance, _rds_overrides),
    "components.data.documentdb:DocumentDb": Protected("DocumentDB", lambda c: c.cluster, _docdb_overrides),
}


def restore_tested(config: StackConfig) -> list[str]:
    """The enabled data services whose backups AWS Backup restore-tests on this stack."""
    return [n for n in built_on(config) if backend(n, config.platform).restore_test == RESTORE_TEST]


def plan_name(prefix: str) -> str:
    """`<prefix>_restore_tests`: AWS Backup takes letters, digits and underscores only."""
    return bounded(f"{prefix}_restore_tests".replace("-", "_"), PLAN_NAME_MAX, "_")


def restore_test_schedule(config: StackConfig) -> tuple[str, int]:
    """(AWS cron, hours between tests): daily in prod, weekly elsewhere (seed 001: daily
    verification, weekly restore tests), at the first full hour at which every backup-plan rule of
    that day has started and run, plus the schedule margin."""
    busy = BACKUP_START_WINDOW_MINUTES + BACKUP_RUN_MINUTES + sw.DEFAULT_MARGIN_MINUTES
    starts = [
        s % 1440
        for tier, expression, _ in retention_tiers(config)
        for s in sw.aws_cron_schedule(tier, expression, busy).starts
    ]
    minute = math.ceil((max(starts) + busy) / 60) * 60
    hour = (minute // 60) % 24
    if config.is_production:
        return f"cron(0 {hour} * * ? *)", 24
    window = sw.weekly_window("dr.maintenanceWindow", config.dr.maintenance_window)
    day = sw.DAYS[sw.clear_after(window)[0]]  # the day of the weekly backup rule
    return f"cron(0 {hour} ? * {day} *)", 7 * 24


def missing_alarm_hours(config: StackConfig) -> Optional[int]:
    """Hours without a completed restore after which a service's restore test counts as missing
    (interval + start window + the RTO), or None when CloudWatch cannot look back that far."""
    _, interval = restore_test_schedule(config)
    hours = interval + START_WINDOW_HOURS + math.ceil(config.dr.rto_minutes / 60)
    return hours if hours <= CLOUDWATCH_MAX_EVALUATION_HOURS else None


@dataclass(frozen=True)
class AwsRestoreTestsArgs:
    context: StackContext
    account_id: pulumi.Input[str]
    vault_name: str  # the primary vault of components/dr/aws.py
    data: Mapping[str, Any]  # data service -> its component (components/platforms/ecs.py)
    alert_topic_arn: Optional[pulumi.Input[str]] = None
    depends_on: list = field(default_factory=list)  # what creates the vault


class AwsRestoreTests(PlatformComponent):
    """Restore testing plan, selections, restore role, alarms and the failed-restore event rule.
    Exposes `plan` (None without a restore-tested service) and `status` (text for the outputs)."""

    TYPE = "aiplatform:dr:AwsRestoreTests"

    def __init__(self, name: str, args: AwsRestoreTestsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        self.args = args
        self.plan = None
        services = restore_tested(self.config)
        if not services:
            self.status = "no restore-tested data service on this stack"
            self.register_outputs({"status": self.status})
            return
        schedule, interval = restore_test_schedule(self.config)
        vault_arn = pulumi.Output.from_input(args.account_id).apply(
            lambda a: f"arn:aws:backup:{self.config.regions.primary}:{a}:backup-vault:{args.vault_name}"
        )
        self.plan = aws.backup.RestoreTestingPlan(
            self.child_name("plan"),
            aws.backup.RestoreTestingPlanArgs(
                name=plan_name(self.context.prefix),
                schedule_expression=schedule,
                schedule_expression_timezone="Etc/UTC",
                start_window_hours=START_WINDOW_HOURS,
                recovery_point_selection=aws.backup.RestoreTestingPlanRecoveryPointSelectionArgs(
                    algorithm="LATEST_WITHIN_WINDOW",
                    include_vaults=[vault_arn],
                    recovery_point_types=["SNAPSHOT"],
                    selection_window_days=SELECTION_WINDOW_DAYS,
                ),
                tags=self.labels,
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        role = self._role()
        for service in services:
            self._selection(service, role)
        self._alarms(services)
        self._failed_event_rule()
        missing = missing_alarm_hours(self.config)
        every = "daily" if interval == 24 else "weekly"
        self.status = (
            f"{every} restore test ({schedule} UTC) of {', '.join(services)} from vault {args.vault_name}; "
            + (f"alarm when none completed in {missing} h" if missing else
               "no 'missing' alarm (CloudWatch looks back 7 days at most); failures alarm and page")
            + f"; restore times: aws backup list-restore-jobs --by-restore-testing-plan-arn <plan arn> "
            f"(plan {plan_name(self.context.prefix)})"
        )
        self.register_outputs({"plan": self.plan.name, "status": self.status})

    def _role(self) -> aws.iam.Role:
        role = service_role(
            self, self.args.account_id, "role", "restore-tests",
            "AWS Backup restore testing: restore the latest recovery points into throwaway copies", "backup.amazonaws.com",
        )
        self._role_policy = aws.iam.RolePolicyAttachment(
            self.child_name("role", "restores"),
            aws.iam.RolePolicyAttachmentArgs(role=role.name, policy_arn=RESTORE_POLICY),
            opts=self.child_opts(),
        )
        return role

    def _selection(self, service: str, role: aws.iam.Role) -> None:
        component_path = backend(service, self.config.platform).component
        protected = PROTECTED.get(component_path)
        if protected is None:
            raise LookupError(f"{component_path} is restore-tested by AWS Backup but has no entry in PROTECTED")
        resource = protected.resource(self.args.data[service])
        aws.backup.RestoreTestingSelection(
            self.child_name(service),
            aws.backup.RestoreTestingSelectionArgs(
                name=service,
                restore_testing_plan_name=self.plan.name,
                protected_resource_type=protected.resource_type,
                protected_resource_arns=[resource.arn],
                iam_role_arn=role.arn,
                restore_metadata_overrides=protected.overrides(self.config, service, resource),
                validation_window_hours=VALIDATION_WINDOW_HOURS,
            ),
            # the role must carry its permissions before the first restore runs
            opts=self.child_opts(depends_on=[self._role_policy]),
        )

    def _alarm(self, key: str, description: str, *, notify_ok: bool = True, **metric: Any) -> None:
        topic_alarm(self, self.args.alert_topic_arn, key, description, notify_ok=notify_ok,
                    namespace="AWS/Backup", statistic="Sum", period=3600, **metric)

    def _alarms(self, services: list[str]) -> None:
        vault = self.args.vault_name
        self._alarm(
            "restore-test-failed",
            f"a restore job from vault {vault} failed: the backup may not be restorable (docs/deploy-aws.md, "
            "'Restore tests')",
            notify_ok=False,
            metric_name="NumberOfRestoreJobsFailed",
            dimensions={"BackupVaultName": vault},
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
        )
        hours = missing_alarm_hours(self.config)
        if hours is None:
            return
        for service in services:
            resource_type = PROTECTED[backend(service, self.config.platform).component].resource_type
            self._alarm(
                f"restore-test-missing-{service}",
                f"no restore of {service} ({resource_type}) from vault {vault} completed in {hours} h: the restore "
                f"test did not run, found no recovery point a day old, or took longer than the RTO",
                metric_name="NumberOfRestoreJobsCompleted",
                dimensions={"BackupVaultName": vault, "ResourceType": resource_type},
                evaluation_periods=hours,
                datapoints_to_alarm=hours,
                comparison_operator="LessThanThreshold",
                threshold=1,
                treat_missing_data="breaching",
            )

    def _failed_event_rule(self) -> None:
        if self.args.alert_topic_arn is None:
            return
        rule = aws.cloudwatch.EventRule(
            self.child_name("restore-failed"),
            aws.cloudwatch.EventRuleArgs(
                name=f"{self.context.prefix}-restore-job-failed",
                description="AWS Backup restore jobs (restore tests and manual restores) that failed or were aborted",
                event_pattern=json.dumps({
                    "source": ["aws.backup"],
                    "detail-type": ["Restore Job State Change"],
                    "detail": {"status": ["FAILED", "ABORTED"]},
                }),
                tags=self.labels,
            ),
            opts=self.child_opts(),
        )
        aws.cloudwatch.EventTarget(
            self.child_name("restore-failed", "alerts"),
            aws.cloudwatch.EventTargetArgs(rule=rule.name, arn=self.args.alert_topic_arn),
            opts=self.child_opts(),
        )
