"""Backup verification on AWS (issue 14 item 5): AWS Backup restore testing, applied to every
resource of the kind in every AWS stack's offline plan.

- every database the backup plan backs up is restore-tested, from this stack's vault, with only
  the restore metadata overrides AWS Backup accepts for its resource type, into the source's
  subnets and security groups, never public, on a throwaway size;
- the schedule: daily in prod, weekly elsewhere, after every backup rule of the day has run;
- the restore role: only AWS Backup of this account assumes it, with the managed restore policy only;
- alerts: a failed restore alarms and its event reaches the alert topic (whose policy and key let
  EventBridge publish), a missing restore alarms where CloudWatch can look back far enough.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from components import schedule_windows as sw
from components.config import parse_stack_config
from components.data.registry import REGISTRY
from tests.helpers import plan_of, stack_raw_config
from tools.harness import Registration
from tools.plan import available_stacks

RESTORE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"
BACKUP_RUN_MINUTES = 60  # a snapshot after its rule's start window (tests/test_schedule_windows.py)
# What AWS Backup restore testing lets a selection override, per protected resource type (AWS Backup
# developer guide, "Restore testing inferred metadata"; keys are case-insensitive). Anything else
# fails CreateRestoreTestingSelection.
OVERRIDABLE = {
    "RDS": {"availabilityzone", "dbinstanceclass", "dbname", "dbsubnetgroupname", "iops", "multiaz",
            "optiongroupname", "port", "publiclyaccessible", "storagetype", "vpcsecuritygroupids"},
    "DocumentDB": {"availabilityzones", "dbclusterparametergroupname", "dbsubnetgroupname", "kmskeyid",
                   "port", "vpcsecuritygroupids"},
}
# AWS Backup protected resource type of each backed-up provider type
PROTECTED_TYPE = {"aws:rds/instance:Instance": "RDS", "aws:docdb/cluster:Cluster": "DocumentDB"}
# A "Restore Job State Change" event of a failed restore (AWS Backup's EventBridge events)
FAILED_RESTORE_EVENT = {
    "source": "aws.backup",
    "detail-type": "Restore Job State Change",
    "detail": {"restoreJobId": "1A2B3C", "status": "FAILED", "resourceType": "RDS",
               "statusMessage": "DB subnet group does not exist"},
}


def _resources(stack: str) -> list[Registration]:
    return [r for r in plan_of(stack).capture.resources if r.custom]


def _of_type(resources: list[Registration], type_token: str) -> list[Registration]:
    return [r for r in resources if r.type == type_token]


def _config(stack: str):
    return parse_stack_config(stack_raw_config(stack), f"Pulumi.{stack}.yaml")


def _backed_up_stacks() -> list[str]:
    return [s for s in available_stacks() if _of_type(_resources(s), "aws:backup/selection:Selection")]


@pytest.fixture(scope="module", params=_backed_up_stacks())
def stack(request) -> str:
    return request.param


def _backed_up(resources: list[Registration]) -> dict[str, Registration]:
    """ARN -> the database resource the AWS Backup plan backs up."""
    arns = {a for s in _of_type(resources, "aws:backup/selection:Selection") for a in s.inputs.get("resources", [])}
    return {a: r for r in resources if r.type in PROTECTED_TYPE for a in arns if a.endswith(f":{r.name}")}


def _selections(resources: list[Registration]) -> list[Registration]:
    return _of_type(resources, "aws:backup/restoreTestingSelection:RestoreTestingSelection")


def _plan(resources: list[Registration]) -> Registration:
    plans = _of_type(resources, "aws:backup/restoreTestingPlan:RestoreTestingPlan")
    assert len(plans) == 1, [p.urn for p in plans]
    return plans[0]


def _ends_with_name(arn: str, resources: list[Registration]) -> Registration:
    found = [r for r in resources if arn.endswith(f":{r.name}")]
    assert len(found) == 1, arn
    return found[0]


def test_the_aws_stacks_are_checked():
    assert {"prod-aws", "staging-aws"} <= set(_backed_up_stacks())


def test_every_durable_service_on_ecs_is_restore_tested_by_aws_backup():
    """The registry says how each system of record is verified; on ecs that is AWS Backup's."""
    for service in REGISTRY.values():
        chosen = service.backends["ecs"]
        if service.durable and chosen.hosted_on is None:
            assert chosen.restore_test == "aws-backup", service.name


def test_every_backed_up_database_is_restore_tested(stack):
    resources = _resources(stack)
    backed_up = _backed_up(resources)
    assert backed_up, f"{stack}: the backup plan backs up no database"
    plan = _plan(resources)
    tested: dict[str, str] = {}
    for selection in _selections(resources):
        i = selection.inputs
        assert i["restoreTestingPlanName"] == plan.inputs["name"], selection.urn
        assert "*" not in i["protectedResourceArns"], f"{selection.urn}: a wildcard restores what it finds"
        for arn in i["protectedResourceArns"]:
            tested[arn] = i["protectedResourceType"]
    assert {a: PROTECTED_TYPE[r.type] for a, r in backed_up.items()} == tested


def test_restore_metadata_overrides_are_ones_aws_backup_accepts_and_keep_the_copy_private(stack):
    resources = _resources(stack)
    backed_up = _backed_up(resources)
    for selection in _selections(resources):
        i = selection.inputs
        kind = i["protectedResourceType"]
        overrides = {k.lower(): v for k, v in (i.get("restoreMetadataOverrides") or {}).items()}
        assert set(overrides) <= OVERRIDABLE[kind], f"{selection.urn}: {sorted(set(overrides) - OVERRIDABLE[kind])}"
        (source,) = [backed_up[a] for a in i["protectedResourceArns"]]
        # into the source's isolated subnets and security groups, not the default VPC
        assert overrides["dbsubnetgroupname"] == source.inputs["dbSubnetGroupName"], selection.urn
        assert json.loads(overrides["vpcsecuritygroupids"]) == source.inputs["vpcSecurityGroupIds"], selection.urn
        if kind == "RDS":
            assert overrides["publiclyaccessible"] == "false" and overrides["multiaz"] == "false", selection.urn
            assert overrides["dbinstanceclass"] != source.inputs["instanceClass"] or not _config(stack).is_production
        assert 1 <= i["validationWindowHours"] <= 168, selection.urn


def test_the_plan_restores_the_latest_point_of_this_stacks_vault(stack):
    resources = _resources(stack)
    plan = _plan(resources)
    selection = plan.inputs["recoveryPointSelection"]
    assert selection["algorithm"] == "LATEST_WITHIN_WINDOW"
    assert selection["recoveryPointTypes"] == ["SNAPSHOT"]  # the backup plan takes snapshots only
    # the shortest window AWS Backup accepts is a day; never more than the RPO needs
    assert selection["selectionWindowDays"] == max(1, math.ceil(_config(stack).dr.rpo_minutes / 1440))
    vaults = [v for v in _of_type(resources, "aws:backup/vault:Vault") if v.provider == plan.provider]
    assert vaults, f"{stack}: no vault in the restore testing plan's region"
    expected = {f":backup-vault:{v.inputs['name']}" for v in vaults}
    assert {next(e for e in expected if arn.endswith(e)) for arn in selection["includeVaults"]} == expected
    assert 1 <= plan.inputs["startWindowHours"] <= 168


def test_schedule_daily_in_prod_weekly_elsewhere_after_the_days_backups(stack):
    resources = _resources(stack)
    plan = _plan(resources).inputs
    assert plan.get("scheduleExpressionTimezone") in (None, "Etc/UTC", "UTC")
    test = sw.aws_cron_schedule("restore test", plan["scheduleExpression"], 60)
    assert len(test.starts) == (7 if _config(stack).is_production else 1), plan["scheduleExpression"]
    for backup_plan in _of_type(resources, "aws:backup/plan:Plan"):
        for rule in backup_plan.inputs["rules"]:
            done = int(rule.get("startWindow", 480)) + BACKUP_RUN_MINUTES
            for start in sw.aws_cron_schedule(rule["ruleName"], rule["schedule"], done).starts:
                same_day = [t for t in test.starts if t // 1440 == start // 1440]
                assert all(t >= start + done for t in same_day), (
                    f"{stack}: the restore test at {sw.describe(same_day[0])} starts before rule "
                    f"{rule['ruleName']} ({sw.describe(start)}) has run"
                )


def _policy(document: Any) -> dict:
    return json.loads(document) if isinstance(document, str) else document


def test_restore_role_is_assumed_by_aws_backup_of_this_account_with_the_restore_policy_only(stack):
    resources = _resources(stack)
    roles = _of_type(resources, "aws:iam/role:Role")
    for selection in _selections(resources):
        role = _ends_with_name(selection.inputs["iamRoleArn"], roles)
        (statement,) = _policy(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "backup.amazonaws.com"}, role.urn
        assert statement["Action"] == "sts:AssumeRole" and "aws:SourceAccount" in statement["Condition"]["StringEquals"]
        attached = {a.inputs["policyArn"] for a in _of_type(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                    if a.inputs["role"] == role.inputs["name"]}
        assert attached == {RESTORE_POLICY}, f"{role.urn}: {sorted(attached)}"
        inline = [p for p in _of_type(resources, "aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] in
                  (role.inputs["name"], f"{role.name}-id")]
        assert not inline, role.urn
        assert not role.inputs.get("managedPolicyArns"), role.urn


def _alarms(resources: list[Registration]) -> list[dict]:
    return [a.inputs for a in _of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")
            if a.inputs.get("namespace") == "AWS/Backup"]


def test_a_failed_restore_from_any_vault_of_the_plan_alarms(stack):
    resources = _resources(stack)
    plan = _plan(resources)
    topics = {t.name for t in _of_type(resources, "aws:sns/topic:Topic")}
    for arn in plan.inputs["recoveryPointSelection"]["includeVaults"]:
        vault = arn.rsplit(":backup-vault:", 1)[1]
        failed = [a for a in _alarms(resources) if a["metricName"] == "NumberOfRestoreJobsFailed"
                  and a["dimensions"].get("BackupVaultName") == vault]
        assert failed, f"{stack}: no alarm on failed restores from {vault}"
        for alarm in failed:
            assert alarm["comparisonOperator"] == "GreaterThanThreshold" and alarm["threshold"] == 0
            assert alarm["treatMissingData"] == "notBreaching"
            assert any(a.rsplit(":", 1)[-1] in topics for a in alarm["alarmActions"]), alarm["name"]


def test_a_missing_restore_alarms_per_service_where_cloudwatch_can_look_back_far_enough(stack):
    resources = _resources(stack)
    config = _config(stack)
    plan = _plan(resources).inputs
    interval_hours = 24 if len(sw.aws_cron_schedule("t", plan["scheduleExpression"], 1).starts) == 7 else 7 * 24
    needed = interval_hours + plan["startWindowHours"]  # a completed restore lands at most this far apart
    missing = {a["dimensions"].get("ResourceType"): a for a in _alarms(resources)
               if a["metricName"] == "NumberOfRestoreJobsCompleted"}
    for selection in _selections(resources):
        kind = selection.inputs["protectedResourceType"]
        if needed + math.ceil(config.dr.rto_minutes / 60) > 7 * 24:
            assert kind not in missing
            assert "no 'missing' alarm" in plan_of(stack).capture.outputs["restoreTests"]
            continue
        alarm = missing.get(kind)
        assert alarm is not None, f"{stack}: nothing alarms when no {kind} restore completes"
        assert alarm["comparisonOperator"] == "LessThanThreshold" and alarm["threshold"] == 1
        assert alarm["treatMissingData"] == "breaching"
        lookback = alarm["period"] * alarm["datapointsToAlarm"] / 3600
        assert needed < lookback <= 7 * 24, alarm["name"]


def _matches(pattern: dict, event: dict) -> bool:
    """EventBridge matching for the shapes used here: every key of the pattern is in the event, a
    list matches one of its values, a dict matches recursively."""
    for key, wanted in pattern.items():
        if key not in event:
            return False
        if isinstance(wanted, dict):
            if not isinstance(event[key], dict) or not _matches(wanted, event[key]):
                return False
        elif event[key] not in wanted:
            return False
    return True


def test_a_failed_restore_event_reaches_the_alert_topic(stack):
    resources = _resources(stack)
    rules = [r for r in _of_type(resources, "aws:cloudwatch/eventRule:EventRule")
             if _matches(json.loads(r.inputs["eventPattern"]), FAILED_RESTORE_EVENT)]
    assert rules, f"{stack}: no EventBridge rule matches a failed restore job"
    aborted = {**FAILED_RESTORE_EVENT, "detail": {**FAILED_RESTORE_EVENT["detail"], "status": "ABORTED"}}
    completed = {**FAILED_RESTORE_EVENT, "detail": {**FAILED_RESTORE_EVENT["detail"], "status": "COMPLETED"}}
    assert all(_matches(json.loads(r.inputs["eventPattern"]), aborted) for r in rules)
    assert not any(_matches(json.loads(r.inputs["eventPattern"]), completed) for r in rules)
    topics = _of_type(resources, "aws:sns/topic:Topic")
    targets = [t for t in _of_type(resources, "aws:cloudwatch/eventTarget:EventTarget")
               if t.inputs["rule"] in {r.inputs["name"] for r in rules}]
    assert any(t.inputs["arn"].split(":")[2] == "sns" and _ends_with_name(t.inputs["arn"], topics) for t in targets)


def _allows(policy: dict, service: str, actions: set[str]) -> bool:
    def principals(statement: dict) -> list:
        services = (statement.get("Principal") or {}).get("Service", [])
        return [services] if isinstance(services, str) else services

    granted: set[str] = set()
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow" and service in principals(statement):
            action = statement["Action"]
            granted |= {action} if isinstance(action, str) else set(action)
    return all(any(g == a or (g.endswith("*") and a.startswith(g[:-1])) for g in granted) for a in actions)


def test_every_sns_topic_an_event_rule_targets_lets_eventbridge_publish_and_use_its_key():
    """An EventBridge target on an SNS topic is delivered only if the topic policy allows
    events.amazonaws.com to publish and, on an encrypted topic, the key policy lets it encrypt:
    otherwise the rule fires and nothing arrives (FailedInvocations)."""
    checked = 0
    for stack in available_stacks():
        resources = _resources(stack)
        topics = _of_type(resources, "aws:sns/topic:Topic")
        keys = _of_type(resources, "aws:kms/key:Key")
        for target in _of_type(resources, "aws:cloudwatch/eventTarget:EventTarget"):
            if target.inputs["arn"].split(":")[2] != "sns":
                continue
            topic = _ends_with_name(target.inputs["arn"], topics)
            policies = [p for p in _of_type(resources, "aws:sns/topicPolicy:TopicPolicy")
                        if p.inputs["arn"] == target.inputs["arn"]]
            assert any(_allows(_policy(p.inputs["policy"]), "events.amazonaws.com", {"sns:Publish"}) for p in policies), (
                f"{stack}: {topic.urn} does not let EventBridge publish"
            )
            key_arn = topic.inputs.get("kmsMasterKeyId")
            if key_arn:
                key = _ends_with_name(key_arn, keys)
                assert _allows(_policy(key.inputs["policy"]), "events.amazonaws.com",
                               {"kms:Decrypt", "kms:GenerateDataKey"}), f"{stack}: {key.urn} refuses EventBridge"
            checked += 1
    assert checked, "no event rule targets an SNS topic: the rule checks nothing"


# --- the schedule and the services follow the config ----------------------------------------------


def _variant(stack: str, overrides: dict):
    return parse_stack_config(stack_raw_config(stack, overrides), f"Pulumi.{stack}.yaml")


def test_the_test_hour_follows_the_backup_schedule_and_the_weekly_day_the_maintenance_window():
    from components.dr.restore_test_aws import missing_alarm_hours, restore_test_schedule

    assert restore_test_schedule(_config("prod-aws")) == ("cron(0 8 * * ? *)", 24)  # after the weekly 05:00
    later = {"dr": {"backupSchedule": "0 6 * * *"}}
    # daily at 06:00: start window, an hour to run and the margin -> 09:00
    assert restore_test_schedule(_variant("prod-aws", later)) == ("cron(0 9 * * ? *)", 24)
    saturday = {"dr": {"maintenanceWindow": "SAT:02:00-SAT:04:00"}}
    assert restore_test_schedule(_variant("staging-aws", saturday)) == ("cron(0 8 ? * SAT *)", 7 * 24)
    assert missing_alarm_hours(_config("prod-aws")) == 24 + 1 + 4  # interval, start window, RTO 4 h
    assert missing_alarm_hours(_config("staging-aws")) is None  # a week + more: beyond CloudWatch's 7 days


def test_only_enabled_backed_up_services_are_restore_tested():
    from components.dr.restore_test_aws import restore_tested

    assert restore_tested(_config("prod-aws")) == ["postgres", "mongodb"]
    services = stack_raw_config("prod-aws")["services"]
    without = {"data": {"mongodb": {"enabled": False}},
               "services": {n: {"uses": [u for u in s.get("uses", []) if u != "mongodb"]} for n, s in services.items()}}
    assert restore_tested(_variant("prod-aws", without)) == ["postgres"]
