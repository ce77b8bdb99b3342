"""Check, then build: every adapter and data backend reports what a config gets wrong for it, all of
it in one message, before anything is registered (issue 13, section 1).

The bad stack files go through the loader `__main__.py` uses, on a project copy, via the offline
plan's CLI entry (`tools.plan.main`): exit 2, one message naming the stack file, the key path, the
value and what is allowed, and no resource registered.
"""

from __future__ import annotations

import ast
import re
import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import DATA_SERVICES, PLATFORMS, PROJECT
from components.data import registry
from tests.helpers import problems_of, project_copy
from tools import harness
from tools.plan import REPO, available_stacks, main


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: _merge(base.get(k), v) if k in base else v for k, v in override.items()}}
    return override


def stack_text(base: str, overrides: dict[str, Any]) -> str:
    """The shipped stack file `base` with `overrides` (project keys, camelCase) deep-merged."""
    document = yaml.safe_load((REPO / f"Pulumi.{base}.yaml").read_text())
    config = document["config"]
    for key, value in overrides.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        config[full] = _merge(config.get(full), value)
    return yaml.safe_dump(document, sort_keys=False)


def plan_bad_stack(tmp_path: Path, monkeypatch, capsys, base: str, overrides: dict[str, Any]) -> tuple[int, str, list]:
    """Run the offline plan CLI on a copy of the project whose stack `bad` is `base` + `overrides`:
    (exit code, stderr, every resource registered on the way)."""
    registered: list = []
    original = harness.RecordingMonitor.RegisterResource

    def recording(self, request):
        if request.type != "pulumi:pulumi:Stack":
            registered.append(request.type)
        return original(self, request)

    monkeypatch.setattr(harness.RecordingMonitor, "RegisterResource", recording)
    project_copy(tmp_path, {"bad": stack_text(base, overrides)})
    code = main(["--stack", "bad", "--project-dir", str(tmp_path)])
    return code, capsys.readouterr().err, registered


# (base stack, overrides, fragments the one message must contain: key path = value, what is allowed)
BAD_STACKS = {
    # sizes a platform does not offer are refused, never rounded
    "fargate-cpu": ("staging-aws", {"services": {"api": {"cpu": "1.5"}}},
                    ["services.api.cpu = '1500m'", "Fargate offers 0.25, 0.5, 1, 2, 4, 8 or 16 vCPU"]),
    "fargate-memory": ("prod-aws", {"services": {"mcp": {"memory": "1Gi"}}},
                       ["services.mcp.memory = '1Gi'", "Fargate offers 2Gi to 8Gi in steps of 1Gi with 1 vCPU"]),
    "fargate-too-large": ("prod-aws", {"services": {"api": {"cpu": 32, "memory": "64Gi"}}},
                          ["services.api.cpu = '32'", "16 vCPU"]),
    "cloud-run-cpu": ("staging", {"services": {"api": {"cpu": 3}}},
                      ["services.api.cpu = '3'", "Cloud Run offers 1, 2, 4, 6 or 8 vCPU"]),
    "cloud-run-fraction": ("staging", {"services": {"frontend": {"cpu": "500m", "memory": "512Mi"}}},
                           ["services.frontend.concurrency = 80", "only with concurrency 1"]),
    "cloud-run-fraction-memory": ("staging", {"services": {"frontend": {"cpu": "250m", "memory": "1Gi", "concurrency": 1}}},
                                  ["services.frontend.memory = '1Gi'", "at most 512Mi with 250m vCPU"]),
    "cloud-run-memory": ("prod", {"services": {"mcp": {"memory": "6Gi"}}},
                         ["services.mcp.memory = '6Gi'", "Cloud Run offers 512Mi to 4Gi with 1 vCPU"]),
    "cloud-run-worker": ("staging", {"services": {"worker": {"cpu": "500m"}}},
                         ["services.worker.cpu = '500m'", "worker pool (CPU always allocated) needs 1, 2, 4, 6 or 8 vCPU"]),
    "gke-request-above-node": ("staging-gke", {"services": {"api": {"cpu": 8, "memory": "16Gi"}}},
                               ["services.api.cpu = '8'", "services.api.memory = '16Gi'", "allocatable",
                                "e2-standard-4"]),
    "gke-data-above-node": ("staging-gke", {"data": {"mongodb": {"memory": "15Gi"}}},
                            ["data.mongodb.memory = '15Gi'", "allocatable 13621Mi"]),
    "gke-machine-type": ("prod-gke", {"gke": {"machineType": "e2-mega-4"}},
                         ["gke.machineType = 'e2-mega-4'", "<family>-<standard|highmem|highcpu>-<vCPUs>"]),
    # two services on one host and path
    "same-route": ("dev", {"services": {"mcp": {"route": {"subdomain": "api"}}}},
                   ["services.mcp.route.paths = '/'", "api.localtest.me/ is already the route of services.api"]),
    "same-route-trailing-slash": ("prod-aws", {"services": {"mcp": {"route": {"subdomain": "app", "paths": ["/"]}},
                                                            "frontend": {"route": {"paths": ["/"]}}}},
                                  ["is already the route of services.frontend"]),
    # regions the cloud does not have
    "gcp-region": ("staging", {"regions": {"primary": "us-central9"}},
                   ["regions.primary = 'us-central9'", "is not a region of Google Cloud", "us-central1"]),
    "gke-region": ("prod-gke", {"regions": {"secondary": "europe-west99"}},
                   ["regions.secondary = 'europe-west99'", "is not a region of Google Cloud"]),
    "aws-region": ("prod-aws", {"regions": {"secondary": "eu-nowhere-9"}},
                   ["regions.secondary = 'eu-nowhere-9'", "is not a region of AWS", "eu-west-1"]),
    # managed sizes that do not exist
    "cloud-sql-tier": ("staging", {"data": {"postgres": {"tier": "db-huge-9000"}}},
                       ["data.postgres.tier = 'db-huge-9000'", "db-custom-<vCPUs>-<MiB>"]),
    "cloud-sql-custom-shape": ("prod-gke", {"data": {"postgres": {"tier": "db-custom-3-1000"}}},
                               ["data.postgres.tier = 'db-custom-3-1000'", "even number of vCPUs"]),
    "memorystore-size": ("staging", {"data": {"redis": {"tier": "huge"}}},
                         ["data.redis.tier = 'huge'", "whole number of GB from 1 to 300"]),
    "memorystore-too-big": ("staging-gke", {"data": {"redis": {"tier": "400"}}}, ["data.redis.tier = '400'"]),
    "memorystore-capacity-from-storage": ("prod", {"data": {"redis": {"storageGi": 400}}},
                                          ["data.redis.storageGi = 400", "Memorystore capacity when data.redis.tier is unset"]),
    "cloud-sql-disk": ("staging", {"data": {"postgres": {"storageGi": 5}}},
                       ["data.postgres.storageGi = 5", "Cloud SQL data disk is at least 10 GB"]),
    "standby-without-region": ("staging-aws", {"regions": {"secondary": None}, "aws": {"standby": {"mode": "warm"}}},
                               ["aws.standby.mode = 'warm'", "needs regions.secondary"]),
    "standby-vpc-overlap": ("prod-aws", {"aws": {"standby": {"vpcCidr": "10.30.128.0/17"}}},
                            ["aws.standby.vpcCidr = '10.30.128.0/17'", "overlaps aws.vpcCidr"]),
    "in-cluster-version": ("dev", {"data": {"postgres": {"version": "17"}}},
                           ["data.postgres.version = '17'", "runs postgres:16.4 (pinned by the program)"]),
    "rds-disk": ("prod-aws", {"data": {"postgres": {"storageGi": 10}}},
                 ["data.postgres.storageGi = 10", "RDS for PostgreSQL on gp3 allocates 20 to 65536 GiB"]),
    "gke-weekly-retention": ("prod-gke", {"dr": {"retention": {"weeklyWeeks": 60}}},
                             ["dr.retention.weeklyWeeks = 60", "Backup for GKE keeps a backup at most 365 days"]),
    "rabbitmq-vm": ("staging", {"data": {"rabbitmq": {"tier": "e2-gigantic"}}},
                    ["data.rabbitmq.tier = 'e2-gigantic'", "Compute Engine machine type"]),
    "rds-class": ("prod-aws", {"data": {"postgres": {"tier": "db.m9z.large"}}},
                  ["data.postgres.tier = 'db.m9z.large'", "RDS for PostgreSQL instance classes are db.<family>.<size>"]),
    "elasticache-class": ("staging-aws", {"data": {"redis": {"tier": "cache.huge"}}},
                          ["data.redis.tier = 'cache.huge'", "ElastiCache instance classes are cache.<family>.<size>"]),
    "documentdb-class": ("prod-aws", {"data": {"mongodb": {"tier": "db.t4g.large"}}},
                         ["data.mongodb.tier = 'db.t4g.large'", "t3 and t4g families only as medium"]),
    "amazon-mq-class": ("prod-aws", {"data": {"rabbitmq": {"tier": "mq.m5.huge"}}},
                        ["data.rabbitmq.tier = 'mq.m5.huge'", "Amazon MQ for RabbitMQ offers mq.t3.micro"]),
    # a size nothing would use
    "in-cluster-tier": ("dev", {"data": {"postgres": {"tier": "db-custom-2-7680"}}},
                        ["data.postgres.tier = 'db-custom-2-7680'", "an in-cluster StatefulSet has no managed size"]),
    "gke-in-cluster-tier": ("prod-gke", {"data": {"rabbitmq": {"tier": "e2-medium"}}},
                            ["data.rabbitmq.tier = 'e2-medium'", "in-cluster StatefulSet"]),
    "firestore-tier": ("prod", {"data": {"mongodb": {"tier": "large"}}},
                       ["data.mongodb.tier = 'large'", "Firestore with MongoDB compatibility has no managed size"]),
    # the control plane open to the internet
    "gke-open-control-plane": ("prod-gke", {"gke": {"masterAuthorizedNetworks": ["203.0.113.0/24", "0.0.0.0/0"]}},
                               ["gke.masterAuthorizedNetworks = '0.0.0.0/0'", "whole internet"]),
    "gke-open-control-plane-v6": ("staging-gke", {"gke": {"masterAuthorizedNetworks": ["::/0"]}},
                                  ["gke.masterAuthorizedNetworks = '::/0'"]),
    # the checks that lived in the builds keep their information
    "deletion-protection": ("prod", {"gcp": {"deletionProtection": False}},
                            ["gcp.deletionProtection = False", "always keep deletion protection"]),
    "cdn-services": ("staging", {"gcp": {"cdnServices": ["mcp"]}},
                     ["gcp.cdnServices = 'mcp'", "is not an enabled service with a route"]),
    "reserved-env": ("prod", {"services": {"api": {"env": {"PORT": "9000"}}}},
                     ["services.api.env = 'PORT'", "set by Cloud Run itself"]),
    "secret-and-plain": ("staging", {"settings": {"JWT_SIGNING": "x"}, "secrets": {"generated": ["JWT_SECRET_KEY", "SESSION_SECRET", "JWT_SIGNING"]},
                                     "services": {"api": {"secrets": ["OPENAI_API_KEY", "JWT_SECRET_KEY", "JWT_SIGNING"]}}},
                         ["services.api.secrets = 'JWT_SIGNING'", "is also a plain setting"]),
    "gke-ranges": ("prod-gke", {"gke": {"subnetCidr": "10.10.0.0/20"}},
                   ["gke.subnetCidr = '10.10.0.0/20'", "overlaps gcp.networkCidr"]),
    "gke-metrics-server": ("prod-gke", {"kubernetes": {"metricsServer": {"install": True}}},
                           ["kubernetes.metricsServer.install = True", "GKE provides metrics-server itself"]),
    "gke-backup-retention": ("prod-gke", {"dr": {"retention": {"dailyDays": 400}}},
                             ["dr.retention.dailyDays = 400", "at most 365 days"]),
    "pg-dump-version": ("dev", {"data": {"postgres": {"version": "11"}}},
                        ["data.postgres.version = '11'", "no pinned pg_dump image"]),
    "ecs-cdn-off": ("prod-aws", {"edge": {"cdn": False}}, ["edge.cdn = False", "only through CloudFront"]),
    "aws-engine-version": ("staging-aws", {"data": {"redis": {"version": "7.2"}}},
                           ["data.redis.version = '7.2'", "ElastiCache (Redis OSS) offers 6.2, 7.0, 7.1"]),
    # values the builds parse: refused by the schema, never a traceback half way
    "maintenance-window": ("prod", {"dr": {"maintenanceWindow": "sunday at 2"}},
                           ["dr.maintenanceWindow = 'sunday at 2'", "SUN:02:00-SUN:04:00"]),
    "maintenance-window-aws": ("prod-aws", {"dr": {"maintenanceWindow": "SUN:25:00-SUN:26:00"}},
                               ["dr.maintenanceWindow = 'SUN:25:00-SUN:26:00'"]),
    "backup-schedule": ("prod-gke", {"dr": {"backupSchedule": "at two every night"}}, ["dr.backupSchedule"]),
    "cloud-sql-version": ("staging", {"data": {"postgres": {"version": "9"}}},
                          ["data.postgres.version = '9'", "Cloud SQL offers PostgreSQL 13"]),
    # designs that cannot meet the declared recovery objectives (components/dr/objectives.py)
    "rpo-aws-standby-off": ("prod-aws", {"aws": {"standby": {"mode": "off"}}},
                            ["dr.rpoMinutes = 60", "mongodb on ecs with aws.standby.mode off", "(RPO 1620 min)",
                             "set aws.standby.mode to warm or pilotLight", "raise dr.rpoMinutes to 1620"]),
    "rpo-cloudrun-one-region": ("prod", {"regions": {"secondary": None}},
                                ["dr.rpoMinutes = 60", "postgres on cloudrun", "(RPO 1440 min)", "set regions.secondary"]),
    "rpo-daily-dumps": ("dev", {"dr": {"rpoMinutes": 60}},
                        ["dr.rpoMinutes = 60", "postgres on kubernetes", "mongodb on kubernetes", "(RPO 1440 min)",
                         "dr.backupSchedule"]),
    "rpo-below-backup-for-gke": ("prod-gke", {"dr": {"rpoMinutes": 10}},
                                 ["dr.rpoMinutes = 10", "mongodb on gke", "raise dr.rpoMinutes to 15"]),
    "rto-pilot-light": ("prod-aws", {"aws": {"standby": {"mode": "pilotLight"}}, "dr": {"rtoMinutes": 15}},
                        ["dr.rtoMinutes = 15", "the services on ecs scale the pilot-light standby", "(RTO 18 min)",
                         "set aws.standby.mode to warm"]),
    "rto-one-region": ("staging", {"dr": {"rtoMinutes": 120}},
                       ["dr.rtoMinutes = 120", "the services on cloudrun", "(RTO 240 min)", "set regions.secondary"]),
}


@pytest.mark.parametrize("case", sorted(BAD_STACKS))
def test_a_bad_stack_file_exits_2_with_one_message_and_registers_nothing(case, tmp_path, monkeypatch, capsys):
    base, overrides, fragments = BAD_STACKS[case]
    code, err, registered = plan_bad_stack(tmp_path, monkeypatch, capsys, base, overrides)
    assert code == 2, err[-2000:]
    assert "Traceback" not in err
    assert "Pulumi.bad.yaml: invalid configuration" in err and "nothing was created" in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert registered == [], f"{case}: registered {registered[:5]} before refusing the config"


def test_every_problem_of_a_stack_file_comes_in_one_message(tmp_path, monkeypatch, capsys):
    overrides = {
        "regions": {"secondary": "eu-nowhere-9"},
        "services": {"api": {"cpu": "1.5"}, "mcp": {"route": {"subdomain": "api"}}},
        "data": {"postgres": {"tier": "db.m9z.large"}, "rabbitmq": {"tier": "mq.m5.huge"}},
    }
    code, err, registered = plan_bad_stack(tmp_path, monkeypatch, capsys, "prod-aws", overrides)
    assert code == 2 and registered == []
    assert "(5 problem(s))" in err, err
    for fragment in ("regions.secondary = 'eu-nowhere-9'", "services.api.cpu = '1500m'", "services.mcp.route.paths",
                     "data.postgres.tier = 'db.m9z.large'", "data.rabbitmq.tier = 'mq.m5.huge'"):
        assert fragment in err, fragment


def test_kubernetes_regions_are_informational():
    assert problems_of("dev", {"regions": {"primary": "my-laptop", "secondary": "eu-nowhere-9"}}) == []


@pytest.mark.parametrize("stack", available_stacks())
def test_shipped_stacks_have_no_problems(stack):
    assert problems_of(stack) == []


# --- the contract ------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_adapter_declares_problems_data_backends_and_build(platform):
    adapter = importlib.import_module(f"components.platforms.{platform}")
    assert callable(adapter.problems) and callable(adapter.build)
    # every managed backend of the registry on this platform names its check, and the check exists
    for service in DATA_SERVICES:
        chosen = registry.backend(service, platform)
        if chosen.tiers.startswith("none"):
            continue  # no managed size: `unsized_problems` refuses a tier for it
        assert chosen.problems, f"{service} on {platform}: its backend names no problems function"
        module, _, function = chosen.problems.partition(":")
        assert callable(getattr(importlib.import_module(module), function))


def test_config_problems_are_reported_for_disabled_data_only_when_enabled():
    # a bad tier of a disabled service is not the stack's problem: nothing of it is built
    overrides = {"data": {"rabbitmq": {"enabled": False, "tier": "mq.m5.huge"}},
                 "services": {"api": {"uses": ["postgres", "redis", "mongodb"]},
                              "worker": {"uses": ["postgres", "redis", "mongodb"]}}}
    assert problems_of("prod-aws", overrides) == []


def _raises_of(tree: ast.AST, name: str) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id == name:
                lines.append(node.lineno)
    return lines


def test_no_build_raises_a_config_error():
    """ConfigError belongs to the schema (components/config/) and to the adapter lookup: everything
    else reports a Problem, so no build can stop half way with resources registered."""
    allowed = {REPO / "components" / "platform.py"}
    offenders = []
    for path in sorted((REPO / "components").rglob("*.py")):
        if path in allowed or (REPO / "components" / "config") in path.parents:
            continue
        tree = ast.parse(path.read_text())
        for line in _raises_of(tree, "ConfigError") + _raises_of(tree, "problems_error"):
            offenders.append(f"{path.relative_to(REPO)}:{line}")
    assert offenders == []


# --- what the clouds offer: the tables themselves -------------------------------------------------


def test_maintained_region_lists_hold_the_shipped_stacks_regions_and_nothing_invented():
    from pulumi_aws import Region

    from components.regions import AWS_REGIONS, GCP_REGIONS
    from tests.helpers import stack_raw_config

    clouds = {"cloudrun": GCP_REGIONS, "gke": GCP_REGIONS, "ecs": AWS_REGIONS}
    checked = 0
    for stack in available_stacks():
        raw = stack_raw_config(stack)
        if raw["platform"] in clouds:
            for region in raw["regions"].values():
                assert region in clouds[raw["platform"]], (stack, region)
                checked += 1
    assert checked >= 8
    assert "us-central9" not in GCP_REGIONS and "eu-nowhere-9" not in AWS_REGIONS
    # every AWS region offered is one the pinned provider knows, and in the commercial partition
    assert AWS_REGIONS <= {r.value for r in Region}
    assert not {r for r in AWS_REGIONS if r.startswith(("cn-", "us-gov-", "us-iso", "eu-isoe", "eusc-"))}
    assert all(re.fullmatch(r"[a-z]+-[a-z]+\d+", r) for r in GCP_REGIONS)


def test_every_fargate_combination_is_accepted_and_its_neighbours_are_not():
    from components.platforms.limits import FARGATE_SIZES, fargate_problems

    for cpu, memories in FARGATE_SIZES.items():
        for memory in memories:
            assert fargate_problems("s", cpu, memory) == [], (cpu, memory)
        assert fargate_problems("s", cpu, memories[0] - 512), (cpu, "below")
        assert fargate_problems("s", cpu, memories[-1] + 1024), (cpu, "above")
    assert fargate_problems("s", 750, 2048) and fargate_problems("s", 32000, 65536)


@pytest.mark.parametrize(
    "cpu, memory, concurrency, worker, refused",
    [
        (1000, 512, 80, False, None), (1000, 4096, 80, False, None), (1000, 4608, 80, False, "memory"),
        (2000, 8192, 80, False, None), (4000, 1024, 80, False, "memory"), (4000, 2048, 80, False, None),
        (6000, 24576, 80, False, None), (8000, 32768, 80, False, None), (8000, 2048, 80, False, "memory"),
        (3000, 4096, 80, False, "cpu"), (1500, 2048, 80, False, "cpu"), (16000, 32768, 80, False, "cpu"),
        (1000, 256, 80, False, "memory"),  # the second generation needs 512Mi
        (500, 1024, 1, False, None), (499, 1024, 1, False, "memory"), (250, 512, 1, False, None),
        (500, 512, 80, False, "concurrency"), (50, 256, 1, False, "cpu"),
        (500, 512, 1, True, "cpu"), (1000, 512, 1, True, None),
    ],
)
def test_cloud_run_sizes(cpu, memory, concurrency, worker, refused):
    from components.platforms.limits import cloud_run_problems

    found = cloud_run_problems("s", cpu, memory, concurrency, worker=worker)
    assert [p.path.rsplit(".", 1)[1] for p in found][:1] == ([refused] if refused else [])


def test_the_default_managed_sizes_exist():
    from components.data.aws import DEFAULT_TIERS as AWS_TIERS
    from components.data.cloudsql import DEFAULT_TIERS as CLOUD_SQL_TIERS
    from components.data.rabbitmq_vm import DEFAULT_MACHINE_TYPES
    from components.platforms.gke_settings import GkeConfig
    from components.platforms.limits import aws_instance_class_problems, cloud_sql_tier_problems, machine_type_problems

    products = {"postgres": "rds", "redis": "elasticache", "mongodb": "documentdb", "rabbitmq": "amazonmq"}
    for service, tiers in AWS_TIERS.items():
        for tier in tiers.values():
            assert aws_instance_class_problems("t", products[service], tier) == [], tier
    assert all(cloud_sql_tier_problems("t", t) == [] for t in CLOUD_SQL_TIERS.values())
    assert all(machine_type_problems("t", m) == [] for m in DEFAULT_MACHINE_TYPES.values())
    assert machine_type_problems("t", GkeConfig().machine_type) == []


def test_gke_allocatable_follows_the_documented_reservations():
    from components.platforms.limits import gke_allocatable, machine_shape

    assert machine_shape("e2-standard-4") == (4, 16384) and machine_shape("n1-standard-4") == (4, 15360)
    # CPU: 6 % + 1 % + 2 x 0.5 % of the first four cores; memory: 25 % of 4 GiB + 20 % of 4 GiB
    # + 10 % of 8 GiB + 100 MiB eviction
    assert gke_allocatable("e2-standard-4") == (3920, 16384 - 2763)  # 1024 + 819.2 + 819.2 + 100, rounded up
    assert gke_allocatable("e2-standard-3") is None and gke_allocatable("e2-mega-4") is None


@pytest.mark.parametrize("stack", ["dev", "staging", "prod-gke", "prod-aws"])
def test_a_secret_that_is_also_a_plain_setting_is_refused_on_every_platform(stack):
    """Kubernetes would keep whichever env entry comes last, ECS and Cloud Run refuse the container:
    the name must be one or the other, whatever the platform."""
    from tests.helpers import make_context

    config = make_context(stack).config
    name, svc = next((n, s) for n, s in config.enabled_services.items() if s.secrets)
    clash = "JWT_SIGNING"  # not secret-looking, so `settings` takes it
    overrides = {
        "settings": {clash: "plain"},
        "secrets": {"generated": [*config.secrets.generated, clash]},
        "services": {name: {"secrets": [*svc.secrets, clash]}},
    }
    lines = "\n".join(p.line() for p in problems_of(stack, overrides))
    assert f"services.{name}.secrets = '{clash}'" in lines and "is also a plain setting" in lines
