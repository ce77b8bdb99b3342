"""Cloud Monitoring, the backup bucket, the scheduled exports and the DR report, each alone."""

from __future__ import annotations

import json

import pytest
import yaml

from components.dr.gcp import (
    BucketWriter,
    GcpBackupBucket,
    GcpBackupBucketArgs,
    ScheduledBackupExports,
    ScheduledBackupExportsArgs,
    backup_workflow_source,
    failover_report,
)
from components.monitoring.gcp import CloudMonitoring, CloudMonitoringArgs, UptimeTarget
from tests.gcp.support import PROJECT, run_gcp
from tests.helpers import make_context

ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"


def _monitoring(c, **kw):
    return CloudMonitoring(
        "monitoring",
        CloudMonitoringArgs(
            context=c,
            project=PROJECT,
            uptime_targets=[
                UptimeTarget("frontend", "app.ai-assistant.example.com", "/api/health"),
                UptimeTarget("api", "api.ai-assistant.example.com", "/health"),
            ],
            provided_secrets=c.provided_secrets,
            cloud_sql_instances=["aia-prod-postgres"],
            redis_instances=["aia-prod-redis"],
            backup_freshness_query="absent_over_time(x[26h])",
            **kw,
        ),
    )


@pytest.fixture(scope="module")
def monitoring():
    return run_gcp(_monitoring)


def _alerts(run):
    return {r.name.removeprefix("monitoring-alert-"): r.inputs for r in run.of_type(ALERT)}


def test_notification_channels_keep_credentials_in_sensitive_labels(monitoring):
    channels = {c.inputs["type"]: c.inputs for c in monitoring.of_type(CHANNEL) if c.inputs["type"] != "email"}
    emails = [c.inputs["labels"]["email_address"] for c in monitoring.of_type(CHANNEL) if c.inputs["type"] == "email"]
    assert sorted(emails) == ["oncall@example.com", "platform-alerts@example.com"]
    assert channels["slack"]["labels"] == {"channel_name": "#ai-assistant-alerts"}
    assert channels["slack"]["sensitiveLabels"] == {"authToken": "[secret]"}
    assert channels["pagerduty"]["sensitiveLabels"] == {"serviceKey": "[secret]"}
    assert "placeholder" not in json.dumps([c.inputs for c in monitoring.of_type(CHANNEL)])


def test_uptime_check_on_every_public_health_endpoint(monitoring):
    checks = {c.inputs["monitoredResource"]["labels"]["host"]: c.inputs for c in monitoring.of_type("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")}
    assert set(checks) == {"app.ai-assistant.example.com", "api.ai-assistant.example.com"}
    api = checks["api.ai-assistant.example.com"]
    assert api["httpCheck"]["path"] == "/health" and api["httpCheck"]["useSsl"] is True and api["httpCheck"]["validateSsl"] is True
    assert api["period"] == "60s"


def test_alerts_use_the_seed_thresholds(monitoring):
    alerts = _alerts(monitoring)
    assert {"service-down", "error-rate", "latency", "instance-cpu", "instance-memory", "aia-prod-postgres-down",
            "aia-prod-postgres-resources", "aia-prod-redis-memory", "backup-age"} <= set(alerts)
    down = alerts["service-down"]["conditions"]
    assert len(down) == 2 and all(c["conditionThreshold"]["duration"] == "60s" for c in down)
    error = alerts["error-rate"]["conditions"][0]["conditionPrometheusQueryLanguage"]
    assert error["query"].endswith("> 0.05") and error["duration"] == "120s" and "5xx" in error["query"]
    latency = alerts["latency"]["conditions"][0]["conditionPrometheusQueryLanguage"]
    assert "histogram_quantile(0.95" in latency["query"] and latency["query"].endswith("> 2000") and latency["duration"] == "300s"
    cpu = alerts["instance-cpu"]["conditions"][0]["conditionThreshold"]
    assert cpu["thresholdValue"] == pytest.approx(0.8) and cpu["duration"] == "300s"
    sql = {c["displayName"]: c["conditionThreshold"] for c in alerts["aia-prod-postgres-resources"]["conditions"]}
    assert sql["disk"]["thresholdValue"] == pytest.approx(0.85)
    assert sql["connections"]["thresholdValue"] == 160  # 80 % of max_connections 200
    assert alerts["aia-prod-redis-memory"]["conditions"][0]["conditionThreshold"]["thresholdValue"] == pytest.approx(0.8)
    assert alerts["backup-age"]["conditions"][0]["conditionPrometheusQueryLanguage"]["query"] == "absent_over_time(x[26h])"
    for alert in alerts.values():
        assert len(alert["notificationChannels"]) == 4


def test_token_metric_and_dashboard(monitoring):
    metric = monitoring.one("gcp:logging/metric:Metric").inputs
    assert 'jsonPayload.event="ai_usage"' in metric["filter"]
    assert metric["valueExtractor"] == "EXTRACT(jsonPayload.total_tokens)"
    assert metric["metricDescriptor"]["valueType"] == "DISTRIBUTION"
    dashboard = json.loads(monitoring.one("gcp:monitoring/dashboard:Dashboard").inputs["dashboardJson"])
    titles = [t["widget"]["title"] for t in dashboard["mosaicLayout"]["tiles"]]
    assert {"Requests per second", "p95 latency (ms)", "5xx ratio", "AI tokens per minute"} <= set(titles)


def test_no_budget_without_a_billing_account(monitoring):
    assert not monitoring.of_type("gcp:billing/budget:Budget")


def test_budgets_with_the_seed_amounts_when_a_billing_account_is_set():
    run = run_gcp(_monitoring, overrides={"monitoring": {"budgets": {"billingAccount": "000000-AAAAAA-BBBBBB"}}})
    budgets = {b.inputs["displayName"]: b.inputs for b in run.of_type("gcp:billing/budget:Budget")}
    infra = budgets["aia-prod infrastructure monthly"]
    assert infra["amount"]["specifiedAmount"]["units"] == "500"
    assert infra["budgetFilter"]["projects"] == ["projects/123456789012"]
    assert budgets["aia-prod storage monthly"]["amount"]["specifiedAmount"]["units"] == "50"
    assert {r["thresholdPercent"] for r in infra["thresholdRules"]} == {0.5, 0.9, 1.0}


def test_gke_reuse_skips_cloud_run_alerts():
    alerts = _alerts(run_gcp(lambda c: _monitoring(c, cloud_run=False)))
    assert not {"error-rate", "latency", "instance-cpu", "instance-memory"} & set(alerts)


# --- backup bucket and exports ----------------------------------------------------------------


@pytest.fixture(scope="module")
def bucket():
    return run_gcp(
        lambda c: GcpBackupBucket(
            "backups",
            GcpBackupBucketArgs(
                context=c,
                project=PROJECT,
                name="test-project-prod-backups",
                location="US",
                writers=[BucketWriter("workflow", "serviceAccount:backup@x", "roles/storage.objectUser")],
            ),
        )
    )


def test_bucket_is_private_retained_and_unversioned(bucket):
    reg = bucket.one("gcp:storage/bucket:Bucket", "backups-bucket")
    b = reg.inputs
    assert b["location"] == "US" and b["uniformBucketLevelAccess"] is True
    assert b["publicAccessPrevention"] == "enforced"
    # Cloud Storage refuses Object Versioning next to a retention policy; the policy blocks overwrites
    assert "versioning" not in b or not b["versioning"].get("enabled")
    assert b["retentionPolicy"]["retentionPeriod"] == 30 * 86400
    assert b["forceDestroy"] is False and reg.protect is True
    writers = {(m.inputs["member"], m.inputs["role"]) for m in bucket.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")}
    assert ("serviceAccount:backup@x", "roles/storage.objectUser") in writers


def test_bucket_access_is_logged_to_a_private_log_bucket(bucket):
    b = bucket.one("gcp:storage/bucket:Bucket", "backups-bucket")
    logs = bucket.one("gcp:storage/bucket:Bucket", "backups-access-logs").inputs
    assert b.inputs["logging"]["logBucket"] == logs["name"] == "test-project-prod-backups-logs"
    assert logs["publicAccessPrevention"] == "enforced" and logs["uniformBucketLevelAccess"] is True
    assert logs["location"] == b.inputs["location"]
    writer = bucket.one("gcp:storage/bucketIAMMember:BucketIAMMember", "backups-access-logs-writer")
    assert writer.inputs["member"] == "group:cloud-storage-analytics@google.com"
    assert writer.inputs["role"] == "roles/storage.objectCreator"
    assert writer.urn in b.dependencies  # logs are delivered only once the writer may write


def test_log_bucket_name_stays_within_63_characters():
    from components.dr.gcp import log_bucket_name

    long = "p" * 40 + "-prod-gke-backups"
    assert len(log_bucket_name(long)) <= 63 and log_bucket_name(long).endswith("-logs")
    assert log_bucket_name(long) != log_bucket_name(long[:-1])


def test_teardown_bucket_can_be_emptied_and_deleted():
    run = run_gcp(
        lambda c: GcpBackupBucket(
            "backups",
            GcpBackupBucketArgs(context=c, project=PROJECT, name="p-staging-backups", location="US", teardown=True),
        ),
        stack="staging",
    )
    for reg in run.of_type("gcp:storage/bucket:Bucket"):
        assert reg.inputs["forceDestroy"] is True and "retentionPolicy" not in reg.inputs, reg.name


def test_lifecycle_rules_implement_the_seed_tiers(bucket):
    rules = bucket.one("gcp:storage/bucket:Bucket", "backups-bucket").inputs["lifecycleRules"]
    deletes = {tuple(r["condition"].get("matchesPrefixes", [])): r["condition"].get("age") for r in rules if r["action"]["type"] == "Delete"}
    assert deletes[("daily/",)] == 30 and deletes[("weekly/",)] == 84
    assert deletes[("monthly/",)] == 372 and deletes[("yearly/",)] == 7 * 366
    classes = {r["condition"]["matchesPrefixes"][0]: r["action"]["storageClass"] for r in rules if r["action"]["type"] == "SetStorageClass"}
    assert classes == {"weekly/": "NEARLINE", "monthly/": "COLDLINE", "yearly/": "ARCHIVE"}
    # nothing is versioned, so there is no noncurrent-version rule
    assert not [r for r in rules if r["condition"].get("daysSinceNoncurrentTime")]


def test_exports_run_daily_with_their_own_identity():
    run = run_gcp(
        lambda c: ScheduledBackupExports(
            "exports",
            ScheduledBackupExportsArgs(
                context=c,
                project=PROJECT,
                region="us-central1",
                bucket_name="b",
                service_account_email="backup@x",
                postgres=("aia-prod-postgres", "app"),
                firestore_database="aia-prod-mongo",
            ),
        )
    )
    workflow = run.one("gcp:workflows/workflow:Workflow").inputs
    assert workflow["serviceAccount"] == "backup@x"
    source = yaml.safe_load(workflow["sourceContents"])
    steps = [next(iter(s)) for s in source["main"]["steps"]]
    assert steps[:4] == ["init", "weekly", "monthly", "yearly"] and "export_postgres" in steps and "export_firestore" in steps
    job = run.one("gcp:cloudscheduler/job:Job").inputs
    # an hour clear of the 02:00-06:00 Cloud SQL backup window and the Sunday maintenance window
    assert job["schedule"] == "0 7 * * *" and job["timeZone"] == "Etc/UTC"
    assert job["httpTarget"]["oauthToken"]["serviceAccountEmail"] == "backup@x"
    assert job["httpTarget"]["uri"] == "https://workflowexecutions.googleapis.com/v1/exports-workflow-id/executions"


def test_workflow_without_data_services_only_computes_tiers():
    source = yaml.safe_load(backup_workflow_source("b", None, None))
    assert [next(iter(s)) for s in source["main"]["steps"]] == ["init", "weekly", "monthly", "yearly", "done"]


def test_failover_report_prod_meets_the_targets():
    cfg = make_context("prod").config
    report = failover_report(
        cfg, prefix="aia-prod", postgres_replica="aia-prod-postgres-europe-west1", firestore_location="nam5",
        redis_instance="aia-prod-redis", rabbitmq_disk="aia-prod-rabbitmq-data", rabbitmq_snapshot_minutes=60,
        backup_bucket="b",
    )
    assert report["meetsTargets"] is True
    assert report["achievedRpoMinutes"] == {"postgres": 1, "mongodb": 0, "systemsOfRecord": 1}
    assert report["achievedRtoMinutes"]["statelessServices"] == 1.5
    assert any("promote-replica aia-prod-postgres-europe-west1" in step for step in report["runbook"])


def test_failover_report_single_region_is_honest_about_rpo():
    cfg = make_context("staging", {"dr": {"rpoMinutes": 60}}).config  # staging's own target is 1440
    report = failover_report(
        cfg, prefix="aia-staging", postgres_replica=None, firestore_location="us-central1",
        redis_instance="r", rabbitmq_disk="d", rabbitmq_snapshot_minutes=60, backup_bucket="b",
    )
    assert report["achievedRpoMinutes"]["systemsOfRecord"] == 24 * 60
    assert report["meetsTargets"] is False and "rebuild" in report["runbook"][0]


def _object_writes(source: str) -> list[str]:
    """The object-name expressions of every export and copy the workflow source makes."""
    import re

    return re.findall(r"(?:uri|outputUriPrefix|destinationObject): (\$\{.*\})", source)


def test_every_export_writes_a_run_unique_object_and_never_overwrites():
    source = backup_workflow_source("b", ("aia-prod-postgres", "app"), "aia-prod-mongo")
    writes = _object_writes(source)
    assert len(writes) == 3  # postgres export, tier copies, firestore exports
    for expression in writes:
        # `run` is `<date>-<execution id>`: a same-day re-run writes new objects, which the retention
        # policy allows, instead of overwriting a retained one, which it refuses
        assert "+ run" in expression and "+ day" not in expression, expression
    init = yaml.safe_load(source)["main"]["steps"][0]["init"]["assign"]
    run = next(a["run"] for a in init if "run" in a)
    assert "GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID" in run
    copy = yaml.safe_load(source)["main"]["steps"]
    copy_args = [s for s in copy if "copy_postgres" in s][0]["copy_postgres"]["for"]["steps"][0]["copy"]["switch"][0]
    assert copy_args["steps"][0]["copy_object"]["args"]["ifGenerationMatch"] == 0


def test_cloud_sql_export_is_serverless_and_retried_while_the_instance_is_busy():
    source = yaml.safe_load(backup_workflow_source("b", ("aia-prod-postgres", "app"), None))
    export = [s for s in source["main"]["steps"] if "export_postgres" in s][0]["export_postgres"]
    assert export["try"]["call"] == "googleapis.sqladmin.v1.instances.export"
    assert export["try"]["args"]["body"]["exportContext"]["offload"] is True
    assert export["retry"]["predicate"] == "${cloud_sql_busy}" and export["retry"]["max_retries"] >= 5
    busy = source["cloud_sql_busy"]
    conditions = " ".join(c["condition"] for c in busy["steps"][0]["check"]["switch"])
    assert "409" in conditions and "operationInProgress" in conditions


# Predefined roles that can import into (overwrite) a Firestore or Cloud SQL database.
IMPORTING_ROLES = {
    "roles/datastore.importExportAdmin", "roles/datastore.owner", "roles/datastore.user",
    "roles/cloudsql.admin", "roles/cloudsql.editor", "roles/owner", "roles/editor",
}


@pytest.mark.parametrize("stack", ["staging", "prod", "prod-gke"])
def test_the_backup_identity_can_export_but_never_import(stack):
    from tests.helpers import plan_of

    resources = plan_of(stack).capture.resources
    custom = {r.urn: r for r in resources if r.type == "gcp:projects/iAMCustomRole:IAMCustomRole"}
    grants = [
        r for r in resources
        if r.type == "gcp:projects/iAMMember:IAMMember" and "-backup@" in str(r.inputs.get("member"))
    ]
    assert grants
    for grant in grants:
        assert grant.inputs["role"] not in IMPORTING_ROLES, grant.name
        for urn in grant.dependencies:
            if urn in custom:
                permissions = custom[urn].inputs["permissions"]
                assert not [p for p in permissions if p.split(".")[-1] in ("import", "create", "update", "delete")]
    exports_firestore = any(r.type == "gcp:firestore/database:Database" for r in resources)
    granted_custom = [u for g in grants for u in g.dependencies if u in custom]
    if exports_firestore:
        # the export-only role exists before it is granted, and it can export
        assert len(granted_custom) == 1
        assert "datastore.databases.export" in custom[granted_custom[0]].inputs["permissions"]
