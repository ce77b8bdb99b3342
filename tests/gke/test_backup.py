"""Backup for GKE alone: the platform namespace with volumes and secrets, the seeds' tiers."""

from __future__ import annotations

import pytest

from components.dr.gke_backup import GkeBackup, GkeBackupArgs
from tests.gke.common import PROD_GKE, STAGING_GKE
from tests.helpers import problem_lines, run_component

PLAN = "gcp:gkebackup/backupPlan:BackupPlan"
CLUSTER_ID = "projects/p/locations/us-central1/clusters/aia-prod-gke"


def build(context, key=None):
    GkeBackup("gke-backup", GkeBackupArgs(context, CLUSTER_ID, "ai-assistant", encryption_key=key))


@pytest.fixture(scope="module")
def prod():
    return run_component(build, overrides=PROD_GKE)


def plans(capture):
    return {p.name.rsplit("-", 1)[1]: p for p in capture.of_type(PLAN)}


def test_daily_plan_backs_up_the_namespace_with_volumes_and_secrets(prod):
    daily = plans(prod)["daily"].inputs
    assert daily["cluster"] == CLUSTER_ID
    assert daily["backupConfig"]["selectedNamespaces"] == {"namespaces": ["ai-assistant"]}
    assert daily["backupConfig"]["includeVolumeData"] is True
    assert daily["backupConfig"]["includeSecrets"] is True
    assert daily["backupSchedule"] == {"cronSchedule": "0 2 * * *", "paused": False}
    assert daily["retentionPolicy"]["backupRetainDays"] == 30  # seed 002: daily kept 30 days


def test_weekly_and_monthly_tiers_follow_the_seed_retention(prod):
    found = plans(prod)
    assert found["weekly"].inputs["backupSchedule"]["cronSchedule"] == "0 2 * * 0"
    assert found["weekly"].inputs["retentionPolicy"]["backupRetainDays"] == 12 * 7
    assert found["monthly"].inputs["backupSchedule"]["cronSchedule"] == "0 2 1 * *"
    assert found["monthly"].inputs["retentionPolicy"]["backupRetainDays"] == 365  # Backup for GKE maximum


def test_plans_live_in_the_dr_region_and_are_protected_in_prod(prod):
    for plan in prod.of_type(PLAN):
        assert plan.inputs["location"] == "europe-west1"
        assert plan.protect
        assert plan.inputs["retentionPolicy"]["backupDeleteLockDays"] > 0
        assert "encryptionKey" not in plan.inputs["backupConfig"]
    staging = run_component(build, overrides={**STAGING_GKE, "dr": {"retention": {"weeklyWeeks": 0, "monthlyMonths": 0}}})
    assert sorted(plans(staging)) == ["daily", "frequent"]  # the frequent plan always exists (its RPO plan)
    assert all(p.inputs["location"] == "us-central1" and not p.protect for p in staging.of_type(PLAN))


def test_optional_encryption_key_and_retention_limit():
    key = "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/backups"
    with_key = run_component(lambda ctx: build(ctx, key), overrides=PROD_GKE)
    assert all(p.inputs["backupConfig"]["encryptionKey"] == {"gcpKmsEncryptionKey": key} for p in with_key.of_type(PLAN))
    assert "dr.retention.dailyDays = 400: Backup for GKE keeps a backup at most 365 days" in problem_lines(
        "prod-gke", {"dr": {"retention": {"dailyDays": 400}}}
    )


# --- MongoDB dumps copied into the tiered backup bucket (issue 9 item 8) -----------------------

from components.dr.gke_offsite import OffsiteDumpAccess, OffsiteDumpAccessArgs  # noqa: E402
from tests.helpers import plan_of  # noqa: E402

BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"
SA_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
TIERS = ["daily/", "weekly/", "monthly/", "yearly/"]


def offsite_access(context):
    OffsiteDumpAccess(
        "backups-offsite",
        OffsiteDumpAccessArgs(
            context,
            bucket_name="p-prod-gke-backups",
            bucket="p-prod-gke-backups",
            tiers=TIERS,
            account="projects/p/serviceAccounts/dump@p.iam.gserviceaccount.com",
            member="serviceAccount:dump@p.iam.gserviceaccount.com",
            workload_pool="p.svc.id.goog",
            namespace="ai-assistant",
            service="mongodb",
        ),
    )


def test_the_dump_identity_may_only_create_objects_under_its_tier_prefixes():
    capture = run_component(offsite_access, overrides=PROD_GKE)
    grant = capture.one(BUCKET_IAM).inputs
    assert grant["role"] == "roles/storage.objectCreator"  # create; no read, list, replace or delete
    expression = grant["condition"]["expression"]
    for tier in TIERS:
        assert f'resource.name.startsWith("projects/_/buckets/p-prod-gke-backups/objects/{tier}mongodb/")' in expression
    assert expression.count("startsWith") == len(TIERS)  # nothing else, e.g. no postgres/ prefix
    wi = capture.one(SA_IAM).inputs
    assert wi["role"] == "roles/iam.workloadIdentityUser"
    assert wi["member"] == "serviceAccount:p.svc.id.goog[ai-assistant/backup-mongodb]"  # one KSA, one namespace


@pytest.fixture(scope="module")
def prod_gke():
    return plan_of("prod-gke")


def _upload(prod_gke):
    (cron,) = [r for r in prod_gke.capture.of_type("kubernetes:batch/v1:CronJob") if r.inputs["metadata"]["name"] == "backup-mongodb"]
    pod = cron.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod, {c["name"]: c for c in pod["containers"]}["upload"]


def test_prod_gke_copies_mongodb_dumps_into_every_tier_of_the_backup_bucket(prod_gke):
    pod, upload = _upload(prod_gke)
    env = {e["name"]: e.get("value") for e in upload["env"]}
    assert env["BUCKET"] == prod_gke.capture.outputs["backupBucket"]
    assert env["WEEKLY"] == env["MONTHLY"] == env["YEARLY"] == "true"  # the 7-year tier is fed
    # the grant covers exactly the tiers the bucket's lifecycle rules keep
    bucket = prod_gke.capture.one("gcp:storage/bucket:Bucket", "backups-bucket").inputs
    lifecycle = sorted({p for rule in bucket["lifecycleRules"] for p in rule["condition"].get("matchesPrefixes", [])})
    grant = next(r.inputs for r in prod_gke.capture.of_type(BUCKET_IAM) if r.inputs.get("condition"))
    assert sorted(p for p in lifecycle if f'objects/{p}mongodb/"' in grant["condition"]["expression"]) == lifecycle


def test_every_workload_identity_annotation_has_its_binding_and_no_key(prod_gke):
    """Each annotated Kubernetes service account is bound (workloadIdentityUser) to the Google
    account it names, for exactly its namespace/name; no service-account key exists."""
    resources = prod_gke.capture.resources
    accounts = {r.urn: r.inputs["accountId"] for r in resources if r.type == "gcp:serviceaccount/account:Account"}
    bindings = {
        (accounts[dep], r.inputs["member"])
        for r in resources
        if r.type == SA_IAM and r.inputs["role"] == "roles/iam.workloadIdentityUser"
        for dep in r.dependencies
        if dep in accounts
    }
    annotated = [
        r.inputs for r in resources
        if r.type == "kubernetes:core/v1:ServiceAccount"
        and "iam.gke.io/gcp-service-account" in (r.inputs["metadata"].get("annotations") or {})
    ]
    assert any(a["metadata"]["name"] == "backup-mongodb" for a in annotated)
    for ksa in annotated:
        meta = ksa["metadata"]
        account_id = meta["annotations"]["iam.gke.io/gcp-service-account"].split("@")[0]
        assert any(aid == account_id and member.endswith(f"[{meta['namespace']}/{meta['name']}]") for aid, member in bindings), meta["name"]
    assert not [r for r in resources if r.type == "gcp:serviceaccount/key:Key"]


def test_the_dump_identity_has_no_project_roles(prod_gke):
    _, upload = _upload(prod_gke)
    members = [r.inputs for r in prod_gke.capture.resources if r.type == "gcp:projects/iAMMember:IAMMember"]
    assert not [m for m in members if "mongodb-backup@" in m["member"]]
    grants = [r.inputs for r in prod_gke.capture.of_type(BUCKET_IAM) if "mongodb-backup@" in r.inputs["member"]]
    assert [g["role"] for g in grants] == ["roles/storage.objectCreator"] and grants[0]["condition"]
