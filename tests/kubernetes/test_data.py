"""In-cluster data services alone: persistence, credentials, probes, protection."""

from __future__ import annotations

import pytest

from components.data.kubernetes import InClusterDataArgs
from components.data.registry import component_class
from tests.helpers import k8s_objects, run_component, validate_k8s


def build_data(context):
    for service in context.config.data.enabled():
        component_class(service, context.config.platform)(service, InClusterDataArgs(context, "ai-assistant", getattr(context.config.data, service)))


@pytest.fixture(scope="module")
def dev():
    return run_component(build_data)


@pytest.fixture(scope="module")
def prod():
    return run_component(build_data, overrides={"environment": "prod"})


def statefulsets(capture):
    return {o["metadata"]["name"]: o for o in k8s_objects(capture.resources) if o["kind"] == "StatefulSet"}


def test_objects_are_valid(dev, prod):
    assert validate_k8s(k8s_objects(dev.resources)) == []
    assert validate_k8s(k8s_objects(prod.resources)) == []


def test_storage_and_resources_follow_the_seed_table(prod):
    sets = statefulsets(prod)
    sizes = {n: s["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] for n, s in sets.items()}
    assert sizes["postgres"] == "100Gi" and sizes["mongodb"] == "100Gi" and sizes["redis"] == "10Gi"
    pg = sets["postgres"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert pg == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}
    assert sets["mongodb"]["spec"]["replicas"] == 3


def test_data_is_retained_and_protected_in_prod(dev, prod):
    for capture, protected in ((dev, False), (prod, True)):
        for reg in capture.resources:
            if reg.type == "kubernetes:apps/v1:StatefulSet":
                assert reg.protect is protected
                assert reg.inputs["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
            if reg.type == "random:index/randomPassword:RandomPassword":
                assert reg.protect is protected


def test_containers_are_non_root_with_probes(dev):
    for name, sts in statefulsets(dev).items():
        pod = sts["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["livenessProbe"]["exec"]["command"] and container["readinessProbe"]
        assert pod["automountServiceAccountToken"] is False
        passwords = [e for e in container.get("env", []) if "PASS" in e["name"] or e["name"] == "REDISCLI_AUTH"]
        assert passwords and all("valueFrom" in e for e in passwords), name


def test_redis_uses_aof_config_from_a_secret(dev):
    redis = statefulsets(dev)["redis"]["spec"]["template"]["spec"]
    assert redis["containers"][0]["command"] == ["redis-server", "/etc/redis/redis.conf"]
    assert redis["volumes"][1]["secret"]["secretName"] == "redis-credentials"


def test_mongodb_is_an_authenticated_replica_set(prod):
    mongo = statefulsets(prod)["mongodb"]["spec"]["template"]["spec"]["containers"][0]
    args = mongo["args"]
    assert args[args.index("--replSet") + 1] == "rs0" and "--auth" in args and "--keyFile" in args
    (job,) = [o for o in k8s_objects(prod.resources) if o["kind"] == "Job"]
    script = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}["SCRIPT"]
    assert script.count("_id:") == 4  # the set and its three members


def test_only_platform_pods_reach_the_data_port_and_prometheus_the_exporter(dev):
    policy = [o for o in k8s_objects(dev.resources) if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "postgres-ingress"][0]
    clients, scrapes = policy["spec"]["ingress"]
    assert clients["from"] == [{"podSelector": {"matchLabels": {"app": "ai-assistant-platform"}}}]
    assert clients["ports"] == [{"port": 5432, "protocol": "TCP"}]
    assert scrapes["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
    assert scrapes["ports"] == [{"port": 9187, "protocol": "TCP"}]


def test_exporter_sidecars_are_hardened_and_read_credentials_from_secrets(dev):
    images = {}
    for name, sts in statefulsets(dev).items():
        for container in sts["spec"]["template"]["spec"]["containers"][1:]:
            images[name] = container["image"]
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True and security["readOnlyRootFilesystem"] is True
            assert security["capabilities"] == {"drop": ["ALL"]} and security["allowPrivilegeEscalation"] is False
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}
            assert container["resources"]["limits"] and container["livenessProbe"] and container["readinessProbe"]
            assert [p["name"] for p in container["ports"]] == ["metrics"]
            secret_like = [e for e in container["env"] if "PASS" in e["name"]]
            assert secret_like and all(e["valueFrom"]["secretKeyRef"]["key"] == "password" for e in secret_like)
    assert set(images) == {"postgres", "redis", "mongodb"}  # RabbitMQ serves its own metrics
    assert all(":" in image and not image.endswith(":latest") for image in images.values())


def test_rabbitmq_forms_one_cluster_in_prod(prod, dev):
    rabbit = statefulsets(prod)["rabbitmq"]["spec"]
    assert rabbit["replicas"] == 3
    pod = rabbit["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["RABBITMQ_USE_LONGNAME"]["value"] == "true"
    assert env["RABBITMQ_NODENAME"]["value"] == "rabbit@$(POD_NAME).rabbitmq-headless.ai-assistant.svc.cluster.local"
    (init,) = pod["initContainers"]
    assert "chmod 0400" in init["command"][-1] and ".erlang.cookie" in init["command"][-1]
    ports = {p["name"] for p in pod["containers"][0]["ports"]}
    assert {"epmd", "dist"} <= ports
    # a single dev broker needs neither cookie nor peers
    assert "initContainers" not in statefulsets(dev)["rabbitmq"]["spec"]["template"]["spec"]
