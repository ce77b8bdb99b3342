"""The GKE cluster alone: its security settings, node pool, identity, encryption and provider."""

from __future__ import annotations

from datetime import datetime

import pytest

from components.cluster.gke import NODE_ROLES, GkeCluster, GkeClusterArgs, gke_maintenance_window
from components.cluster.gke_storage import GkeStorage, GkeStorageArgs
from tests.gke.common import PROD_GKE, STAGING_GKE
from tests.helpers import dig, k8s_objects, run_component, validate_k8s

import pulumi

CLUSTER = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
PROJECT = "test-project"
GKE_AGENT = "serviceAccount:service-42@container-engine-robot.iam.gserviceaccount.com"


def build(context):
    cluster = GkeCluster(
        "gke",
        GkeClusterArgs(
            context=context, network="projects/p/global/networks/vpc", project=PROJECT, service_agent=GKE_AGENT
        ),
    )
    GkeStorage("storage", GkeStorageArgs(context=context), opts=pulumi.ResourceOptions(provider=cluster.provider))
    pulumi.export("kubeconfig", cluster.kubeconfig)


@pytest.fixture(scope="module")
def prod():
    return run_component(build, overrides=PROD_GKE)


@pytest.fixture(scope="module")
def staging():
    return run_component(build, overrides=STAGING_GKE)


def test_nodes_are_private_and_the_endpoint_only_admits_authorized_networks(prod):
    c = prod.one(CLUSTER).inputs
    assert dig(c, "privateClusterConfig.enablePrivateNodes") is True
    assert dig(c, "privateClusterConfig.masterIpv4CidrBlock") == "172.16.0.32/28"
    blocks = [b["cidrBlock"] for b in dig(c, "masterAuthorizedNetworksConfig.cidrBlocks")]
    assert blocks == ["203.0.113.0/24", "198.51.100.7/32"]
    assert dig(c, "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled") is False


def test_regional_vpc_native_cluster_on_its_own_subnet(prod):
    c = prod.one(CLUSTER).inputs
    assert c["location"] == "us-central1"
    assert c["networkingMode"] == "VPC_NATIVE"
    subnet = prod.one("gcp:compute/subnetwork:Subnetwork").inputs
    ranges = {r["rangeName"]: r["ipCidrRange"] for r in subnet["secondaryIpRanges"]}
    assert ranges == {"pods": "10.44.0.0/14", "services": "10.48.0.0/20"}
    assert subnet["privateIpGoogleAccess"] is True
    assert dig(c, "ipAllocationPolicy.clusterSecondaryRangeName") == "pods"
    assert dig(c, "ipAllocationPolicy.servicesSecondaryRangeName") == "services"


def test_workload_identity_dataplane_v2_and_shielded_nodes(prod):
    c = prod.one(CLUSTER).inputs
    assert dig(c, "workloadIdentityConfig.workloadPool") == "test-project.svc.id.goog"
    assert c["datapathProvider"] == "ADVANCED_DATAPATH"
    # Dataplane V2 enforces NetworkPolicy itself; the Calico add-on must not be on as well
    assert "networkPolicy" not in c and "networkPolicyConfig" not in (c.get("addonsConfig") or {})
    assert c["enableShieldedNodes"] is True
    assert c["enableLegacyAbac"] is False


def test_secrets_are_encrypted_with_a_rotated_kms_key_the_gke_agent_may_use(prod):
    c = prod.one(CLUSTER).inputs
    key = prod.one("gcp:kms/cryptoKey:CryptoKey")
    grant = prod.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert dig(c, "databaseEncryption.state") == "ENCRYPTED"
    assert dig(c, "databaseEncryption.keyName") == grant.inputs["cryptoKeyId"] == f"{key.name}-id"
    assert key.inputs["rotationPeriod"] == f"{90 * 86400}s"
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant.inputs["member"] == GKE_AGENT
    # the cluster is created only after the grant (through the key name it reads from it)
    assert grant.urn in prod.one(CLUSTER).dependencies
    assert prod.one("gcp:kms/keyRing:KeyRing").inputs["location"] == "us-central1"


def test_default_pool_removed_and_node_pool_autoscales_from_config(prod):
    c = prod.one(CLUSTER).inputs
    assert c["removeDefaultNodePool"] is True and c["initialNodeCount"] == 1
    pool = prod.one(POOL).inputs
    assert pool["autoscaling"]["minNodeCount"] == 1 and pool["autoscaling"]["maxNodeCount"] == 3
    assert dig(pool, "nodeConfig.machineType") == "e2-standard-4"
    assert pool["management"] == {"autoRepair": True, "autoUpgrade": True}
    assert dig(pool, "nodeConfig.shieldedInstanceConfig") == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert dig(pool, "nodeConfig.workloadMetadataConfig.mode") == "GKE_METADATA"
    assert dig(pool, "upgradeSettings.maxUnavailable") == 0


def test_nodes_run_as_a_least_privilege_service_account(prod):
    account = prod.one("gcp:serviceaccount/account:Account")
    email = f"{account.inputs['accountId']}@offline-plan-project.iam.gserviceaccount.com"
    assert dig(prod.one(POOL).inputs, "nodeConfig.serviceAccount") == email
    assert dig(prod.one(CLUSTER).inputs, "nodeConfig.serviceAccount") == email  # the temporary default pool too
    roles = sorted(m.inputs["role"] for m in prod.of_type("gcp:projects/iAMMember:IAMMember"))
    assert roles == sorted(NODE_ROLES)
    assert not any("editor" in r or "owner" in r or "admin" in r.lower() for r in roles)


def test_maintenance_window_opens_at_the_seed_time_and_satisfies_gke_minimum(prod):
    window = dig(prod.one(CLUSTER).inputs, "maintenancePolicy.recurringWindow")
    assert window == {
        "startTime": "2025-01-12T02:00:00Z",  # a Sunday, 02:00 UTC (seed 002)
        "endTime": "2025-01-12T10:00:00Z",
        "recurrence": "FREQ=WEEKLY;BYDAY=SA,SU",
    }
    # GKE rejects less than 48 h of maintenance time in 32 days (blocks of >= 4 h); any 32 days
    # hold at least 4 full weeks of windows
    start, end = (datetime.fromisoformat(window[k].replace("Z", "+00:00")) for k in ("startTime", "endTime"))
    hours = (end - start).total_seconds() / 3600
    per_week = len(window["recurrence"].split("BYDAY=")[1].split(","))
    assert hours >= 4 and hours * per_week * 4 >= 48
    assert gke_maintenance_window("MON:03:30-MON:05:00").recurrence == "FREQ=WEEKLY;BYDAY=MO,SU"
    with pytest.raises(ValueError):
        gke_maintenance_window("Sunday 2am")


def test_addons_release_channel_and_logging(prod):
    c = prod.one(CLUSTER).inputs
    addons = c["addonsConfig"]
    assert addons["httpLoadBalancing"] == {"disabled": False}
    assert addons["gcePersistentDiskCsiDriverConfig"] == {"enabled": True}
    assert addons["gkeBackupAgentConfig"] == {"enabled": True}
    assert c["gatewayApiConfig"] == {"channel": "CHANNEL_STANDARD"}
    assert c["releaseChannel"] == {"channel": "REGULAR"}
    assert {"SYSTEM_COMPONENTS", "WORKLOADS"} <= set(dig(c, "loggingConfig.enableComponents"))
    assert dig(c, "nodePoolDefaults.nodeConfigDefaults.insecureKubeletReadonlyPortEnabled") == "FALSE"
    assert c["resourceLabels"]["environment"] == "prod"


def test_production_cluster_and_key_are_protected_staging_is_not(prod, staging):
    assert prod.one(CLUSTER).inputs["deletionProtection"] is True
    assert prod.one(CLUSTER).protect and prod.one("gcp:kms/cryptoKey:CryptoKey").protect
    assert staging.one(CLUSTER).inputs["deletionProtection"] is False
    assert not staging.one(CLUSTER).protect


def test_kubernetes_provider_uses_the_dns_endpoint_and_the_gcloud_auth_plugin(prod):
    """CI runners have no stable egress range for authorized networks: the provider connects to
    the DNS endpoint, which IAM guards, with the endpoint's publicly trusted certificate."""
    c = prod.one(CLUSTER).inputs
    dns = dig(c, "controlPlaneEndpointsConfig.dnsEndpointConfig")
    assert dns["allowExternalTraffic"] is True
    assert dns["enableK8sCertsViaDns"] is False and dns["enableK8sTokensViaDns"] is False
    kubeconfig = prod.outputs["kubeconfig"]
    assert "server: https://gke-0a1b2c3d4e5f-aia-dev-cluster.us-central1.gke.goog\n" in kubeconfig
    assert "certificate-authority-data" not in kubeconfig
    assert "command: gke-gcloud-auth-plugin" in kubeconfig
    assert "token" not in kubeconfig and "password" not in kubeconfig
    provider = prod.one("pulumi:providers:kubernetes")
    # waits for the node pool as well: workloads are not deployed onto a cluster without nodes
    assert prod.one(POOL).urn in provider.dependencies and prod.one(CLUSTER).urn in provider.dependencies


def test_regional_pd_storage_class_and_snapshot_class(prod, staging):
    objects = {o["kind"]: o for o in k8s_objects(prod.resources)}
    sc = objects["StorageClass"]
    assert sc["provisioner"] == "pd.csi.storage.gke.io"
    assert sc["parameters"] == {"type": "pd-balanced", "replication-type": "regional-pd"}
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer" and sc["allowVolumeExpansion"] is True
    assert sc["reclaimPolicy"] == "Retain"
    snap = objects["VolumeSnapshotClass"]
    assert snap["apiVersion"] == "snapshot.storage.k8s.io/v1" and snap["driver"] == "pd.csi.storage.gke.io"
    assert snap["deletionPolicy"] == "Retain"
    assert {o["kind"]: o for o in k8s_objects(staging.resources)}["StorageClass"]["reclaimPolicy"] == "Delete"
    assert validate_k8s([sc]) == []


def test_bad_gke_ranges_fail_as_config_errors():
    from components.config import ConfigError

    with pytest.raises(ConfigError, match="masterCidr"):
        run_component(build, overrides={**PROD_GKE, "gke": {"masterCidr": "172.16.0.0/24"}})
    with pytest.raises(ConfigError, match="overlaps"):
        run_component(build, overrides={**PROD_GKE, "gke": {"servicesCidr": "10.44.0.0/20"}})


def test_a_subnet_from_the_network_is_used_as_given():
    from components.cluster.gke import ClusterSubnet

    def build_on_shared_subnet(context):
        subnet = ClusterSubnet("projects/p/regions/us-central1/subnetworks/shared", "gke-pods", "gke-services")
        GkeCluster("gke", GkeClusterArgs(context=context, network="vpc", subnet=subnet, project="p", service_agent=GKE_AGENT))

    capture = run_component(build_on_shared_subnet, overrides=STAGING_GKE)
    assert capture.of_type("gcp:compute/subnetwork:Subnetwork") == []
    c = capture.one(CLUSTER).inputs
    assert c["subnetwork"] == "projects/p/regions/us-central1/subnetworks/shared" and c["project"] == "p"
    assert c["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "gke-pods", "servicesSecondaryRangeName": "gke-services"}


def test_without_the_dns_endpoint_the_provider_uses_the_ip_endpoint_and_cluster_ca():
    capture = run_component(build, overrides={**PROD_GKE, "gke": {**PROD_GKE["gke"], "controlPlaneDnsEndpoint": False}})
    assert dig(capture.one(CLUSTER).inputs, "controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic") is False
    kubeconfig = capture.outputs["kubeconfig"]
    assert "server: https://203.0.113.20\n" in kubeconfig
    assert "certificate-authority-data: bW9jay1jYQ==" in kubeconfig
