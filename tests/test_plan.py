"""The offline plan and the program's entry: config loading, secrets, errors, the JSON contract."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys

import pytest

from components.config import PROJECT, ConfigError, load_stack_context
from components.platform import _adapter
from tests.helpers import plan_of, project_copy
from tools.harness import run_mocked
from tools.plan import REPO, PlanError, read_stack_config, run_plan


def load(config: dict[str, str], secret_keys: list[str]):
    found = {}

    def program():
        found["context"] = load_stack_context()

    run_mocked(program, project=PROJECT, stack="dev", config=config, secret_keys=secret_keys)
    return found["context"]


def dev_config():
    _, config, secret_keys, _ = read_stack_config("dev")
    return config, secret_keys


def test_provided_secrets_arrive_as_secret_outputs():
    config, secret_keys = dev_config()
    context = load(config, secret_keys)
    assert set(context.provided_secrets) == {"OPENAI_API_KEY"}
    assert context.config.platform == "kubernetes"


def test_missing_secret_names_the_command_to_set_it():
    config, _ = dev_config()
    config.pop(f"{PROJECT}:openaiApiKey")
    with pytest.raises(ConfigError) as info:
        load(config, [])
    assert "pulumi config set --secret openaiApiKey <value> --stack dev" in str(info.value)


def test_plain_text_secret_is_refused_without_echoing_it():
    config, _ = dev_config()
    config[f"{PROJECT}:openaiApiKey"] = "sk-live-DO-NOT-PRINT"
    with pytest.raises(ConfigError) as info:
        load(config, [])
    assert "stored in plain text" in str(info.value)
    assert "DO-NOT-PRINT" not in str(info.value)


def test_unknown_key_in_the_project_namespace():
    config, secret_keys = dev_config()
    config[f"{PROJECT}:servcies"] = "{}"
    with pytest.raises(ConfigError, match="servcies: unknown key"):
        load(config, secret_keys)


def test_a_platform_without_adapter_fails_clearly():
    with pytest.raises(ConfigError) as info:
        _adapter("nomad", "dev")
    assert "platform 'nomad'" in str(info.value) and "not implemented yet" in str(info.value)


def test_invalid_stack_registers_nothing(tmp_path):
    text = (REPO / "Pulumi.dev.yaml").read_text().replace("maxReplicas", "maxReplicas")
    project_copy(tmp_path, {"broken": text.replace("ghcr.io/ai-assistant-platform/api:1.0.0", "ghcr.io/x/api:latest", 1)})
    with pytest.raises(PlanError) as info:
        run_plan("broken", project_dir=tmp_path, evaluate_policies=False)
    assert "services.api.image" in str(info.value) and "':latest'" in str(info.value)


def test_unknown_stack_lists_the_stacks():
    with pytest.raises(PlanError, match="stacks: .*dev"):
        read_stack_config("nope")


def test_cli_exit_codes_and_json_contract():
    bad = subprocess.run([sys.executable, "-m", "tools.plan", "--stack", "nope"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown stack 'nope'" in bad.stderr
    document = plan_of("dev").as_document()
    json.dumps(document)  # serialisable
    assert set(document) == {"stack", "project", "platform", "resources", "outputs", "violations"}
    assert (document["stack"], document["project"], document["platform"]) == ("dev", PROJECT, "kubernetes")
    resource = document["resources"][0]
    assert set(resource) == {"urn", "type", "name", "parent", "custom", "protect", "dependencies", "inputs"}
    urns = {r["urn"] for r in document["resources"]}
    assert all(r["parent"] is None or r["parent"] in urns for r in document["resources"])
    assert all(set(r["dependencies"]) <= urns for r in document["resources"])


@pytest.mark.parametrize("as_json", [False, True])
def test_a_crash_has_its_own_exit_code_and_label(monkeypatch, capsys, as_json):
    """A crash (here: a rule raising) exits 3 with the traceback, never 1 ("mandatory violations")."""
    import policies.offline
    from tools import plan as plan_tool

    def broken(*_args, **_kwargs):
        raise TypeError("'int' object has no attribute 'startswith'")

    monkeypatch.setattr(policies.offline, "evaluate", broken)
    assert plan_tool.main(["--stack", "dev"] + (["--json"] if as_json else [])) == plan_tool.EXIT_CRASH == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert "offline plan of dev crashed (exit 3)" in err and "Traceback" in err and "startswith" in err


def test_the_json_plan_is_deterministic():
    """Two plans of the same code diff clean, whatever order asyncio registered resources in."""
    first = json.dumps(plan_of("dev").as_document(), sort_keys=True)
    second = json.dumps(run_plan("dev").as_document(), sort_keys=True)
    assert first == second


def test_a_new_stack_without_policy_config_gets_its_environments_enforcement(tmp_path):
    """A copy of Pulumi.dev.yaml under a new name plans like dev (advisory), and says so in one line."""
    project_copy(tmp_path, {"sandbox": (REPO / "Pulumi.dev.yaml").read_text()})
    plan = run_plan("sandbox", project_dir=tmp_path)
    assert plan.violations and plan.mandatory == []
    (note,) = [n for n in plan.notes if "policies/config/sandbox.json" in n]
    assert "\n" not in note and "advisory" in note and "copy policies/config/dev.json" in note


def _leaf_texts(value):
    if isinstance(value, dict):
        return [t for v in value.values() for t in _leaf_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _leaf_texts(v)]
    return [value if isinstance(value, str) else json.dumps(value)]


@pytest.mark.parametrize("stack", ["dev", "prod", "prod-aws"])
def test_the_text_plan_prints_every_output_whole_and_wrapped(stack):
    """Every output value (the DR runbook included) is in the summary word for word; lines stay
    within the width unless one word (a URL, a name) is longer."""
    from tools.plan import WIDTH, summary

    plan = plan_of(stack)
    text = summary(plan)
    flat = " ".join(text.split())
    leaves = _leaf_texts(plan.capture.outputs)
    assert any(len(leaf) > WIDTH for leaf in leaves) or stack == "dev"
    for leaf in leaves:
        assert " ".join(leaf.split()) in flat, leaf
    outputs = text.split("Outputs:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert all(len(line) <= WIDTH or " " not in line.strip().split(": ", 1)[-1] for line in outputs)


def test_json_into_a_reader_that_stops_early_ends_quietly():
    """`python -m tools.plan --stack dev --json | head`: no BrokenPipeError traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.plan", "--stack", "dev", "--json"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout.readline().strip() == "{"
    process.stdout.close()  # the plan is far larger than a pipe buffer: its next write hits EPIPE
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
