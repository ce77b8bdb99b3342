"""The prod-gke stack end to end: the cluster, the workloads on it through its provider, the managed
and in-cluster data, the edge, monitoring, DR and protection, as `pulumi up --stack prod-gke` builds
it; and the GCP and Kubernetes parts are the same component classes as the other platforms."""

from __future__ import annotations

import json
from collections import Counter

import kubernetes_validate
import pytest

from components.dr.gke_backup import FREQUENT_KEEP_DAYS
from tests.helpers import dig, k8s_objects, plan_of, validate_k8s

STACK = "prod-gke"


@pytest.fixture(scope="module")
def plan():
    return plan_of(STACK)


@pytest.fixture(scope="module")
def resources(plan):
    return plan.capture.resources


def of_type(resources, type_token):
    return [r for r in resources if r.type == type_token]


def one(resources, type_token):
    found = of_type(resources, type_token)
    assert len(found) == 1, (type_token, [r.name for r in found])
    return found[0]


def component_types(resources) -> set[str]:
    return {r.type for r in resources if not r.custom}


def test_the_platform_is_built_from_the_shared_components(resources, plan):
    types = component_types(resources)
    shared_gcp = {
        "aiplatform:gcp:ProjectApis",
        "aiplatform:gcp:ServiceAccounts",
        "aiplatform:network:GcpNetwork",
        "aiplatform:secrets:SecretManagerStore",
        "aiplatform:data:CloudSqlPostgres",
        "aiplatform:data:MemorystoreRedis",
        "aiplatform:edge:CloudArmorPolicy",
        "aiplatform:monitoring:CloudMonitoring",
        "aiplatform:dr:GcpBackupBucket",
        "aiplatform:dr:ScheduledBackupExports",
    }
    shared_kubernetes = {
        "aiplatform:app:PlatformNamespace",
        "aiplatform:app:KubernetesApp",
        "aiplatform:data:InClusterMongo",
        "aiplatform:data:InClusterRabbitMq",
        "aiplatform:monitoring:KubernetesMonitoring",
        "aiplatform:dr:KubernetesBackups",
    }
    gke_only = {
        "aiplatform:cluster:GkeCluster",
        "aiplatform:cluster:GkeStorage",
        "aiplatform:cluster:GkeWorkloadIdentity",
        "aiplatform:edge:GkeIngress",
        "aiplatform:dr:GkeBackup",
    }
    assert shared_gcp | shared_kubernetes | gke_only <= types
    assert plan.platform == "gke"
    # no Cloud Run, no in-cluster PostgreSQL/Redis, no nginx
    assert not types & {"aiplatform:app:CloudRunService", "aiplatform:data:InClusterPostgres",
                        "aiplatform:data:InClusterRedis", "aiplatform:edge:NginxIngress"}


def test_cluster_is_private_regional_encrypted_and_protected(resources):
    cluster = one(resources, "gcp:container/cluster:Cluster")
    c = cluster.inputs
    assert c["location"] == "us-central1" and c["project"] == "your-gke-project-id"
    assert dig(c, "privateClusterConfig.enablePrivateNodes") is True
    assert [b["cidrBlock"] for b in dig(c, "masterAuthorizedNetworksConfig.cidrBlocks")] == ["203.0.113.0/24"]
    assert c["datapathProvider"] == "ADVANCED_DATAPATH"
    assert dig(c, "databaseEncryption.state") == "ENCRYPTED"
    assert c["deletionProtection"] is True and cluster.protect
    network = one(resources, "gcp:compute/network:Network")
    assert c["network"] == f"{network.name}-id"
    pool = one(resources, "gcp:container/nodePool:NodePool").inputs
    assert dig(pool, "nodeConfig.machineType") == "e2-standard-8"
    assert (pool["autoscaling"]["minNodeCount"], pool["autoscaling"]["maxNodeCount"]) == (1, 4)
    apis = {r.inputs["service"] for r in of_type(resources, "gcp:projects/service:Service")}
    assert {"container.googleapis.com", "cloudkms.googleapis.com", "gkebackup.googleapis.com"} <= apis


def test_every_kubernetes_object_goes_to_the_new_cluster(resources):
    provider = one(resources, "pulumi:providers:kubernetes")
    kubernetes = [r for r in resources if r.custom and r.type.startswith("kubernetes:")]
    assert len(kubernetes) > 50
    wrong = [r.name for r in kubernetes if not r.provider.startswith(provider.urn + "::")]
    assert wrong == []


def test_workloads_run_with_workload_identity_and_gke_ingress_annotations(resources):
    objects = k8s_objects(resources)
    deployments = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    assert deployments == {"frontend", "api", "mcp", "worker"}
    accounts = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceAccount"}
    bindings = {r.inputs["member"] for r in of_type(resources, "gcp:serviceaccount/iAMMember:IAMMember")}
    for name in deployments:
        email = accounts[name]["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
        assert email.startswith(f"aia-prod-gke-{name}@")
        assert f"serviceAccount:your-gke-project-id.svc.id.goog[ai-assistant/{name}]" in bindings
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    for name in ("frontend", "api"):
        ann = services[name]["metadata"]["annotations"]
        assert json.loads(ann["cloud.google.com/neg"]) == {"ingress": True}
        assert json.loads(ann["cloud.google.com/backend-config"]) == {"default": f"{name}-backend"}
    assert not services["mcp"]["metadata"].get("annotations")  # internal only
    policy = next(o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "frontend-ingress")
    cidrs = {p["ipBlock"]["cidr"] for rule in policy["spec"]["ingress"] for p in rule["from"] if "ipBlock" in p}
    assert cidrs == {"130.211.0.0/22", "35.191.0.0/16"}


def test_managed_data_over_private_ip_and_in_cluster_data_on_regional_disks(resources):
    primary, replica = sorted(
        of_type(resources, "gcp:sql/databaseInstance:DatabaseInstance"), key=lambda r: "masterInstanceName" in r.inputs
    )
    assert dig(primary.inputs, "settings.ipConfiguration.ipv4Enabled") is False
    assert dig(primary.inputs, "settings.backupConfiguration.pointInTimeRecoveryEnabled") is True
    assert replica.inputs["region"] == "europe-west1"
    redis = one(resources, "gcp:redis/instance:Instance").inputs
    assert redis["connectMode"] == "PRIVATE_SERVICE_ACCESS" and redis["tier"] == "STANDARD_HA"
    statefulsets = {o["metadata"]["name"]: o for o in k8s_objects(resources) if o["kind"] == "StatefulSet"}
    assert set(statefulsets) == {"mongodb", "rabbitmq"}
    for sts in statefulsets.values():
        assert dig(sts, "spec.volumeClaimTemplates.0.spec.storageClassName") == "regional-pd"
    assert statefulsets["mongodb"]["spec"]["replicas"] == 3 and statefulsets["rabbitmq"]["spec"]["replicas"] == 3


def test_secrets_live_in_secret_manager_and_reach_pods_only_by_reference(resources):
    secret_ids = {r.inputs["secretId"] for r in of_type(resources, "gcp:secretmanager/secret:Secret")}
    for env in ("DATABASE_URL", "REDIS_URL", "MONGODB_CONNECTION_URI", "QUEUE_CONNECTIONURL", "OPENAI_API_KEY"):
        assert f"aia-prod-gke-{env.lower().replace('_', '-')}" in secret_ids
    assert all(r.inputs["secretData"] == "[secret]" for r in of_type(resources, "gcp:secretmanager/secretVersion:SecretVersion"))
    app_secret = next(o for o in k8s_objects(resources) if o["kind"] == "Secret" and o["metadata"]["name"] == "app-env")
    assert app_secret["stringData"] == "[secret]"


def test_edge_uses_the_armor_policy_cdn_on_frontend_and_tls(resources):
    armor = one(resources, "gcp:compute/securityPolicy:SecurityPolicy")
    configs = {o["metadata"]["name"]: o["spec"] for o in k8s_objects(resources) if o["kind"] == "BackendConfig"}
    assert {c["securityPolicy"]["name"] for c in configs.values()} == {armor.inputs["name"]}
    assert configs["frontend-backend"]["cdn"]["enabled"] is True and configs["api-backend"]["cdn"]["enabled"] is False
    assert one(resources, "gcp:compute/sSLPolicy:SSLPolicy").inputs["minTlsVersion"] == "TLS_1_3"
    ingress = next(o for o in k8s_objects(resources) if o["kind"] == "Ingress")
    assert ingress["metadata"]["annotations"]["kubernetes.io/ingress.class"] == "gce"
    hosts = {r["host"] for r in ingress["spec"]["rules"]}
    assert hosts == {"app.ai-assistant.example.com", "api.ai-assistant.example.com"}


def test_monitoring_in_cluster_and_in_cloud_monitoring(resources):
    charts = {r.inputs["chart"] for r in of_type(resources, "kubernetes:helm.sh/v3:Release")}
    assert charts == {"kube-prometheus-stack", "argo-rollouts"}  # prod's web services are canaries
    uptime = {dig(r.inputs, "httpCheck.path") for r in of_type(resources, "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")}
    assert uptime == {"/api/health", "/health"}
    assert len(of_type(resources, "gcp:monitoring/alertPolicy:AlertPolicy")) >= 3


def test_dr_bucket_exports_dumps_and_backup_for_gke(resources):
    buckets = of_type(resources, "gcp:storage/bucket:Bucket")
    assert {b.name for b in buckets} == {"backups-bucket", "backups-access-logs"}  # the backups and their access logs
    assert all(b.protect for b in buckets)
    assert one(resources, "gcp:workflows/workflow:Workflow")
    cronjobs = [o for o in k8s_objects(resources) if o["kind"] == "CronJob"]
    assert sorted(c["metadata"]["name"] for c in cronjobs) == ["backup-mongodb", "restore-test-mongodb"]
    plans = of_type(resources, "gcp:gkebackup/backupPlan:BackupPlan")
    assert {dig(p.inputs, "retentionPolicy.backupRetainDays") for p in plans} == {30, 84, 365, FREQUENT_KEEP_DAYS}
    assert all(p.protect and p.inputs["location"] == "europe-west1" for p in plans)
    assert all(dig(p.inputs, "backupConfig.selectedNamespaces.namespaces") == ["ai-assistant"] for p in plans)


def test_stateful_resources_are_protected(resources):
    stateful = [
        "gcp:container/cluster:Cluster",
        "gcp:kms/cryptoKey:CryptoKey",
        "gcp:sql/databaseInstance:DatabaseInstance",
        "gcp:redis/instance:Instance",
        "gcp:storage/bucket:Bucket",
        "gcp:gkebackup/backupPlan:BackupPlan",
        "kubernetes:apps/v1:StatefulSet",
    ]
    unprotected = [r.name for r in resources if r.type in stateful and not r.protect]
    assert unprotected == []


def test_every_kubernetes_object_is_valid_for_the_newest_kubernetes(resources):
    objects = k8s_objects(resources)
    assert Counter(o["kind"] for o in objects)["Deployment"] == 4
    assert validate_k8s(objects, version=kubernetes_validate.latest_version()) == []


def test_outputs(plan):
    out = plan.capture.outputs
    assert out["platform"] == "gke" and out["cluster"] == "aia-prod-gke-cluster"
    assert out["urls"] == {"frontend": "https://app.ai-assistant.example.com", "api": "https://api.ai-assistant.example.com"}
    assert {r["name"] for r in out["dnsRecords"]} == {"app.ai-assistant.example.com", "api.ai-assistant.example.com"}
    assert "get-credentials aia-prod-gke-cluster --region us-central1" in out["getCredentials"]


def test_passes_its_mandatory_policies(plan):
    assert plan.mandatory == []


def test_ci_reaches_the_control_plane_through_the_iam_guarded_dns_endpoint(plan, resources):
    """Hosted CI runners have no stable range for masterAuthorizedNetworks: every Kubernetes
    provider of the stack connects to the cluster's DNS endpoint (IAM-only, open to external
    traffic) with the gcloud auth plugin, never to the IP endpoint."""
    cluster = one(resources, "gcp:container/cluster:Cluster").inputs
    assert dig(cluster, "controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic") is True
    providers = of_type(resources, "pulumi:providers:kubernetes")
    assert providers
    for provider in providers:
        kubeconfig = provider.inputs["kubeconfig"]
        server = next(line.split("server: ")[1] for line in kubeconfig.splitlines() if "server: " in line)
        assert server.startswith("https://gke-") and server.endswith(".gke.goog"), server
        assert "certificate-authority-data" not in kubeconfig and "gke-gcloud-auth-plugin" in kubeconfig
    assert plan.capture.outputs["getCredentials"].endswith("--dns-endpoint")
