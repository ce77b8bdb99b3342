"""The stack config schema: good stacks load; every kind of bad input gets one clear message."""

from __future__ import annotations

import pytest

from components.config import ConfigError, cpu_quantity, memory_quantity, parse_stack_config
from tests.helpers import stack_raw_config


def parse(overrides=None, stack="dev"):
    return parse_stack_config(stack_raw_config(stack, overrides), f"Pulumi.{stack}.yaml")


def error_of(overrides, stack="dev") -> str:
    with pytest.raises(ConfigError) as info:
        parse(overrides, stack)
    return str(info.value)


def test_dev_stack_loads_with_seed_defaults():
    cfg = parse()
    assert cfg.platform == "kubernetes"
    assert set(cfg.enabled_services) == {"frontend", "api", "mcp", "worker"}
    frontend = cfg.services["frontend"]
    assert (frontend.port, frontend.health_path, frontend.cpu, frontend.memory) == (3000, "/api/health", 500, 1024)
    api = cfg.services["api"]
    assert (api.port, api.health_path, api.effective_readiness_path) == (8080, "/health", "/ready")
    assert (cfg.services["mcp"].port, cfg.services["mcp"].health_path) == (8001, "/health")
    worker = cfg.services["worker"]
    assert (worker.cpu, worker.effective_cpu_limit, worker.memory, worker.effective_memory_limit) == (100, 200, 256, 512)
    assert cfg.dr.retention.daily_days == 30 and cfg.dr.retention.yearly_years == 7
    assert cfg.edge.rate_limits.per_client_per_minute == 60


def test_quantities_render_for_kubernetes():
    assert cpu_quantity(500) == "500m" and cpu_quantity(2000) == "2"
    assert memory_quantity(1024) == "1Gi" and memory_quantity(512) == "512Mi"


@pytest.mark.parametrize(
    "overrides, fragments",
    [
        ({"services": {"api": {"colour": "red"}}}, ["services.api.colour", "'red'", "unknown key"]),
        ({"services": {"api": {"maxReplicas": "many"}}}, ["services.api.maxReplicas", "'many'", "integer"]),
        ({"services": {"api": {"cpu": "two"}}}, ["services.api.cpu", "'two'", "number of vCPUs"]),
        ({"services": {"api": {"minReplicas": 5, "maxReplicas": 2}}}, ["services.api", "minReplicas (5)", "maxReplicas (2)"]),
        ({"services": {"mcp": {"port": None}}}, ["services.mcp", "needs a `port`"]),
        ({"services": {"api": {"image": "ghcr.io/acme/api"}}}, ["services.api.image", "pinned by tag or digest"]),
        ({"services": {"api": {"image": "ghcr.io/acme/api:latest"}}}, ["services.api.image", "':latest'"]),
        ({"data": {"mongodb": {"enabled": False}}}, ["services.api.uses", "'mongodb' is disabled"]),
        ({"services": {"api": {"env": {"OPENAI_API_KEY": "x"}}}}, ["services.api.env", "looks like a secret"]),
        ({"services": {"api": {"secrets": ["NOT_DECLARED"]}}}, ["'NOT_DECLARED' is not declared"]),
        ({"tags": {"Team": "X"}}, ["tags", "GCP label rules"]),
    ],
)
def test_bad_input_names_key_value_and_what_is_allowed(overrides, fragments):
    message = error_of(overrides)
    assert message.startswith("Pulumi.dev.yaml: invalid configuration")
    assert "nothing was created" in message
    for fragment in fragments:
        assert fragment in message, message


def test_unknown_top_level_key_and_platform():
    assert "colour: unknown key" in error_of({"colour": "red"})
    message = error_of({"platform": "nomad"})
    assert "platform = 'nomad'" in message and "kubernetes, gke, cloudrun, ecs" in message


def test_worker_needs_a_command_and_no_port():
    assert "needs a `command`" in error_of({"services": {"worker": {"command": []}}})
    assert "a worker has no `port`" in error_of({"services": {"worker": {"port": 9000}}})


def test_models_are_frozen():
    cfg = parse()
    with pytest.raises(Exception):
        cfg.services["api"].port = 1  # type: ignore[misc]


def test_any_service_name_gets_the_per_environment_defaults_of_its_kind():
    """prod: a new web service gets the web kind's sizes, replicas and canary release; a new worker
    the seed worker's sizes, heartbeat check and rolling release; a left-out seed service is gone."""
    raw = stack_raw_config("prod")
    raw["services"] = {
        "frontend": raw["services"]["frontend"],
        "chat": {"image": "ghcr.io/x/chat:1.0.0", "port": 9000},
        "jobs": {"kind": "worker", "image": "ghcr.io/x/jobs:1.0.0", "command": ["python", "-m", "jobs"]},
    }
    cfg = parse_stack_config(raw, "Pulumi.prod.yaml")
    assert set(cfg.services) == {"frontend", "chat", "jobs"}
    chat, jobs = cfg.services["chat"], cfg.services["jobs"]
    assert (chat.kind, chat.cpu, chat.memory, chat.min_replicas, chat.max_replicas) == ("web", 1000, 2048, 2, 6)
    assert (chat.health_path, chat.route, chat.release.strategy, chat.release.step_minutes) == ("/health", None, "canary", 30)
    assert (jobs.kind, jobs.cpu, jobs.memory, jobs.min_replicas, jobs.release.strategy) == ("worker", 1000, 1024, 2, "rolling")
    assert jobs.health_path is None and "/tmp/worker-heartbeat" in jobs.health_command[-1]


def test_a_seed_name_of_another_kind_gets_that_kinds_defaults():
    cfg = parse({"services": {"mcp": {"kind": "worker", "port": None, "command": ["python", "-m", "mcp"]}}})
    mcp = cfg.services["mcp"]
    assert (mcp.kind, mcp.port, mcp.cpu, mcp.memory, mcp.release.strategy) == ("worker", None, 100, 256, "rolling")


def test_yaml_lists_still_load_as_tuples():
    cfg = parse()
    assert cfg.services["api"].uses == ("postgres", "redis", "mongodb", "rabbitmq")
    assert isinstance(cfg.edge.rate_limits.ai_paths, tuple)


def test_a_stack_that_sizes_a_request_gets_twice_it_as_the_limit_not_the_seeds_limit():
    # the dev worker's seed limit (200m / 512Mi) belongs to its seed request (100m / 256Mi)
    worker = parse({"services": {"worker": {"cpu": "500m", "memory": "1Gi"}}}).services["worker"]
    assert (worker.effective_cpu_limit, worker.effective_memory_limit) == (1000, 2048)
    seed = parse().services["worker"]
    assert (seed.effective_cpu_limit, seed.effective_memory_limit) == (200, 512)
