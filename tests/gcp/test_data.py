"""Cloud SQL, Memorystore, Firestore (MongoDB) and the RabbitMQ VM, each alone."""

from __future__ import annotations

import pytest
import yaml

from components.data.cloudsql import CloudSqlPostgres, CloudSqlPostgresArgs, backup_start_time
from components.data.firestore import FirestoreMongo, FirestoreMongoArgs
from components.data.memorystore import MemorystoreRedis, MemorystoreRedisArgs, rdb_period_for
from components.data.rabbitmq_vm import RabbitMqVm, RabbitMqVmArgs, cloud_config, snapshot_interval_hours
from components.network.gcp import GcpNetwork, GcpNetworkArgs
from tests.gcp.support import PROJECT, run_gcp, stub_psa
from tests.helpers import dig
from tools.harness import run_mocked

SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"


def _postgres(c, replica_region=None):
    return CloudSqlPostgres(
        "postgres",
        CloudSqlPostgresArgs(
            context=c,
            project=PROJECT,
            settings=c.config.data.postgres,
            region="us-central1",
            network="projects/test-project/global/networks/vpc",
            private_service_access=stub_psa(),
            replica_region=replica_region,
            peer_cidr="10.100.0.0/16",
        ),
    )


def _capture_connection(build, stack):
    """Run `build` and also resolve its DataConnection (secret flag, value) under the same mocks."""
    from pulumi.runtime.sync_await import _sync_await

    seen = {}

    def program():
        from tests.helpers import make_context

        component = build(make_context(stack))
        seen["connection"] = component.connection

    capture = run_mocked(program, project="ai-assistant-platform", stack=stack)
    url = seen["connection"].url
    return capture, seen["connection"], _sync_await(url.is_secret()), _sync_await(url.future())


@pytest.fixture(scope="module")
def prod_postgres():
    return _capture_connection(lambda c: _postgres(c, replica_region="europe-west1"), "prod")


def test_cloud_sql_is_private_tls_only_and_protected(prod_postgres):
    run, _, _, _ = prod_postgres
    primary = run.one(SQL, "postgres-primary")
    i = primary.inputs
    ip = i["settings"]["ipConfiguration"]
    assert ip["ipv4Enabled"] is False and ip["privateNetwork"] == "projects/test-project/global/networks/vpc"
    assert ip["sslMode"] == "ENCRYPTED_ONLY"
    assert "authorizedNetworks" not in ip
    assert i["deletionProtection"] is True and i["settings"]["deletionProtectionEnabled"] is True
    assert primary.protect is True
    assert i["name"] == "aia-prod-postgres" and i["databaseVersion"] == "POSTGRES_16"
    assert i["settings"]["edition"] == "ENTERPRISE"
    # waits for the Private Service Access peering it needs
    assert any(d.endswith("::stub-psa") for d in primary.dependencies)


def test_cloud_sql_backups_pitr_and_maintenance_follow_the_dr_config(prod_postgres):
    run, _, _, _ = prod_postgres
    s = run.one(SQL, "postgres-primary").inputs["settings"]
    backup = s["backupConfiguration"]
    assert backup["enabled"] is True and backup["pointInTimeRecoveryEnabled"] is True
    assert backup["transactionLogRetentionDays"] == 7
    assert backup["backupRetentionSettings"] == {"retainedBackups": 30, "retentionUnit": "COUNT"}
    assert backup["startTime"] == "02:00"
    assert s["finalBackupConfig"] == {"enabled": True, "retentionDays": 30}
    assert s["maintenanceWindow"]["day"] == 7 and s["maintenanceWindow"]["hour"] == 2
    assert s["insightsConfig"]["queryInsightsEnabled"] is True
    assert s["availabilityType"] == "REGIONAL"
    flags = {f["name"]: f["value"] for f in s["databaseFlags"]}
    assert flags["log_connections"] == "on" and flags["max_connections"] == "200"


# The PostgreSQL flags Cloud SQL accepts that the audit trail uses, with the values each allows
# (https://cloud.google.com/sql/docs/postgres/flags); an unknown name fails the instance create.
CLOUD_SQL_PG_FLAGS = {
    "cloudsql.enable_pgaudit": {"on", "off"},
    "pgaudit.log": None,  # a comma list of PGAUDIT_CLASSES, checked below
    "pgaudit.log_parameter": {"on", "off"},
    "pgaudit.log_relation": {"on", "off"},
    "log_statement": {"none", "ddl", "mod", "all"},
    "log_duration": {"on", "off"},
    "log_min_duration_statement": range(-1, 2147483648),
    "log_min_messages": {"debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error",
                         "log", "fatal", "panic"},
    "log_min_error_statement": {"debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning",
                                "error", "log", "fatal", "panic"},
    "log_hostname": {"on", "off"},
    "log_checkpoints": {"on", "off"},
    "log_connections": {"on", "off"},
    "log_disconnections": {"on", "off"},
    "log_lock_waits": {"on", "off"},
    "log_temp_files": range(-1, 2147483648),
    "max_connections": range(14, 262144),
}
PGAUDIT_CLASSES = {"read", "write", "function", "role", "ddl", "misc", "misc_set", "all", "none"}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_cloud_sql_keeps_an_audit_trail_with_flags_cloud_sql_accepts(stack):
    run = run_gcp(_postgres, stack=stack)
    for reg in run.of_type(SQL):
        flags = {f["name"]: f["value"] for f in reg.inputs["settings"]["databaseFlags"]}
        for name, value in flags.items():
            assert name in CLOUD_SQL_PG_FLAGS, f"{reg.name}: Cloud SQL has no PostgreSQL flag {name}"
            allowed = CLOUD_SQL_PG_FLAGS[name]
            if isinstance(allowed, range):
                assert int(value) in allowed, (name, value)
            elif allowed is not None:
                assert value in allowed, (name, value)
        assert set(flags["pgaudit.log"].split(",")) <= PGAUDIT_CLASSES
        assert flags["cloudsql.enable_pgaudit"] == "on" and {"ddl", "role"} <= set(flags["pgaudit.log"].split(","))
        assert flags["pgaudit.log_parameter"] == "off"  # bind parameters may carry personal data
        assert flags["log_statement"] == "ddl" and flags["log_hostname"] == "on"
        assert flags["log_min_messages"] == "warning"
        # durations of every statement, never a statement's text with its literals (CIS; Checkov
        # CKV2_GCP_13, CKV_GCP_57): slow queries are read in Query Insights, normalized
        assert flags["log_duration"] == "on" and flags["log_min_duration_statement"] == "-1"
        assert reg.inputs["settings"]["insightsConfig"]["queryInsightsEnabled"] is True


def test_disk_autoresize_never_plans_a_resize_of_primary_or_replica(prod_postgres):
    run, _, _, _ = prod_postgres
    instances = run.of_type(SQL)
    assert len(instances) == 2
    for reg in instances:
        settings = reg.inputs["settings"]
        if settings.get("diskAutoresize"):
            # the SDK: with disk_size set, an autoresized disk is planned back (a replacement) unless ignored
            assert "settings.diskSize" in reg.ignore_changes, reg.name


def test_prod_has_a_protected_cross_region_replica(prod_postgres):
    run, _, _, _ = prod_postgres
    replica = run.one(SQL, "postgres-replica")
    # the logical name no longer carries the region; the alias keeps the existing replica
    assert replica.inputs["name"] == "aia-prod-postgres-europe-west1"
    assert replica.inputs["region"] == "europe-west1"
    assert replica.inputs["masterInstanceName"] == "aia-prod-postgres"
    assert replica.inputs["settings"]["ipConfiguration"]["ipv4Enabled"] is False
    assert replica.inputs["deletionProtection"] is True and replica.protect is True


def test_database_user_and_url(prod_postgres):
    run, connection, is_secret, url = prod_postgres
    db = run.one("gcp:sql/database:Database")
    assert db.inputs["deletionPolicy"] == "ABANDON" and db.protect is True
    assert run.one("gcp:sql/user:User").inputs["password"] == "[secret]"
    assert is_secret and url.startswith("postgresql://app:") and url.endswith("@10.64.0.3:5432/app?sslmode=require")
    assert connection.tls and connection.port == 5432 and connection.env_var == "DATABASE_URL"


def test_staging_postgres_is_zonal_unprotected_and_has_no_replica():
    run = run_gcp(_postgres, stack="staging")
    primary = run.one(SQL)
    assert primary.inputs["settings"]["availabilityType"] == "ZONAL"
    assert primary.inputs["settings"]["tier"] == "db-custom-1-3840"
    assert primary.protect is False
    assert primary.inputs["settings"]["ipConfiguration"]["sslMode"] == "ENCRYPTED_ONLY"


def test_backup_start_time_from_cron():
    assert backup_start_time("0 2 * * *") == "02:00" and backup_start_time("30 23 * * *") == "23:30"


def _redis(c):
    return MemorystoreRedis(
        "redis",
        MemorystoreRedisArgs(
            context=c,
            project=PROJECT,
            settings=c.config.data.redis,
            region="us-central1",
            network="projects/test-project/global/networks/vpc",
            private_service_access=stub_psa(),
        ),
    )


def test_memorystore_is_private_authenticated_encrypted_and_persistent():
    run, connection, is_secret, url = _capture_connection(_redis, "prod")
    reg = run.one(REDIS)
    i = reg.inputs
    assert i["tier"] == "STANDARD_HA" and i["memorySizeGb"] == 10
    assert i["connectMode"] == "PRIVATE_SERVICE_ACCESS" and i["authorizedNetwork"].endswith("/vpc")
    assert i["authEnabled"] is True and i["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert i["persistenceConfig"] == {"persistenceMode": "RDB", "rdbSnapshotPeriod": "ONE_HOUR"}
    assert dig(i, "maintenancePolicy.weeklyMaintenanceWindows.0.day") == "SUNDAY"
    assert i["deletionProtection"] is True and reg.protect is True
    assert is_secret and url == "rediss://:mock-auth-string@10.64.1.3:6378/0"
    assert connection.tls


def test_staging_memorystore_is_basic_with_the_configured_size():
    i = run_gcp(_redis, stack="staging").one(REDIS).inputs
    assert i["tier"] == "BASIC" and i["memorySizeGb"] == 2


def test_rdb_period_fits_the_rpo():
    assert rdb_period_for(60) == "ONE_HOUR" and rdb_period_for(720) == "TWELVE_HOURS" and rdb_period_for(10) == "ONE_HOUR"


def _mongo(c):
    return FirestoreMongo(
        "mongodb",
        FirestoreMongoArgs(context=c, project=PROJECT, settings=c.config.data.mongodb, location="nam5"),
    )


def test_firestore_mongodb_compatible_with_pitr_and_delete_protection():
    run, connection, is_secret, url = _capture_connection(_mongo, "prod")
    db = run.one("gcp:firestore/database:Database")
    i = db.inputs
    assert (i["type"], i["databaseEdition"], i["mongodbCompatibleDataAccessMode"]) == (
        "FIRESTORE_NATIVE",
        "ENTERPRISE",
        "DATA_ACCESS_MODE_ENABLED",
    )
    assert i["pointInTimeRecoveryEnablement"] == "POINT_IN_TIME_RECOVERY_ENABLED"
    assert i["deleteProtectionState"] == "DELETE_PROTECTION_ENABLED" and i["deletionPolicy"] == "ABANDON"
    assert i["name"] == "aia-prod-mongo" and i["locationId"] == "nam5" and db.protect is True
    schedule = run.one("gcp:firestore/backupSchedule:BackupSchedule").inputs
    assert schedule["retention"] == f"{30 * 86400}s" and "dailyRecurrence" in schedule
    assert is_secret and url.startswith("mongodb://app-user:mock-firestore-password-mongodb-user@0f1e2d3c-mock-uid.nam5.firestore.goog:443/")
    assert "tls=true" in url and connection.env_var == "MONGODB_CONNECTION_URI"


def test_firestore_can_be_released_when_protection_is_off():
    def build(c):
        FirestoreMongo(
            "mongodb",
            FirestoreMongoArgs(
                context=c, project=PROJECT, settings=c.config.data.mongodb, location="us-central1", deletion_protection=False
            ),
        )

    i = run_gcp(build, stack="staging").one("gcp:firestore/database:Database").inputs
    assert i["deleteProtectionState"] == "DELETE_PROTECTION_DISABLED" and i["deletionPolicy"] == "DELETE"


def _rabbitmq(c, allow_iap_ssh=False):
    network = GcpNetwork(
        "network",
        GcpNetworkArgs(context=c, project=PROJECT, subnets={"us-central1": "10.10.0.0/20"}, private_service_cidr="10.100.0.0/16"),
    )
    return RabbitMqVm(
        "rabbitmq",
        RabbitMqVmArgs(
            context=c,
            project=PROJECT,
            settings=c.config.data.rabbitmq,
            region="us-central1",
            network=network,
            client_ranges=["10.10.0.0/20", "10.20.0.0/20"],
            service_account_email="aia-prod-rabbitmq@test-project.iam.gserviceaccount.com",
            service_account_member="serviceAccount:aia-prod-rabbitmq@test-project.iam.gserviceaccount.com",
            allow_iap_ssh=allow_iap_ssh,
        ),
    )


@pytest.fixture(scope="module")
def rabbitmq():
    return _capture_connection(_rabbitmq, "prod")


TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
GROUP = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
PER_INSTANCE = "gcp:compute/regionPerInstanceConfig:RegionPerInstanceConfig"


def test_rabbitmq_vm_is_private_and_hardened(rabbitmq):
    run, _, _, _ = rabbitmq
    vm = run.one(TEMPLATE).inputs
    nic = vm["networkInterfaces"][0]
    assert "accessConfigs" not in nic
    assert vm["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableVtpm": True, "enableIntegrityMonitoring": True}
    assert vm["disks"][0]["sourceImage"] == "cos-cloud/cos-stable" and vm["disks"][0]["boot"] is True
    assert vm["metadata"]["block-project-ssh-keys"] == "TRUE" and vm["metadata"]["enable-oslogin"] == "TRUE"
    assert vm["serviceAccount"]["email"].startswith("aia-prod-rabbitmq@")
    assert vm["tags"] == ["rabbitmq"] and vm["namePrefix"] == "aia-prod-rabbitmq-"


def test_rabbitmq_is_a_self_healing_group_of_one_on_a_regional_disk(rabbitmq):
    run, _, _, _ = rabbitmq
    group = run.one(GROUP).inputs
    assert group["targetSize"] == 1 and group["distributionPolicyZones"] == ["us-central1-b", "us-central1-c"]
    assert group["autoHealingPolicies"]["healthCheck"] == "rabbitmq-health-id"
    assert group["instanceLifecyclePolicy"]["onRepair"] == {"allowChangingZone": "YES"}
    # a config change (new template) recreates the VM at once, on the same disk and IP
    update = group["updatePolicy"]
    assert (update["type"], update["minimalAction"], update["replacementMethod"]) == ("PROACTIVE", "REPLACE", "RECREATE")
    assert update["maxSurgeFixed"] == 0
    assert group["versions"][0]["instanceTemplate"].startswith("https://") or group["versions"][0]["instanceTemplate"]
    check = run.one("gcp:compute/healthCheck:HealthCheck").inputs
    assert check["sslHealthCheck"]["port"] == 5671 and check["unhealthyThreshold"] == 3
    state = run.one(PER_INSTANCE).inputs["preservedState"]
    assert state["disks"][0]["deviceName"] == "rabbitmq-data" and state["disks"][0]["deleteRule"] == "NEVER"
    assert state["internalIps"][0]["autoDelete"] == "NEVER"
    disk = run.one("gcp:compute/regionDisk:RegionDisk").inputs
    assert disk["replicaZones"] == ["us-central1-b", "us-central1-c"]


def test_rabbitmq_password_comes_from_secret_manager_not_metadata(rabbitmq):
    run, _, is_secret, url = rabbitmq
    vm = run.one(TEMPLATE).inputs
    for attribute in ("rabbitmq-secret-version", "rabbitmq-tls-chain-version", "rabbitmq-tls-key-version"):
        assert vm["metadata"][attribute].endswith("/versions/1"), attribute
    assert "mock-random" not in str(vm) and "RABBITMQ_DEFAULT_PASS=%s" in vm["metadata"]["user-data"]
    assert "PRIVATE KEY" not in str(vm)
    grants = run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert len(grants) == 3  # password, TLS chain, TLS key: the VM's own secrets only
    for grant in grants:
        assert grant.inputs["member"].startswith("serviceAccount:aia-prod-rabbitmq@")
        assert grant.inputs["role"].endswith("secretAccessor")
    assert {v.inputs["secretData"] for v in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")} == {"[secret]"}
    assert is_secret and url.startswith("amqps://app:") and url.endswith("@10.10.0.10:5671/%2F")


def test_rabbitmq_serves_only_amqps_with_a_certificate_clients_verify(rabbitmq):
    run, connection, _, _ = rabbitmq
    assert connection.tls and connection.port == 5671
    assert set(connection.secret_values()) == {"QUEUE_CONNECTIONURL", "QUEUE_TLS_CA_CERT"}
    from pulumi.runtime.sync_await import _sync_await

    assert _sync_await(connection.extra_secrets["QUEUE_TLS_CA_CERT"].is_secret())
    csr = run.one("tls:index/certRequest:CertRequest").inputs
    assert csr["ipAddresses"] == ["10.10.0.10"]  # the URL's host, so hostname verification passes
    server = run.one("tls:index/locallySignedCert:LocallySignedCert").inputs
    assert "server_auth" in server["allowedUses"] and server["earlyRenewalHours"] > 0
    ca = run.one("tls:index/selfSignedCert:SelfSignedCert").inputs
    assert ca["isCaCertificate"] is True
    boot = yaml.safe_load(run.one(TEMPLATE).inputs["metadata"]["user-data"])
    script = next(f["content"] for f in boot["write_files"] if f["path"] == "/etc/rabbitmq-prepare.sh")
    assert "listeners.tcp = none" in script and "listeners.ssl.default = 5671" in script
    assert "ssl_options.versions.1 = tlsv1.3" in script
    unit = next(f["content"] for f in boot["write_files"] if f["path"].endswith("rabbitmq.service"))
    assert "-p 5671:5671" in unit and "5672" not in unit


def test_rabbitmq_data_disk_is_snapshotted_at_the_rpo_and_protected(rabbitmq):
    run, _, _, _ = rabbitmq
    disk = run.one("gcp:compute/regionDisk:RegionDisk")
    assert disk.protect is True and disk.inputs["name"] == "aia-prod-rabbitmq-regional"
    assert disk.inputs["createSnapshotBeforeDestroy"] is True
    attachment = run.one("gcp:compute/regionDiskResourcePolicyAttachment:RegionDiskResourcePolicyAttachment").inputs
    assert attachment["name"] == "aia-prod-rabbitmq-snapshots"
    policy = run.one("gcp:compute/resourcePolicy:ResourcePolicy").inputs["snapshotSchedulePolicy"]
    assert policy["schedule"] == {"hourlySchedule": {"hoursInCycle": 1, "startTime": "00:00"}}
    assert policy["retentionPolicy"]["maxRetentionDays"] == 30
    assert policy["snapshotProperties"]["storageLocations"] == "us"
    assert snapshot_interval_hours(60) == 1 and snapshot_interval_hours(1440) == 24 and snapshot_interval_hours(240) == 4


def test_rabbitmq_firewall_admits_only_amqp_from_the_client_subnets_and_health_checkers(rabbitmq):
    run, _, _, _ = rabbitmq
    allow = [r.inputs for r in run.of_type("gcp:compute/firewall:Firewall") if r.inputs.get("allows")]
    assert len(allow) == 2
    assert all(a["allows"] == [{"protocol": "tcp", "ports": ["5671"]}] and a["targetTags"] == ["rabbitmq"] for a in allow)
    assert sorted(tuple(a["sourceRanges"]) for a in allow) == [
        ("10.10.0.0/20", "10.20.0.0/20"), ("35.191.0.0/16", "130.211.0.0/22")
    ]


def test_iap_ssh_only_when_enabled():
    run = run_gcp(lambda c: _rabbitmq(c, allow_iap_ssh=True))
    ssh = [r.inputs for r in run.of_type("gcp:compute/firewall:Firewall") if r.inputs.get("allows", [{}])[0].get("ports") == ["22"]]
    assert len(ssh) == 1 and ssh[0]["sourceRanges"] == ["35.235.240.0/20"]


def test_cloud_init_is_valid_and_runs_the_pinned_image():
    doc = yaml.safe_load(cloud_config("docker.io/library/rabbitmq:3.13"))
    paths = {f["path"] for f in doc["write_files"]}
    assert paths == {"/etc/rabbitmq-prepare.sh", "/etc/systemd/system/rabbitmq.service"}
    unit = next(f["content"] for f in doc["write_files"] if f["path"].endswith(".service"))
    assert "docker.io/library/rabbitmq:3.13" in unit and "/var/lib/rabbitmq" in unit
    script = next(f["content"] for f in doc["write_files"] if f["path"].endswith(".sh"))
    assert script.startswith("#!/bin/bash") and "secretmanager.googleapis.com" in script


@pytest.mark.parametrize("stack", ["staging", "prod", "prod-gke"])
def test_every_vm_of_a_gcp_stack_heals_itself_rolls_on_change_and_keeps_data_in_two_zones(stack):
    """No bare VM (it neither heals nor picks up a new image until a reboot), no zonal data disk."""
    from tests.helpers import plan_of

    resources = plan_of(stack).capture.resources
    assert not [r.name for r in resources if r.type == "gcp:compute/instance:Instance"]
    assert not [r.name for r in resources if r.type == "gcp:compute/disk:Disk"]
    for group in (r for r in resources if r.type == GROUP):
        i = group.inputs
        assert i["autoHealingPolicies"]["healthCheck"], group.name
        assert (i["updatePolicy"]["type"], i["updatePolicy"]["minimalAction"]) == ("PROACTIVE", "REPLACE"), group.name
        assert len(i["distributionPolicyZones"]) >= 2, group.name
    for config in (r for r in resources if r.type == PER_INSTANCE):
        sources = {d["source"] for d in config.inputs["preservedState"]["disks"]}
        regional = {r.urn.split("::")[-1] + "-id" for r in resources if r.type == "gcp:compute/regionDisk:RegionDisk"}
        assert sources <= regional, (config.name, sources)


# Ports of protocols that carry credentials or data in clear text.
CLEAR_TEXT_PORTS = {"5672": "AMQP", "6379": "Redis", "5432": "PostgreSQL without TLS", "27017": "MongoDB", "80": "HTTP"}


@pytest.mark.parametrize("stack", ["staging", "prod", "prod-gke"])
def test_no_firewall_of_a_gcp_stack_opens_a_clear_text_data_port(stack):
    """Seeds 001/003: encryption in transit everywhere. The VPC's allow rules open TLS ports only."""
    from tests.helpers import plan_of

    for rule in (r for r in plan_of(stack).capture.resources if r.type == "gcp:compute/firewall:Firewall"):
        for allow in rule.inputs.get("allows", []):
            opened = set(allow.get("ports", [])) & set(CLEAR_TEXT_PORTS)
            assert not opened, f"{rule.name} opens {[CLEAR_TEXT_PORTS[p] for p in opened]}"
