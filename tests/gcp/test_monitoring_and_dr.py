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


def test_bucket_is_private_versioned_and_retained(bucket):
    reg = bucket.one("gcp:storage/bucket:Bucket")
    b = reg.inputs
    assert b["location"] == "US" and b["uniformBucketLevelAccess"] is True
    assert b["publicAccessPrevention"] == "enforced" and b["versioning"] == {"enabled": True}
    assert b["retentionPolicy"]["retentionPeriod"] == 30 * 86400
    assert b["forceDestroy"] is False and reg.protect is True
    iam = bucket.one("gcp:storage/bucketIAMMember:BucketIAMMember").inputs
    assert (iam["member"], iam["role"]) == ("serviceAccount:backup@x", "roles/storage.objectUser")


def test_lifecycle_rules_implement_the_seed_tiers(bucket):
    rules = bucket.one("gcp:storage/bucket:Bucket").inputs["lifecycleRules"]
    deletes = {tuple(r["condition"].get("matchesPrefixes", [])): r["condition"].get("age") for r in rules if r["action"]["type"] == "Delete"}
    assert deletes[("daily/",)] == 30 and deletes[("weekly/",)] == 84
    assert deletes[("monthly/",)] == 372 and deletes[("yearly/",)] == 7 * 366
    classes = {r["condition"]["matchesPrefixes"][0]: r["action"]["storageClass"] for r in rules if r["action"]["type"] == "SetStorageClass"}
    assert classes == {"weekly/": "NEARLINE", "monthly/": "COLDLINE", "yearly/": "ARCHIVE"}
    noncurrent = [r for r in rules if r["condition"].get("daysSinceNoncurrentTime")]
    assert noncurrent and noncurrent[0]["condition"]["withState"] == "ARCHIVED"


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
    assert job["schedule"] == "0 2 * * *" and job["timeZone"] == "Etc/UTC"
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
    cfg = make_context("staging").config
    report = failover_report(
        cfg, prefix="aia-staging", postgres_replica=None, firestore_location="us-central1",
        redis_instance="r", rabbitmq_disk="d", rabbitmq_snapshot_minutes=60, backup_bucket="b",
    )
    assert report["achievedRpoMinutes"]["systemsOfRecord"] == 24 * 60
    assert report["meetsTargets"] is False and "rebuild" in report["runbook"][0]
