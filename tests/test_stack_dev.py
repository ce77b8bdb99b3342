"""The dev stack end to end: the whole platform on local Kubernetes, as `pulumi up --stack dev` builds it."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.helpers import k8s_objects, plan_of, validate_k8s


@pytest.fixture(scope="module")
def plan():
    return plan_of("dev")


def kinds(plan) -> Counter:
    return Counter(o["kind"] for o in k8s_objects(plan.capture.resources))


def test_dev_has_the_whole_platform(plan):
    found = kinds(plan)
    assert found["Deployment"] == 4  # frontend, api, mcp, worker
    assert found["StatefulSet"] == 4  # postgres, redis, mongodb, rabbitmq
    assert found["Ingress"] >= 2 and found["HorizontalPodAutoscaler"] == 4
    assert found["CronJob"] == 4  # pg_dump and mongodump, and their restore tests
    assert found["PrometheusRule"] >= 1 and found["ServiceMonitor"] == 3  # the web services
    assert found["PodMonitor"] == 5  # four data-service exporters and the ingress-nginx controller
    charts = {r.inputs["chart"] for r in plan.capture.of_type("kubernetes:helm.sh/v3:Release")}
    assert charts == {"ingress-nginx", "kube-prometheus-stack", "metrics-server"}
    assert plan.platform == "kubernetes"


def test_every_kubernetes_object_is_valid(plan):
    assert validate_k8s(k8s_objects(plan.capture.resources)) == []


def test_outputs(plan):
    outputs = plan.capture.outputs
    assert outputs["appUrl"] == "http://app.localtest.me"
    assert outputs["apiUrl"] == "http://api.localtest.me"
    assert outputs["namespace"] == "ai-assistant"
    assert outputs["grafanaUrl"].startswith("http")
    assert outputs["connections"] == "[secret]"


def test_no_secret_value_outside_secret_references(plan):
    text = json.dumps(plan.as_document())
    assert "mock-random-" not in text  # generated passwords
    assert "offline-plan-placeholder" not in text  # provided secrets
    assert "placeholder-" not in text


def test_every_resource_is_parented_and_labelled(plan):
    resources = plan.capture.resources
    assert all(r.parent is not None for r in resources if r.custom)
    for obj in k8s_objects(resources):
        labels = obj["metadata"].get("labels", {})
        assert {"app", "environment", "managed-by"} <= set(labels), obj["metadata"].get("name")
        assert labels["environment"] == "dev"


def test_nothing_is_protected_in_dev(plan):
    assert not [r.name for r in plan.capture.resources if r.protect]
