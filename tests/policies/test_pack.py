"""The pack itself: a valid PolicyPack the Pulumi CLI can run unchanged.

`policies/__main__.py` calls `PolicyPack(...)`, which serves the analyzer gRPC API forever, so the
end-to-end test starts it exactly as the CLI's `pulumi-analyzer-policy-python` shim does
(`python -u -m pulumi.policy <engine> <pack dir>`, from another working directory), reads the port
it prints, and talks to it like the engine: GetAnalyzerInfo, Configure with a stack's policy
config, Analyze and AnalyzeStack.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as pb
from pulumi.runtime.proto import analyzer_pb2_grpc as pb_grpc
from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.pack import ALL_POLICIES, DEFAULT_ENFORCEMENT, PACK_NAME, pack_kwargs
from tests.policies.support import deployment, k8s_container, network_policy, with_sc

REPO = Path(__file__).resolve().parents[2]
PACK_DIR = REPO / "policies"


def test_policy_names_are_unique_and_valid() -> None:
    names = [p.name for p in ALL_POLICIES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n) for n in names)
    assert "all" not in names


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=lambda p: p.name)
def test_policy_metadata(policy: Any) -> None:
    assert isinstance(policy, (ResourceValidationPolicy, StackValidationPolicy))
    assert isinstance(policy.severity, Severity)
    assert policy.description.rstrip(".") and "Source:" in policy.description
    assert policy.remediation_steps and len(policy.remediation_steps) > 40
    assert policy.info.source and policy.info.checks and policy.info.types  # used by docs/policies.md
    assert f"theme:{policy.info.theme}" in policy.tags
    assert policy.enforcement_level is None  # levels come from the pack default and the stack config


def test_pack_metadata_and_requirements() -> None:
    kwargs = pack_kwargs()
    assert kwargs["name"] == PACK_NAME == "ai-assistant-platform-policies"
    assert kwargs["policies"] == ALL_POLICIES
    assert kwargs["enforcement_level"] == DEFAULT_ENFORCEMENT == EnforcementLevel.MANDATORY
    project = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    pins = (PACK_DIR / "requirements.txt").read_text()
    assert "pulumi-policy==1.21.0" in pins.splitlines()


# ---------------------------------------------------------------------------------------------
# The pack served over gRPC, as the CLI runs it
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    cwd = tmp_path_factory.mktemp("elsewhere")  # the pack must not rely on the repository root
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(PACK_DIR)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = process.stdout.readline().decode().strip()  # type: ignore[union-attr]
        if not line.isdigit():
            process.kill()
            raise AssertionError(f"pack did not start: {line!r} {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        yield pb_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=10)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def _configure(stub: Any, stack: str) -> None:
    config = json.loads((PACK_DIR / "config" / f"{stack}.json").read_text())
    levels = {"advisory": pb.ADVISORY, "mandatory": pb.MANDATORY, "disabled": pb.DISABLED, "remediate": pb.REMEDIATE}
    request = pb.ConfigureAnalyzerRequest()
    all_level = config.get("all")
    for policy in ALL_POLICIES:  # what the engine sends after reconciling defaults, "all" and overrides
        value = config.get(policy.name, {})
        level = value if isinstance(value, str) else value.get("enforcementLevel", all_level or "mandatory")
        props = {} if isinstance(value, str) else {k: v for k, v in value.items() if k != "enforcementLevel"}
        defaults = {k: v["default"] for k, v in (policy.config_schema.properties.items() if policy.config_schema else []) if "default" in v}
        request.policyConfig[policy.name].CopyFrom(pb.PolicyConfig(enforcementLevel=levels[level], properties=_struct({**defaults, **props})))
    stub.Configure(request)


def _analyze(stub: Any, resource: dict[str, Any]) -> list[Any]:
    request = pb.AnalyzeRequest(type=resource["type"], urn=resource["urn"], name=resource["name"], properties=_struct(resource["inputs"]))
    return list(stub.Analyze(request).diagnostics)


def test_cli_sees_every_policy_with_metadata(analyzer: Any) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME and info.supportsConfig
    by_name = {p.name: p for p in info.policies}
    assert set(by_name) == {p.name for p in ALL_POLICIES}
    assert all(p.enforcementLevel == pb.MANDATORY and p.remediation_steps for p in info.policies)
    assert by_name["min-replicas"].policy_type == pb.POLICY_TYPE_STACK
    assert by_name["container-non-root"].policy_type == pb.POLICY_TYPE_RESOURCE
    assert "rpoMinutes" in by_name["backups-meet-rpo"].configSchema.properties


def test_cli_enforces_the_stack_config(analyzer: Any) -> None:
    rooted = deployment([k8s_container(securityContext=with_sc(runAsNonRoot=None, runAsUser=0))])
    _configure(analyzer, "prod")
    found = [d for d in _analyze(analyzer, rooted) if d.policyName == "container-non-root"]
    assert len(found) == 1 and found[0].enforcementLevel == pb.MANDATORY
    _configure(analyzer, "dev")
    found = [d for d in _analyze(analyzer, rooted) if d.policyName == "container-non-root"]
    assert len(found) == 1 and found[0].enforcementLevel == pb.ADVISORY


def test_cli_reports_unknowns_as_advisory(analyzer: Any) -> None:
    _configure(analyzer, "prod")
    unknown = deployment([k8s_container(image=UNKNOWN_STRING_VALUE)])
    found = [d for d in _analyze(analyzer, unknown) if d.policyName == "container-image-pinned"]
    assert len(found) == 1
    assert found[0].enforcementLevel == pb.ADVISORY
    assert "cannot verify container 'app' image: value unknown during preview" in found[0].message


def test_cli_runs_stack_policies(analyzer: Any) -> None:
    _configure(analyzer, "prod")
    workload = deployment(replicas=3)
    request = pb.AnalyzeStackRequest(
        resources=[
            pb.AnalyzerResource(type=r["type"], urn=r["urn"], name=r["name"], properties=_struct(r["inputs"]))
            for r in (workload, network_policy())
        ]
    )
    diagnostics = list(analyzer.AnalyzeStack(request).diagnostics)
    names = {d.policyName for d in diagnostics}
    assert "pdb-for-multi-replica" in names  # replicas 3, no budget
    assert "default-deny-network-policy" not in names
    assert all(d.enforcementLevel == pb.MANDATORY for d in diagnostics)


def test_docs_describe_every_rule() -> None:
    """docs/policies.md has a table row per rule with its current severity and kind."""
    text = (REPO / "docs" / "policies.md").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| <a id=\"([a-z0-9-]+)\"></a>.*$", text, re.M)}
    assert set(rows) == {p.name for p in ALL_POLICIES}
    for policy in ALL_POLICIES:
        cells = [c.strip() for c in rows[policy.name].split("|")]
        assert cells[2] == policy.severity.value and cells[3] == policy.info.kind, policy.name
    for command in ("--policy-pack policies --policy-pack-config policies/config/prod.json", "pulumi policy publish", "pulumi policy enable", "--policy-group", "waivers.yaml"):
        assert command in text
