"""The data-service registry (components/data/registry.py) is the one place a data service is named,
and the vector database it carries works end to end on every platform.

- the config schema, the seed sizes, the env vars and the network ports follow from the registry;
- no platform adapter, app layer or network module names a data service (a string literal or a
  `config.data.<name>` attribute): they iterate the registry;
- with the vector database on (`<stack>+vectordb`, tests/helpers.py), every client gets
  `VECTOR_DB_URL` only as a secret reference, on every platform; Qdrant runs hardened; on
  Cloud Run and ECS it is pgvector in the managed PostgreSQL and its clients reach PostgreSQL.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from components.config import DATA_SERVICES, DataConfig, environment_defaults
from components.data import registry
from components.platform import config_problems
from components.data.connection import ENV_VARS
from components.network.aws import DATA_PORTS
from tests.helpers import k8s_objects, make_context, plan_of, with_vectordb
from tools.plan import REPO, available_stacks

# the modules that wire data services into a platform and must take them from the registry
NO_NAMES_IN = ("components/platforms", "components/app", "components/network")


def test_the_config_schema_and_defaults_follow_the_registry():
    assert tuple(DataConfig.model_fields) == DATA_SERVICES == tuple(registry.REGISTRY)
    for environment in ("dev", "staging", "prod"):
        assert set(environment_defaults(environment)["data"]) == set(registry.REGISTRY)
    assert dict(ENV_VARS) == {n: s.env_var for n, s in registry.REGISTRY.items()}
    assert DATA_PORTS == {n: s.backends["ecs"].port for n, s in registry.REGISTRY.items()}


def test_every_data_service_has_a_backend_on_every_platform_and_off_defaults_stay_off():
    from components.config import PLATFORMS

    for name, service in registry.REGISTRY.items():
        assert set(service.backends) == set(PLATFORMS), name
        for platform, backend in service.backends.items():
            assert (backend.component is None) == (backend.hosted_on is not None), (name, platform)
            if backend.hosted_on is not None:
                assert registry.REGISTRY[backend.hosted_on].backends[platform].component, (name, platform)
    # the vector database is off by default in every environment
    assert all(not registry.REGISTRY["vectordb"].sizes[e]["enabled"] for e in ("dev", "staging", "prod"))


def _names_in(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in registry.REGISTRY:
            yield f"{path.name}:{node.lineno}: literal {node.value!r}"
        if isinstance(node, ast.Attribute) and node.attr in registry.REGISTRY:
            if isinstance(node.value, ast.Attribute) and node.value.attr == "data":
                yield f"{path.name}:{node.lineno}: .data.{node.attr}"


def test_no_platform_names_a_data_service():
    found = [hit for folder in NO_NAMES_IN for path in sorted((REPO / folder).glob("*.py")) for hit in _names_in(path)]
    assert found == [], "name data services in components/data/registry.py only:\n" + "\n".join(found)


def test_the_name_check_sees_a_literal_and_an_attribute(tmp_path):
    bad = tmp_path / "adapter.py"
    bad.write_text('def f(cfg):\n    return cfg.data.postgres.enabled, "redis"\n')
    assert len(list(_names_in(bad))) == 2


# --- the vector database, end to end ---------------------------------------------------------------


def _walk(value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    elif isinstance(value, str) and value[:1] in "[{":
        try:
            yield from _walk(json.loads(value))
        except ValueError:
            return


def _env_entries(stack: str, name: str) -> list[tuple[str, dict]]:
    return [
        (r.name, entry)
        for r in plan_of(stack).capture.resources
        for entry in _walk(r.inputs)
        if entry.get("name") == name and set(entry) & {"value", "valueFrom", "valueSource"}
    ]


@pytest.mark.parametrize("stack", available_stacks())
def test_with_the_vector_database_on_its_clients_get_its_url_as_a_secret_reference(stack):
    entries = _env_entries(with_vectordb(stack), "VECTOR_DB_URL")
    assert entries, "no client gets VECTOR_DB_URL"
    plain = [name for name, entry in entries if "value" in entry]
    assert plain == [], f"VECTOR_DB_URL as a plain env value in {plain}"
    assert _env_entries(stack, "VECTOR_DB_URL") == [], "the vector database must be off by default"


def _statefulset(stack: str, name: str) -> dict:
    objects = k8s_objects(plan_of(stack).capture.resources)
    return next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == name)


# what Qdrant writes at run time besides its PVC (components/data/qdrant.py)
QDRANT_WRITES = {"QDRANT__STORAGE__STORAGE_PATH", "QDRANT__STORAGE__SNAPSHOTS_PATH", "QDRANT_INIT_FILE_PATH"}


@pytest.mark.parametrize("stack", [s for s in available_stacks() if make_context(s).config.platform in ("kubernetes", "gke")])
def test_qdrant_runs_hardened_with_its_key_from_a_secret(stack):
    sts = _statefulset(with_vectordb(stack), "vectordb")
    pod = sts["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "vectordb"]
    image = container["image"]
    assert ":" in image and not image.endswith((":latest", "-latest")), image
    assert image.endswith("-unprivileged"), "the default Qdrant image runs as root"
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["runAsUser"] == 1000 and security["readOnlyRootFilesystem"]
    assert pod["securityContext"]["fsGroup"] == 1000  # the PVC is writable by that uid
    env = {e["name"]: e for e in container["env"]}
    assert "secretKeyRef" in env["QDRANT__SERVICE__API_KEY"]["valueFrom"]
    assert "secretKeyRef" in env["QDRANT__SERVICE__READ_ONLY_API_KEY"]["valueFrom"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    for key in QDRANT_WRITES:
        path = env[key]["value"]
        assert any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts), f"{key}={path} is not writable"
    assert "/tmp" in mounts
    replicas = make_context(with_vectordb(stack)).config.data.vectordb.replicas
    assert sts["spec"]["replicas"] == replicas
    # REST and gRPC; the Raft/p2p port only when clustered (and then every peer bootstraps)
    assert {p["containerPort"] for p in container["ports"]} == {6333, 6334} | ({6335} if replicas > 1 else set())
    assert ("--bootstrap" in " ".join(container.get("command") or [])) == (replicas > 1)
    claims = sts["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == ["data"]


@pytest.mark.parametrize("stack", [s for s in available_stacks() if make_context(s).config.platform in ("kubernetes", "gke")])
def test_qdrant_is_scraped_with_its_read_only_key_and_snapshotted(stack):
    objects = k8s_objects(plan_of(with_vectordb(stack)).capture.resources)
    (monitor,) = [o for o in objects if o["kind"] == "PodMonitor" and o["metadata"]["name"] == "vectordb"]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["authorization"]["credentials"] == {"name": "vectordb-credentials", "key": "read-only-key"}
    (cron,) = [o for o in objects if o["kind"] == "CronJob" and o["metadata"]["name"] == "backup-vectordb"]
    script = json.dumps(cron["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    assert "/snapshots" in script and "QDRANT_API_KEY" in script


@pytest.mark.parametrize("stack", [s for s in available_stacks() if make_context(s).config.platform in ("cloudrun", "ecs")])
def test_pgvector_needs_the_managed_postgres(stack):
    services = make_context(with_vectordb(stack)).config.enabled_services
    cfg = make_context(
        with_vectordb(stack),
        {
            "data": {"postgres": {"enabled": False}},
            "services": {n: {"uses": [u for u in s.uses if u != "postgres"]} for n, s in services.items()},
        },
    ).config
    found = registry.data_problems(cfg)
    assert [p.path for p in found] == ["data.vectordb.enabled"]
    # the platform's gathering (what load_stack_context raises before anything is built) has it too
    assert "data.vectordb.enabled" in [p.path for p in config_problems(cfg, stack)]


def test_qdrant_refuses_replicas():
    cfg = make_context(with_vectordb("dev"), {"data": {"vectordb": {"replicas": 2}}}).config
    assert [p.path for p in registry.data_problems(cfg)] == ["data.vectordb.replicas"]
    cfg = make_context(with_vectordb("dev"), {"data": {"vectordb": {"replicas": 3}}}).config
    assert registry.data_problems(cfg) == []


def test_a_client_of_only_the_vector_database_reaches_postgres_on_ecs():
    """pgvector on RDS: a service that uses the vector database (and not `postgres`) still needs the
    PostgreSQL security-group rules, once each (the rule names would collide otherwise)."""
    assert registry.reached(["vectordb"], "ecs") == ("postgres",)
    assert registry.reached(["postgres", "vectordb", "redis"], "ecs") == ("postgres", "redis")
    assert registry.reached(["vectordb"], "gke") == ("vectordb",)


def test_every_durable_data_service_is_restore_tested_on_every_platform():
    """Backup verification (issue 14) iterates the registry: a system of record without a restore
    test on some platform would have backups nobody ever proved restorable."""
    from components.data.registry import REGISTRY

    untested = [
        f"{service.name} on {platform}"
        for service in REGISTRY.values() if service.durable
        for platform, backend in service.backends.items()
        if backend.restore_test is None and backend.hosted_on is None  # hosted: its host's restore covers it
    ]
    assert not untested, f"durable data services without a restore test: {untested}"
