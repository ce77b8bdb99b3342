"""The pack itself: a valid PolicyPack the Pulumi CLI can run unchanged.

`policies/__main__.py` calls `PolicyPack(...)`, which serves the analyzer gRPC API forever, so the
end-to-end test starts it as the CLI does: with the python of the pack's own virtualenv
(`policies/venv`, PulumiPolicy.yaml `virtualenv: venv`, built by `make test` from
policies/requirements.txt alone, so a rule importing anything the pack does not pin fails here),
as `python -u -m pulumi.policy <engine> <pack dir>` from another working directory. It reads the
port the pack prints and talks to it like the engine: GetAnalyzerInfo; Configure with what the CLI
derives from the real `policies/config/<stack>.json` (parsed and reconciled as the CLI does it,
`policies/config_file.py`); Analyze and AnalyzeStack with properties encoded as the engine encodes
them (secrets wrapped in the engine's secret signature, unknowns as the SDK's sentinels).
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

from policies.config_file import parse_like_cli, reconcile_like_cli
from policies.pack import ALL_POLICIES, DEFAULT_ENFORCEMENT, PACK_NAME, pack_kwargs
from policies.rules.props import ENGINE_SECRET_SIG, ENGINE_SIG_KEY
from tests.policies.support import S, U, deployment, k8s_container, network_policy, run, verdict, with_sc

REPO = Path(__file__).resolve().parents[2]
PACK_DIR = REPO / "policies"
PACK_PYTHON = PACK_DIR / "venv" / "bin" / "python"
#: What a secret's plain text looks like on the wire: the engine sends it inside the signature.
PLAIN_SECRET = "plain-text-secret-Do-Not-Echo"


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


def _pack_python() -> Path:
    if not PACK_PYTHON.exists():
        message = f"{PACK_PYTHON} is missing: `make test` builds it from policies/requirements.txt"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: the pack must be tested in its own virtualenv)")
        pytest.skip(message)
    return PACK_PYTHON


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    python = _pack_python()
    cwd = tmp_path_factory.mktemp("elsewhere")  # the pack must not rely on the repository root
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    process = subprocess.Popen(
        [str(python), "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(PACK_DIR)],
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


def test_the_pack_venv_holds_only_what_policies_requirements_pin() -> None:
    """The pack's venv is policies/requirements.txt alone: not the program's providers or tools."""
    probe = "import importlib.util as u; print([m for m in ('pulumi_policy', 'pulumi', 'pulumi_gcp', 'pulumi_kubernetes', 'pydantic', 'hypothesis') if u.find_spec(m)])"
    result = subprocess.run([str(_pack_python()), "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "['pulumi_policy', 'pulumi']"


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def _engine_encoded(value: Any) -> Any:
    """Plan-style inputs as the engine sends them: "[secret]" -> the secret signature around a plain
    text, "[unknown]" -> the SDK's unknown sentinel."""
    if isinstance(value, dict):
        return {k: _engine_encoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_encoded(v) for v in value]
    if value == S:
        return {ENGINE_SIG_KEY: ENGINE_SECRET_SIG, "value": PLAIN_SECRET}
    if value == U:
        return UNKNOWN_STRING_VALUE
    return value


_LEVELS = {"advisory": pb.ADVISORY, "mandatory": pb.MANDATORY, "disabled": pb.DISABLED, "remediate": pb.REMEDIATE}


def _configure(stub: Any, stack: str) -> None:
    """What the CLI sends after parsing and reconciling policies/config/<stack>.json."""
    sent = reconcile_like_cli(parse_like_cli((PACK_DIR / "config" / f"{stack}.json").read_text()))
    request = pb.ConfigureAnalyzerRequest()
    for name, (level, props) in sent.items():
        request.policyConfig[name].CopyFrom(pb.PolicyConfig(enforcementLevel=_LEVELS[level], properties=_struct(props)))
    stub.Configure(request)


def _analyze(stub: Any, resource: dict[str, Any]) -> list[Any]:
    request = pb.AnalyzeRequest(
        type=resource["type"], urn=resource["urn"], name=resource["name"], properties=_struct(_engine_encoded(resource["inputs"]))
    )
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


@pytest.mark.parametrize("stack", sorted(p.stem for p in (PACK_DIR / "config").glob("*.json")))
def test_every_stack_config_configures_the_real_pack(analyzer: Any, stack: str) -> None:
    _configure(analyzer, stack)
    rooted = deployment([k8s_container(securityContext=with_sc(runAsNonRoot=None, runAsUser=0))])
    assert [d.policyName for d in _analyze(analyzer, rooted)].count("container-non-root") == 1


def test_secrets_as_the_engine_sends_them_agree_with_the_offline_plan(analyzer: Any) -> None:
    """Every no-plain-secret-env case: the verdict over gRPC with engine-encoded secrets equals the
    offline verdict (where secrets are "[secret]"), and the plain text never reaches a message."""
    from tests.policies.test_rules import CASES

    _configure(analyzer, "prod")
    cases = [c for c in CASES if c.policy == "no-plain-secret-env"]
    assert sum(S in json.dumps(r["inputs"]) for c in cases for r in c.build()) >= 3
    for case in cases:
        (resource,) = case.build()
        offline = verdict(run(case.policy, [resource]))
        diagnostics = [d for d in _analyze(analyzer, resource) if d.policyName == case.policy]
        if any(d.enforcementLevel == pb.MANDATORY for d in diagnostics):
            cli = "fail"
        elif any("cannot verify" in d.message for d in diagnostics):
            cli = "unknown"
        else:
            cli = "other" if diagnostics else "pass"
        assert (case.id, cli) == (case.id, offline), [d.message for d in diagnostics]
        assert all(PLAIN_SECRET not in d.message for d in diagnostics)


def test_the_served_pack_survives_generated_values_sent_as_the_engine_sends_them(analyzer: Any) -> None:
    """One mutated copy of every rule case (tests/policies/test_fuzz.py), engine-encoded, through
    the real server: Analyze and AnalyzeStack answer (a rule crash would be a gRPC error here)."""
    import random

    from tests.policies.test_fuzz import _mutated
    from tests.policies.test_rules import CASES

    _configure(analyzer, "prod")
    rng = random.Random(12)
    for case in CASES:
        resources = _mutated(case.build(), rng)
        for r in resources:
            _analyze(analyzer, r)
        analyzer.AnalyzeStack(pb.AnalyzeStackRequest(resources=[
            pb.AnalyzerResource(type=r["type"], urn=r["urn"], name=r["name"], properties=_struct(_engine_encoded(r["inputs"])))
            for r in resources
        ]))


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
