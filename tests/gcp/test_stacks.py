"""The staging and prod stacks end to end, through the offline plan."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from tests.helpers import plan_of, problem_lines, stack_raw_config
from tools.plan import PLACEHOLDER_SECRET

STATEFUL = {
    "gcp:sql/databaseInstance:DatabaseInstance",
    "gcp:sql/database:Database",
    "gcp:redis/instance:Instance",
    "gcp:firestore/database:Database",
    "gcp:compute/disk:Disk",
    "gcp:storage/bucket:Bucket",
}
SECRET_ENV = {"DATABASE_URL", "REDIS_URL", "MONGODB_CONNECTION_URI", "QUEUE_CONNECTIONURL", "OPENAI_API_KEY",
              "JWT_SECRET_KEY", "SESSION_SECRET", "REDIS_TLS_CA_CERT"}


def _types(plan) -> Counter:
    return Counter(r.type for r in plan.capture.resources)


def _of(plan, type_token):
    return [r for r in plan.capture.resources if r.type == type_token]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_stack_contains_the_whole_platform(stack):
    plan = plan_of(stack)
    assert plan.platform == "cloudrun"
    types = _types(plan)
    for token in (
        "gcp:projects/service:Service",
        "gcp:compute/network:Network",
        "gcp:servicenetworking/connection:Connection",
        "gcp:compute/routerNat:RouterNat",
        "gcp:sql/databaseInstance:DatabaseInstance",
        "gcp:redis/instance:Instance",
        "gcp:firestore/database:Database",
        "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
        "gcp:secretmanager/secret:Secret",
        "gcp:cloudrunv2/service:Service",
        "gcp:cloudrunv2/workerPool:WorkerPool",
        "gcp:compute/securityPolicy:SecurityPolicy",
        "gcp:compute/backendService:BackendService",
        "gcp:certificatemanager/certificate:Certificate",
        "gcp:compute/sSLPolicy:SSLPolicy",
        "gcp:monitoring/alertPolicy:AlertPolicy",
        "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
        "gcp:monitoring/dashboard:Dashboard",
        "gcp:logging/metric:Metric",
        "gcp:storage/bucket:Bucket",
        "gcp:workflows/workflow:Workflow",
        "gcp:cloudscheduler/job:Job",
    ):
        assert types[token] >= 1, token
    assert not plan.mandatory, plan.mandatory
    apis = {r.inputs["service"] for r in _of(plan, "gcp:projects/service:Service")}
    assert {"run.googleapis.com", "sqladmin.googleapis.com", "redis.googleapis.com", "firestore.googleapis.com",
            "secretmanager.googleapis.com", "servicenetworking.googleapis.com"} <= apis
    # every GCP resource targets the stack's project
    projects = {r.inputs.get("project") for r in plan.capture.resources if r.custom and "project" in r.inputs}
    assert projects == {"your-gcp-project-id"}


def test_staging_is_one_region_with_smaller_tiers():
    plan = plan_of("staging")
    assert plan.capture.outputs["regions"] == ["us-central1"]
    regions = {r.inputs["location"] for r in _of(plan, "gcp:cloudrunv2/service:Service")}
    assert regions == {"us-central1"}
    sql = _of(plan, "gcp:sql/databaseInstance:DatabaseInstance")
    assert len(sql) == 1 and sql[0].inputs["settings"]["availabilityType"] == "ZONAL"
    assert _of(plan, "gcp:redis/instance:Instance")[0].inputs["tier"] == "BASIC"
    assert _of(plan, "gcp:firestore/database:Database")[0].inputs["locationId"] == "us-central1"
    assert not any(r.protect for r in plan.capture.resources)
    assert "adaptiveProtectionConfig" not in _of(plan, "gcp:compute/securityPolicy:SecurityPolicy")[0].inputs


def test_prod_runs_every_service_in_both_regions_behind_one_load_balancer():
    plan = plan_of("prod")
    assert plan.capture.outputs["regions"] == ["us-central1", "europe-west1"]
    services = Counter(r.inputs["name"] for r in _of(plan, "gcp:cloudrunv2/service:Service"))
    assert services == {"aia-prod-frontend": 2, "aia-prod-api": 2, "aia-prod-mcp": 2}
    pools = {r.inputs["location"] for r in _of(plan, "gcp:cloudrunv2/workerPool:WorkerPool")}
    assert pools == {"us-central1", "europe-west1"}
    negs = {(r.inputs["region"], r.inputs["cloudRun"]["service"]) for r in
            _of(plan, "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")}
    assert negs == {(region, f"aia-prod-{svc}") for region in ("us-central1", "europe-west1") for svc in ("frontend", "api")}
    assert len(_of(plan, "gcp:compute/globalAddress:GlobalAddress")) == 2  # LB IP + PSA range
    subnets = {r.inputs["region"] for r in _of(plan, "gcp:compute/subnetwork:Subnetwork")}
    assert subnets == {"us-central1", "europe-west1"}
    for svc in _of(plan, "gcp:cloudrunv2/service:Service"):
        assert svc.inputs["deletionProtection"] is True
        assert svc.inputs["template"]["scaling"]["minInstanceCount"] >= 2


def test_prod_data_is_replicated_highly_available_and_protected():
    plan = plan_of("prod")
    sql = {r.inputs["name"]: r for r in _of(plan, "gcp:sql/databaseInstance:DatabaseInstance")}
    assert sql["aia-prod-postgres"].inputs["settings"]["availabilityType"] == "REGIONAL"
    replica = sql["aia-prod-postgres-europe-west1"]
    assert replica.inputs["region"] == "europe-west1" and replica.inputs["masterInstanceName"] == "aia-prod-postgres"
    assert _of(plan, "gcp:redis/instance:Instance")[0].inputs["tier"] == "STANDARD_HA"
    assert _of(plan, "gcp:firestore/database:Database")[0].inputs["locationId"] == "nam5"
    stateful = [r for r in plan.capture.resources if r.type in STATEFUL]
    assert len(stateful) >= 7
    assert all(r.protect for r in stateful), [r.name for r in stateful if not r.protect]
    assert _of(plan, "gcp:compute/securityPolicy:SecurityPolicy")[0].inputs["adaptiveProtectionConfig"]


def test_cloud_run_reads_every_secret_through_secret_manager():
    for stack in ("staging", "prod"):
        plan = plan_of(stack)
        secret_ids = {r.inputs["secretId"] for r in _of(plan, "gcp:secretmanager/secret:Secret")}
        workloads = _of(plan, "gcp:cloudrunv2/service:Service") + _of(plan, "gcp:cloudrunv2/workerPool:WorkerPool")
        for workload in workloads:
            for env in workload.inputs["template"]["containers"][0]["envs"]:
                if env["name"] in SECRET_ENV:
                    assert "value" not in env, (workload.name, env["name"])
                    assert env["valueSource"]["secretKeyRef"]["secret"] in secret_ids
        api = next(w for w in workloads if w.inputs["name"].endswith("-api"))
        names = {e["name"] for e in api.inputs["template"]["containers"][0]["envs"]}
        assert {"DATABASE_URL", "REDIS_URL", "MONGODB_CONNECTION_URI", "QUEUE_CONNECTIONURL", "OPENAI_API_KEY"} <= names
        assert "QUEUE_TLS_CA_CERT" in names  # AMQPS: clients verify the broker against the stack's CA


def test_each_service_account_reads_only_the_secrets_its_service_uses():
    plan = plan_of("prod")
    grants: dict[str, set[str]] = {}
    for g in _of(plan, "gcp:secretmanager/secretIamMember:SecretIamMember"):
        who = g.inputs["member"].split(":")[1].split("@")[0].removeprefix("aia-prod-")
        grants.setdefault(who, set()).add(g.inputs["secretId"].removeprefix("aia-prod-"))
    assert grants["frontend"] == {"session-secret", "redis-url", "redis-tls-ca-cert"}
    assert grants["mcp"] == {"openai-api-key", "database-url", "redis-url", "redis-tls-ca-cert"}
    # the broker VM: its password and its TLS chain and key
    assert grants["rabbitmq"] == {"rabbitmq-password", "rabbitmq-tls-chain", "rabbitmq-tls-key"}
    assert "openai-api-key" not in grants["frontend"]
    # nobody holds a project-wide secret role
    roles = {r.inputs["role"] for r in _of(plan, "gcp:projects/iAMMember:IAMMember")}
    assert not any("secretmanager" in role or role in ("roles/owner", "roles/editor") for role in roles)


def test_ingress_is_limited_to_the_load_balancer_and_the_vpc():
    plan = plan_of("prod")
    ingress = {r.inputs["name"]: r.inputs["ingress"] for r in _of(plan, "gcp:cloudrunv2/service:Service")}
    assert ingress == {
        "aia-prod-frontend": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        "aia-prod-api": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        "aia-prod-mcp": "INGRESS_TRAFFIC_INTERNAL_ONLY",
    }
    invokers = {r.inputs["member"].split(":")[1].split("@")[0] for r in _of(plan, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember")}
    assert invokers == {"aia-prod-api", "aia-prod-worker"}  # the services that call MCP
    firewall = [r.inputs for r in _of(plan, "gcp:compute/firewall:Firewall") if r.inputs.get("allows")]
    # AMQP from the service subnets, and from Google's health checkers for the broker's auto-healing
    assert [f["allows"][0]["ports"] for f in firewall] == [["5671"], ["5671"]]
    assert sorted(tuple(f["sourceRanges"]) for f in firewall) == [
        ("10.10.0.0/20", "10.20.0.0/20"), ("35.191.0.0/16", "130.211.0.0/22")
    ]


def test_outputs_describe_urls_dns_and_the_dr_runbook():
    outputs = plan_of("prod").capture.outputs
    assert outputs["urls"] == {"frontend": "https://app.ai-assistant.example.com", "api": "https://api.ai-assistant.example.com"}
    assert {r["name"] for r in outputs["dnsRecords"] if r["type"] == "A"} == {
        "app.ai-assistant.example.com", "api.ai-assistant.example.com"}
    assert {r["name"] for r in outputs["dnsRecords"] if r["type"] == "CNAME"} == {
        "_acme-challenge.app.ai-assistant.example.com.", "_acme-challenge.api.ai-assistant.example.com."}
    dr = outputs["dr"]
    assert dr["targetRpoMinutes"] == 60 and dr["targetRtoMinutes"] == 240
    assert dr["meetsTargets"] is True and dr["achievedRpoMinutes"]["systemsOfRecord"] <= 60
    assert any("promote-replica" in step for step in dr["runbook"])
    assert outputs["backupBucket"] == "your-gcp-project-id-prod-backups"


def test_no_secret_value_appears_outside_secret_markers():
    for stack in ("staging", "prod"):
        plan = plan_of(stack)
        text = json.dumps(plan.as_document())
        for leaked in (PLACEHOLDER_SECRET, "mock-random-", "mock-auth-string", "mock-firestore-password"):
            assert leaked not in text, (stack, leaked)
        assert not re.search(r"(postgresql|rediss|mongodb|amqp)://[^\"]*:[^\"]*@", text), stack
        assert all(v != PLACEHOLDER_SECRET for v in plan.capture.outputs.values())


def test_prod_cannot_switch_off_deletion_protection():
    assert "gcp.deletionProtection = False" in problem_lines("prod", {"gcp": {"deletionProtection": False}})
    assert "gcp.cdnServices = 'mcp'" in problem_lines("staging", {"gcp": {"cdnServices": ["mcp"]}})


def test_stack_files_set_a_placeholder_project_and_example_domain():
    for stack, domain in (("staging", "staging.ai-assistant.example.com"), ("prod", "ai-assistant.example.com")):
        raw = stack_raw_config(stack)
        assert raw["platform"] == "cloudrun" and raw["domain"] == domain
        assert raw["monitoring"]["notifications"]["emails"]
