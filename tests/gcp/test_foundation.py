"""Project bootstrap, network and Secret Manager store, each alone."""

from __future__ import annotations

import pytest

from components.gcp import firestore_multi_region_of, multi_region_of
from components.gcp.project import (
    TELEMETRY_ROLES,
    ProjectApis,
    ProjectApisArgs,
    ServiceAccounts,
    ServiceAccountsArgs,
    WorkloadIdentity,
    account_id,
)
from components.network.gcp import GcpNetwork, GcpNetworkArgs
from components.secrets.gcp import SecretAccess, SecretManagerStore, SecretManagerStoreArgs, secret_id
from tests.gcp.support import PROJECT, run_gcp

SERVICE = "gcp:projects/service:Service"
FIREWALL = "gcp:compute/firewall:Firewall"


def test_apis_are_enabled_and_never_disabled_on_destroy():
    apis = ["run.googleapis.com", "sqladmin.googleapis.com", "compute.googleapis.com"]
    run = run_gcp(lambda c: ProjectApis("project", ProjectApisArgs(context=c, project=PROJECT, apis=apis)))
    services = run.of_type(SERVICE)
    assert sorted(s.inputs["service"] for s in services) == sorted(apis)
    for s in services:
        assert s.inputs["disableOnDestroy"] is False
        assert s.inputs["disableDependentServices"] is False
        assert s.inputs["project"] == PROJECT


def test_needs_names_a_missing_api():
    def build(c):
        apis = ProjectApis("project", ProjectApisArgs(context=c, project=PROJECT, apis=["run.googleapis.com"]))
        with pytest.raises(KeyError, match="redis.googleapis.com"):
            apis.needs("redis.googleapis.com")

    run_gcp(build)


def test_one_service_account_per_workload_with_only_its_roles():
    def build(c):
        ServiceAccounts(
            "ids",
            ServiceAccountsArgs(
                context=c,
                project=PROJECT,
                identities=[
                    WorkloadIdentity("api", "api", TELEMETRY_ROLES),
                    WorkloadIdentity("backup", "backup", ("roles/cloudsql.viewer",)),
                ],
            ),
        )

    run = run_gcp(build)
    accounts = {a.inputs["accountId"] for a in run.of_type("gcp:serviceaccount/account:Account")}
    assert accounts == {"aia-prod-api", "aia-prod-backup"}
    bindings = {(m.inputs["member"], m.inputs["role"]) for m in run.of_type("gcp:projects/iAMMember:IAMMember")}
    api = "serviceAccount:aia-prod-api@offline-plan-project.iam.gserviceaccount.com"
    backup = "serviceAccount:aia-prod-backup@offline-plan-project.iam.gserviceaccount.com"
    assert bindings == {(api, r) for r in TELEMETRY_ROLES} | {(backup, "roles/cloudsql.viewer")}
    assert not any("owner" in r or "editor" in r for _, r in bindings)


def test_account_ids_are_valid_and_stable():
    assert account_id("aia-staging", "frontend") == "aia-staging-frontend"
    long = account_id("aia-averyveryverylongstack", "frontend")
    assert len(long) <= 30 and not long.endswith("-")


def _network(c, **kw):
    return GcpNetwork(
        "network",
        GcpNetworkArgs(
            context=c,
            project=PROJECT,
            subnets={"us-central1": "10.10.0.0/20", "europe-west1": "10.20.0.0/20"},
            private_service_cidr="10.100.0.0/16",
            **kw,
        ),
    )


@pytest.fixture(scope="module")
def network():
    return run_gcp(_network)


def test_vpc_has_a_private_subnet_per_region(network):
    vpc = network.one("gcp:compute/network:Network").inputs
    assert vpc["autoCreateSubnetworks"] is False and vpc["routingMode"] == "GLOBAL"
    subnets = {s.inputs["region"]: s.inputs for s in network.of_type("gcp:compute/subnetwork:Subnetwork")}
    assert set(subnets) == {"us-central1", "europe-west1"}
    assert subnets["us-central1"]["ipCidrRange"] == "10.10.0.0/20"
    assert all(s["privateIpGoogleAccess"] is True for s in subnets.values())
    assert all(s["logConfig"]["flowSampling"] > 0 for s in subnets.values())


def test_private_service_access_reserves_the_configured_range(network):
    rng = network.one("gcp:compute/globalAddress:GlobalAddress").inputs
    assert (rng["purpose"], rng["addressType"], rng["address"], rng["prefixLength"]) == (
        "VPC_PEERING",
        "INTERNAL",
        "10.100.0.0",
        16,
    )
    conn = network.one("gcp:servicenetworking/connection:Connection").inputs
    assert conn["service"] == "servicenetworking.googleapis.com"
    assert conn["reservedPeeringRanges"] == ["aia-prod-psa"]


def test_cloud_nat_per_region(network):
    nats = network.of_type("gcp:compute/routerNat:RouterNat")
    assert {n.inputs["region"] for n in nats} == {"us-central1", "europe-west1"}
    assert all(n.inputs["natIpAllocateOption"] == "AUTO_ONLY" for n in nats)


def test_ingress_is_denied_by_default_and_nothing_else_is_open(network):
    rules = network.of_type(FIREWALL)
    assert len(rules) == 1
    deny = rules[0].inputs
    assert deny["direction"] == "INGRESS" and deny["priority"] == 65534
    assert deny["denies"] == [{"protocol": "all"}] and deny["sourceRanges"] == ["0.0.0.0/0"]
    assert "allows" not in deny


def test_health_check_ranges_only_when_asked():
    run = run_gcp(lambda c: _network(c, allow_health_checks=True))
    allow = [r.inputs for r in run.of_type(FIREWALL) if r.inputs.get("allows")]
    assert len(allow) == 1 and set(allow[0]["sourceRanges"]) == {"35.191.0.0/16", "130.211.0.0/22"}


def test_location_helpers():
    assert multi_region_of("us-central1") == "US" and multi_region_of("europe-west1") == "EU"
    assert multi_region_of("australia-southeast1") == "australia-southeast1"
    assert firestore_multi_region_of("us-east4") == "nam5" and firestore_multi_region_of("europe-west3") == "eur3"


# --- Secret Manager ---------------------------------------------------------------------------


def _store(c):
    import pulumi

    return SecretManagerStore(
        "secrets",
        SecretManagerStoreArgs(
            context=c,
            project=PROJECT,
            values={
                "DATABASE_URL": pulumi.Output.secret("postgresql://app:hunter2@10.0.0.3/app"),
                "OPENAI_API_KEY": c.provided_secrets["OPENAI_API_KEY"],
            },
            access=[
                SecretAccess("api", "serviceAccount:api@x", ["DATABASE_URL", "OPENAI_API_KEY"]),
                SecretAccess("frontend", "serviceAccount:frontend@x", ["OPENAI_API_KEY"]),
            ],
        ),
    )


def test_secrets_versions_and_per_reader_access():
    run = run_gcp(_store)
    secrets = {s.inputs["secretId"]: s.inputs for s in run.of_type("gcp:secretmanager/secret:Secret")}
    assert set(secrets) == {"aia-prod-database-url", "aia-prod-openai-api-key"}
    assert all("auto" in s["replication"] for s in secrets.values())
    versions = run.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    assert len(versions) == 2 and all(v.inputs["secretData"] == "[secret]" for v in versions)
    grants = {(g.inputs["member"], g.inputs["secretId"]) for g in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")}
    assert grants == {
        ("serviceAccount:api@x", "aia-prod-database-url"),
        ("serviceAccount:api@x", "aia-prod-openai-api-key"),
        ("serviceAccount:frontend@x", "aia-prod-openai-api-key"),
    }
    roles = {g.inputs["role"] for g in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")}
    assert roles == {"roles/secretmanager.secretAccessor"}
    text = str([r.inputs for r in run.resources])
    assert "hunter2" not in text and "placeholder-openai_api_key" not in text


def test_reading_an_unknown_secret_is_an_error():
    def build(c):
        with pytest.raises(KeyError, match="NOPE"):
            SecretManagerStore(
                "secrets",
                SecretManagerStoreArgs(context=c, project=PROJECT, values={"A_KEY": "x"}, access=[SecretAccess("api", "m", ["NOPE"])]),
            )

    run_gcp(build)


def test_secret_ids_are_stable():
    assert secret_id("aia-prod", "QUEUE_CONNECTIONURL") == "aia-prod-queue-connectionurl"
