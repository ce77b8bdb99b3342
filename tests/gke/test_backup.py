"""Backup for GKE alone: the platform namespace with volumes and secrets, the seeds' tiers."""

from __future__ import annotations

import pytest

from components.config import ConfigError
from components.dr.gke_backup import GkeBackup, GkeBackupArgs
from tests.gke.common import PROD_GKE, STAGING_GKE
from tests.helpers import run_component

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
    (plan,) = staging.of_type(PLAN)
    assert plan.inputs["location"] == "us-central1" and not plan.protect


def test_optional_encryption_key_and_retention_limit():
    key = "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/backups"
    with_key = run_component(lambda ctx: build(ctx, key), overrides=PROD_GKE)
    assert all(p.inputs["backupConfig"]["encryptionKey"] == {"gcpKmsEncryptionKey": key} for p in with_key.of_type(PLAN))
    with pytest.raises(ConfigError, match="dr.retention.dailyDays = 400"):
        run_component(build, overrides={**PROD_GKE, "dr": {"retention": {"dailyDays": 400}}})
