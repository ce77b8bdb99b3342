"""Kubernetes backups alone: daily pg_dump/mongodump CronJobs, their volumes, credentials and
network policies, with fake in-cluster and managed data connections."""

from __future__ import annotations

import re

import kubernetes_validate
import pulumi
import pytest

from components.data.connection import DataConnection, NetworkPeer
from components.dr.kubernetes import KubernetesBackups, KubernetesBackupsArgs, OffsiteCopy
from tests.helpers import dumps, k8s_objects, problem_lines, run_component, validate_k8s

K8S_VERSION = kubernetes_validate.utils.latest_version()
NAMESPACE = "ai-assistant"
PORTS = {"postgres": 5432, "mongodb": 27017, "redis": 6379}
SCHEMES = {"postgres": "postgresql", "mongodb": "mongodb", "redis": "redis"}


def connection(service: str, *, cidr: str | None = None) -> DataConnection:
    return DataConnection(
        service=service,
        host=pulumi.Output.from_input(f"{service}.{NAMESPACE}.svc.cluster.local"),
        port=PORTS[service],
        url=pulumi.Output.secret(f"{SCHEMES[service]}://app:SECRET-{service}@{service}:{PORTS[service]}/app"),
        tls=False,
        peer=NetworkPeer(cidr=cidr) if cidr else NetworkPeer(pod_labels={"app.kubernetes.io/name": service}),
    )


def backups(services=("postgres", "mongodb", "redis"), storage_class=None, managed=False, offsite=None):
    def build(context):
        connections = {
            s: connection(s, cidr="10.64.0.0/24" if managed else None) for s in services
        }
        KubernetesBackups(
            "backups",
            KubernetesBackupsArgs(context, NAMESPACE, connections, storage_class=storage_class, offsite=offsite),
        )

    return build


@pytest.fixture(scope="module")
def dev():
    return run_component(backups())


def by_kind(capture, kind):
    """The backups' own objects of `kind` (the restore tests beside them: test_restore_tests.py)."""
    return {
        o["metadata"]["name"]: o for o in k8s_objects(capture.resources)
        if o["kind"] == kind and o["metadata"]["labels"].get("app.kubernetes.io/component") != "restore-test"
    }


def pod_of(cron_job):
    return cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_every_object_is_valid_kubernetes(dev):
    objects = k8s_objects(dev.resources)
    assert {"CronJob", "PersistentVolumeClaim", "Secret", "NetworkPolicy"} <= {o["kind"] for o in objects}
    assert validate_k8s(objects, K8S_VERSION) == []


def test_a_daily_cronjob_per_database_and_none_for_redis(dev):
    cron_jobs = by_kind(dev, "CronJob")
    assert set(cron_jobs) == {"backup-postgres", "backup-mongodb"}
    for cron_job in cron_jobs.values():
        spec = cron_job["spec"]
        assert cron_job["metadata"]["namespace"] == NAMESPACE
        assert spec["schedule"] == "0 2 * * *"  # dr.backupSchedule default (seed 001: daily at 02:00)
        assert spec["timeZone"] == "Etc/UTC"
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
        job = spec["jobTemplate"]["spec"]
        assert 0 < job["backoffLimit"] <= 3
        assert job["activeDeadlineSeconds"] > 0
        assert pod_of(cron_job)["restartPolicy"] in ("Never", "OnFailure")
        assert cron_job["metadata"]["labels"]["app"] == "ai-assistant-platform"


def test_dump_commands_and_retention(dev):
    cron_jobs = by_kind(dev, "CronJob")
    postgres = pod_of(cron_jobs["backup-postgres"])["containers"][0]
    mongodb = pod_of(cron_jobs["backup-mongodb"])["containers"][0]
    assert "pg_dump" in postgres["command"][-1] and "--format=custom" in postgres["command"][-1]
    assert "mongodump" in mongodb["command"][-1]
    assert "--archive=" in mongodb["command"][-1] and "--gzip" in mongodb["command"][-1]
    for container in (postgres, mongodb):
        script = container["command"][-1]
        assert script.startswith("set -eu")  # a failed dump fails the Job (and the backup-age alert)
        assert "-mtime" in script and "rm -f" in script and "RETENTION_DAYS" in script
        # old dumps are deleted only after the new one is complete
        assert script.index("mv ") < script.index("-mtime")
        env = {e["name"]: e for e in container["env"]}
        assert env["RETENTION_DAYS"]["value"] == "30"  # seed 004: keep 30 days


def test_schedule_and_retention_follow_config():
    capture = run_component(
        backups(("postgres",)),
        overrides={"dr": {"backupSchedule": "30 3 * * *", "retention": {"dailyDays": 14}, "backupStorageGi": 75}},
    )
    cron_job = by_kind(capture, "CronJob")["backup-postgres"]
    assert cron_job["spec"]["schedule"] == "30 3 * * *"
    env = {e["name"]: e for e in pod_of(cron_job)["containers"][0]["env"]}
    assert env["RETENTION_DAYS"]["value"] == "14"
    claim = by_kind(capture, "PersistentVolumeClaim")["backups-postgres"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "75Gi"


def test_pods_run_hardened_and_non_root(dev):
    for cron_job in by_kind(dev, "CronJob").values():
        pod = pod_of(cron_job)
        assert pod["automountServiceAccountToken"] is False
        psc = pod["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 1000 and psc["fsGroup"] == 1000
        assert psc["seccompProfile"]["type"] == "RuntimeDefault"
        (container,) = pod["containers"]
        sc = container["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 1000
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp
        resources = container["resources"]
        assert resources["requests"]["cpu"] and resources["requests"]["memory"]
        assert resources["limits"]["cpu"] and resources["limits"]["memory"]
        image = container["image"]
        assert re.fullmatch(r"[a-z0-9./-]+:\d+\.\d+(\.\d+)?(-alpine)?", image), image


def test_connection_urls_only_through_secret_refs(dev):
    secret = by_kind(dev, "Secret")["backup-credentials"]
    assert secret["stringData"] == "[secret]"
    expected = {"backup-postgres": "DATABASE_URL", "backup-mongodb": "MONGODB_URI"}
    for name, cron_job in by_kind(dev, "CronJob").items():
        env = {e["name"]: e for e in pod_of(cron_job)["containers"][0]["env"]}
        ref = env[expected[name]]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "backup-credentials"
        assert ref["key"] in ("postgres-url", "mongodb-url")
        assert all("value" not in e or "://" not in e["value"] for e in env.values())
    everything = dumps([r.inputs for r in dev.resources])
    assert "SECRET-" not in everything  # no credential anywhere in the plan


def test_backup_volumes_are_stateful_and_mounted(dev):
    claims = by_kind(dev, "PersistentVolumeClaim")
    assert set(claims) == {"backups-postgres", "backups-mongodb"}
    for name, claim in claims.items():
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"  # dr.backupStorageGi default
        assert "storageClassName" not in claim["spec"]  # cluster default
    for service in ("postgres", "mongodb"):
        pod = pod_of(by_kind(dev, "CronJob")[f"backup-{service}"])
        volume = next(v for v in pod["volumes"] if v["name"] == "backups")
        assert volume["persistentVolumeClaim"]["claimName"] == f"backups-{service}"
        assert {"name": "backups", "mountPath": "/backups"} in pod["containers"][0]["volumeMounts"]
    assert not any(r.protect for r in dev.resources)  # dev: nothing protected


def test_backup_volumes_are_protected_in_production():
    capture = run_component(backups(), overrides={"environment": "prod"})
    claims = capture.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert claims and all(r.protect for r in claims)
    assert not any(r.protect for r in capture.of_type("kubernetes:batch/v1:CronJob"))


def test_storage_class_is_passed_through():
    capture = run_component(backups(("mongodb",), storage_class="standard-rwo"))
    claim = by_kind(capture, "PersistentVolumeClaim")["backups-mongodb"]
    assert claim["spec"]["storageClassName"] == "standard-rwo"


def test_network_policies_allow_only_dns_and_the_database(dev):
    policies = by_kind(dev, "NetworkPolicy")
    cron_jobs = by_kind(dev, "CronJob")
    for service in ("postgres", "mongodb"):
        policy = policies[f"backup-{service}"]["spec"]
        pod_labels = cron_jobs[f"backup-{service}"]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
        assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
        assert set(policy["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in policy
        dns, database = policy["egress"]
        assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]
        assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
        assert database["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": service}}}]
        assert database["ports"] == [{"protocol": "TCP", "port": PORTS[service]}]
        # and the database pods admit the backup pods
        admit = policies[f"{service}-from-backup-{service}"]["spec"]
        assert admit["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": service}}
        assert admit["ingress"][0]["from"] == [{"podSelector": policy["podSelector"]}]
    # the postgres backup cannot reach mongodb and vice versa
    assert "27017" not in dumps(policies["backup-postgres"])


def test_managed_databases_are_reached_by_cidr():
    capture = run_component(backups(("postgres",), managed=True))
    policies = by_kind(capture, "NetworkPolicy")
    assert set(policies) == {"backup-postgres"}  # nothing to admit in-cluster
    database = policies["backup-postgres"]["spec"]["egress"][1]
    assert database["to"] == [{"ipBlock": {"cidr": "10.64.0.0/24"}}]
    assert validate_k8s(k8s_objects(capture.resources), K8S_VERSION) == []


def test_only_present_connections_are_backed_up():
    capture = run_component(backups(("postgres",)))
    assert set(by_kind(capture, "CronJob")) == {"backup-postgres"}
    nothing = run_component(backups(("redis",)))
    assert [r.type for r in nothing.resources] == ["aiplatform:dr:KubernetesBackups"]


def test_pg_dump_image_follows_the_server_version():
    capture = run_component(backups(("postgres",)), overrides={"data": {"postgres": {"version": "15"}}})
    container = pod_of(by_kind(capture, "CronJob")["backup-postgres"])["containers"][0]
    assert container["image"] == "postgres:15.8-alpine"
    assert "data.postgres.version = '11': no pinned pg_dump image" in problem_lines(
        "dev", {"data": {"postgres": {"version": "11"}}}
    )


# --- offsite copy (gke): the dump leaves the cluster through Workload Identity -----------------

BUCKET = "p-prod-gke-backups"
GSA = "aia-prod-gke-mongodb-backup@p.iam.gserviceaccount.com"
OFFSITE = OffsiteCopy(bucket=BUCKET, service_account_email=GSA)


@pytest.fixture(scope="module")
def offsite():
    return run_component(backups(("mongodb",), offsite=OFFSITE), overrides={"environment": "prod"})


def test_offsite_dump_runs_first_then_the_hardened_upload(offsite):
    objects = k8s_objects(offsite.resources)
    assert validate_k8s(objects, K8S_VERSION) == []
    pod = pod_of(by_kind(offsite, "CronJob")["backup-mongodb"])
    (dump,) = pod["initContainers"]  # an init container: the upload starts only after a complete dump
    (upload,) = pod["containers"]
    assert dump["image"].startswith("mongo:") and "mongodump" in dump["command"][2]
    assert upload["name"] == "upload" and re.fullmatch(r"[a-z0-9./-]+:\d+\.\d+\.\d+", upload["image"])
    sc = upload["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert upload["resources"]["limits"]["cpu"] and upload["resources"]["limits"]["memory"]
    assert {"name": "backups", "mountPath": "/backups", "readOnly": True} in upload["volumeMounts"]
    env = {e["name"]: e.get("value") for e in upload["env"]}
    assert env["BUCKET"] == BUCKET and env["SERVICE"] == "mongodb"
    assert env["WEEKLY"] == env["MONTHLY"] == env["YEARLY"] == "true"  # seed 002: 12 w / 12 m / 7 y
    # the upload never sees the database credentials
    assert "valueFrom" not in dumps(upload["env"]) and "MONGODB_URI" not in dumps(upload)


def test_offsite_pod_uses_workload_identity_and_no_key(offsite):
    pod = pod_of(by_kind(offsite, "CronJob")["backup-mongodb"])
    account = by_kind(offsite, "ServiceAccount")["backup-mongodb"]
    assert pod["serviceAccountName"] == "backup-mongodb"
    assert account["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": GSA}
    # the GKE metadata server mints the token; none is mounted, and no key file exists anywhere
    assert pod["automountServiceAccountToken"] is False and account["automountServiceAccountToken"] is False
    assert "key.json" not in dumps(pod) and "GOOGLE_APPLICATION_CREDENTIALS" not in dumps(pod)


def test_offsite_pod_may_reach_the_metadata_server_and_google_apis_only(offsite):
    policies = by_kind(offsite, "NetworkPolicy")
    cron = by_kind(offsite, "CronJob")["backup-mongodb"]
    pod_labels = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    google = policies["backup-mongodb-to-google-apis"]["spec"]
    assert google["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert google["policyTypes"] == ["Egress"]
    metadata_rule, https = google["egress"]
    assert metadata_rule == {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    (block,) = https["to"]
    assert block["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(block["ipBlock"]["except"])


def test_without_offsite_the_dumps_stay_on_the_volume(dev):
    for cron_job in by_kind(dev, "CronJob").values():
        pod = pod_of(cron_job)
        assert "initContainers" not in pod and "serviceAccountName" not in pod
        assert [c["name"] for c in pod["containers"]] == ["dump"]
    assert not by_kind(dev, "ServiceAccount")
    assert "443" not in dumps(by_kind(dev, "NetworkPolicy")) and "storage.googleapis.com" not in dumps(dev.resources[-1].inputs)


def test_disabled_tiers_are_not_uploaded():
    capture = run_component(
        backups(("mongodb",), offsite=OFFSITE), overrides={"dr": {"retention": {"weeklyWeeks": 0, "yearlyYears": 0}}}
    )
    upload = pod_of(by_kind(capture, "CronJob")["backup-mongodb"])["containers"][0]
    env = {e["name"]: e.get("value") for e in upload["env"]}
    assert (env["WEEKLY"], env["MONTHLY"], env["YEARLY"]) == ("false", "true", "false")
