"""Workload Identity alone: one Kubernetes service account per Google service account, and the
metadata-server egress the pods need to get their tokens."""

from __future__ import annotations

import pytest

from components.cluster.gke_identity import GkeWorkloadIdentity, GkeWorkloadIdentityArgs
from components.edge.gke import GkeIngress
from tests.gke.common import PROD_GKE
from tests.helpers import k8s_objects, make_context, run_component, validate_k8s

import pulumi


def build(context):
    accounts = {s: f"projects/p/serviceAccounts/aia-{s}@p.iam.gserviceaccount.com" for s in ("api", "worker")}
    emails = {s: f"aia-{s}@p.iam.gserviceaccount.com" for s in accounts}
    wi = GkeWorkloadIdentity(
        "wi", GkeWorkloadIdentityArgs(context, "p.svc.id.goog", pulumi.Output.from_input("ai-assistant"), accounts, emails)
    )
    pulumi.export("annotations", wi.annotations)


@pytest.fixture(scope="module")
def wi():
    return run_component(build, overrides=PROD_GKE)


def test_each_kubernetes_account_may_act_as_its_own_google_account_only(wi):
    bindings = {b.inputs["serviceAccountId"]: b.inputs for b in wi.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    assert len(bindings) == 2
    for svc in ("api", "worker"):
        b = bindings[f"projects/p/serviceAccounts/aia-{svc}@p.iam.gserviceaccount.com"]
        assert b["role"] == "roles/iam.workloadIdentityUser"
        assert b["member"] == f"serviceAccount:p.svc.id.goog[ai-assistant/{svc}]"
    assert wi.outputs["annotations"] == {
        "api": {"iam.gke.io/gcp-service-account": "aia-api@p.iam.gserviceaccount.com"},
        "worker": {"iam.gke.io/gcp-service-account": "aia-worker@p.iam.gserviceaccount.com"},
    }


def test_pods_may_reach_the_gke_metadata_server_and_nothing_else(wi):
    (policy,) = k8s_objects(wi.resources)
    assert policy["kind"] == "NetworkPolicy" and policy["spec"]["policyTypes"] == ["Egress"]
    (rule,) = policy["spec"]["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "169.254.169.254/32"}}]
    assert rule["ports"] == [{"port": 80, "protocol": "TCP"}]
    assert validate_k8s([policy]) == []


def test_public_pods_admit_google_load_balancers_and_health_checks():
    source = GkeIngress.source_for(make_context("dev", PROD_GKE).config)
    assert set(source.cidrs) == {"130.211.0.0/22", "35.191.0.0/16"}
