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
