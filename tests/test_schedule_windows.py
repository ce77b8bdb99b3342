"""No scheduled job of any stack starts inside a backup or maintenance window of what it touches.

Windows come from the plan of every stack, as the providers will receive them: Cloud SQL backup
start (+4 h) and maintenance (1 h), Memorystore maintenance (1 h), RDS / DocumentDB maintenance
and backup windows, ElastiCache maintenance and snapshot windows, Amazon MQ maintenance (2 h).
Jobs: Cloud Scheduler jobs (touching the Cloud SQL instances their workflow exports) and AWS
Backup plan rules (touching the RDS instances and DocumentDB clusters their selection lists),
each busy for its start window plus its run. A job must clear every window by
`DEFAULT_MARGIN_MINUTES` on both sides (`components/schedule_windows.py`).
"""

from __future__ import annotations



import pytest

from components import schedule_windows as sw
from tests.helpers import dig, plan_of
from tools.plan import available_stacks

EXPORT_RUN_MINUTES = 60  # a serverless export of the app database
BACKUP_RUN_MINUTES = 60  # an AWS Backup snapshot after it starts


def _windows(resources) -> dict[str, list[sw.Window]]:
    """Busy windows by the name a job refers to them with (Cloud SQL name, AWS service kind)."""
    found: dict[str, list[sw.Window]] = {}

    def add(key: str, window: sw.Window) -> None:
        found.setdefault(key, []).append(window)

    for r in resources:
        i = r.inputs
        if r.type == "gcp:sql/databaseInstance:DatabaseInstance":
            start = dig(i, "settings.backupConfiguration.startTime")
            if start and dig(i, "settings.backupConfiguration.enabled"):
                add(i["name"], sw.daily_from(f"{i['name']} backups", start, sw.CLOUD_SQL_BACKUP_WINDOW_MINUTES))
            maintenance = dig(i, "settings.maintenanceWindow")
            if maintenance:
                add(i["name"], sw.weekday_at(f"{i['name']} maintenance", int(maintenance["day"]),
                                             int(maintenance.get("hour", 0)) * 60, sw.CLOUD_SQL_MAINTENANCE_MINUTES))
        elif r.type == "gcp:redis/instance:Instance":
            for w in dig(i, "maintenancePolicy.weeklyMaintenanceWindows", []) or []:
                start = w["startTime"]
                add(i["name"], sw.weekday_at(f"{i['name']} maintenance", w["day"],
                                             int(start.get("hours", 0)) * 60 + int(start.get("minutes", 0)),
                                             sw.MEMORYSTORE_MAINTENANCE_MINUTES))
        elif r.type in ("aws:rds/instance:Instance", "aws:docdb/cluster:Cluster"):
            kind = "rds" if r.type.startswith("aws:rds") else "docdb"
            for key in ("maintenanceWindow", "preferredMaintenanceWindow"):
                if i.get(key):
                    add(kind, sw.weekly_window(f"{r.name} maintenance", i[key]))
            for key in ("backupWindow", "preferredBackupWindow"):
                if i.get(key):
                    add(kind, sw.daily_window(f"{r.name} backups", i[key]))
        elif r.type == "aws:elasticache/replicationGroup:ReplicationGroup":
            if i.get("maintenanceWindow"):
                add("elasticache", sw.weekly_window(f"{r.name} maintenance", i["maintenanceWindow"]))
            if i.get("snapshotWindow"):
                add("elasticache", sw.daily_window(f"{r.name} snapshots", i["snapshotWindow"]))
        elif r.type == "aws:mq/broker:Broker" and i.get("maintenanceWindowStartTime"):
            start = i["maintenanceWindowStartTime"]
            hour, minute = start["timeOfDay"].split(":")
            add("mq", sw.weekday_at(f"{r.name} maintenance", start["dayOfWeek"], int(hour) * 60 + int(minute),
                                    sw.AMAZON_MQ_MAINTENANCE_MINUTES))
    return found


def _jobs(resources) -> list[tuple[sw.Schedule, list[str]]]:
    """(schedule, the window keys it touches) for every scheduled job of the stack."""
    jobs = []
    workflows = {r.inputs.get("name"): r.inputs.get("sourceContents", "") for r in resources
                 if r.type == "gcp:workflows/workflow:Workflow"}
    sql_names = [r.inputs["name"] for r in resources if r.type == "gcp:sql/databaseInstance:DatabaseInstance"]
    for r in resources:
        i = r.inputs
        if r.type == "gcp:cloudscheduler/job:Job":
            source = workflows.get(i["name"], "")
            touched = [name for name in sql_names if f'"{name}"' in source]
            jobs.append((sw.cron_schedule(f"{r.name} ({i['schedule']})", i["schedule"], EXPORT_RUN_MINUTES), touched))
        elif r.type == "aws:backup/plan:Plan":
            selections = [s for s in resources if s.type == "aws:backup/selection:Selection"]
            arns = [a for s in selections for a in s.inputs.get("resources", [])]
            touched = sorted({kind for kind in ("rds", "docdb") for a in arns if f":{kind}:" in a})
            for rule in i.get("rules", []):
                busy = int(rule.get("startWindow", 480)) + BACKUP_RUN_MINUTES
                label = f"{r.name} rule {rule['ruleName']} ({rule['schedule']})"
                jobs.append((sw.aws_cron_schedule(label, rule["schedule"], busy), touched))
    return jobs


def schedule_conflicts(stack: str) -> tuple[list[str], int]:
    resources = plan_of(stack).capture.resources
    windows = _windows(resources)
    problems, checked = [], 0
    for schedule, touched in _jobs(resources):
        for key in touched:
            checked += 1
            problems += sw.conflicts(schedule, windows.get(key, []))
    return problems, checked


@pytest.mark.parametrize("stack", available_stacks())
def test_no_scheduled_job_overlaps_a_window_of_what_it_touches(stack):
    problems, _ = schedule_conflicts(stack)
    assert not problems


def test_the_cloud_stacks_have_jobs_and_windows_to_check():
    for stack in ("staging", "prod", "prod-gke", "prod-aws"):
        _, checked = schedule_conflicts(stack)
        assert checked, f"{stack}: no job touches a windowed service; the rule checks nothing"


# --- the parser and the overlap rule ----------------------------------------------------------


def test_cron_dialects_land_on_the_same_weekly_clock():
    sunday_two = 6 * 1440 + 120
    assert sw.cron_schedule("j", "0 2 * * 0", 1).starts == {sunday_two}
    assert sw.cron_schedule("j", "0 2 * * SUN", 1).starts == {sunday_two}
    assert sw.aws_cron_schedule("j", "cron(0 2 ? * SUN *)", 1).starts == {sunday_two}
    assert sw.aws_cron_schedule("j", "cron(0 2 ? * 1 *)", 1).starts == {sunday_two}
    assert len(sw.cron_schedule("j", "0 2 * * *", 1).starts) == 7
    assert len(sw.aws_cron_schedule("j", "cron(0 2 1 * ? *)", 1).starts) == 7  # the 1st can be any weekday
    assert len(sw.cron_schedule("j", "*/15 1-2 * * MON-FRI", 1).starts) == 5 * 2 * 4


@pytest.mark.parametrize(
    "expression, aws, clear",
    [
        ("cron(0 2 ? * SUN *)", True, False),  # issue 11: inside SUN 02:00-04:00
        ("cron(0 5 ? * SUN *)", True, True),  # an hour after it ends
        ("cron(0 4 ? * SUN *)", True, False),  # right at the end: no margin
        ("0 2 * * *", False, False),  # the old export: inside Cloud SQL's backup window and Sunday's
        ("0 7 * * *", False, True),
    ],
)
def test_overlap_needs_the_margin(expression, aws, clear):
    windows = [sw.weekly_window("maintenance", "SUN:02:00-SUN:04:00"), sw.daily_from("backups", "02:00", 240)]
    parse = sw.aws_cron_schedule if aws else sw.cron_schedule
    job = parse("job", expression, 30)
    relevant = windows[:1] if aws else windows
    assert (not sw.conflicts(job, relevant)) is clear


def test_windows_wrap_around_the_week():
    late_sunday = sw.weekly_window("m", "SUN:23:00-MON:01:00")
    assert sw.conflicts(sw.cron_schedule("j", "30 0 * * 1", 10), [late_sunday])
    assert sw.weekday_at("w", 7, 120, 60).starts == {6 * 1440 + 120}  # Cloud SQL day 7 = Sunday
    assert sw.weekday_at("w", "SUNDAY", 120, 60).starts == {6 * 1440 + 120}


