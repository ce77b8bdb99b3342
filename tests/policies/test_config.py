"""policies/config/<stack>.json: valid for the CLI, consistent with the stack files, waivers documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel

from policies.config_file import WAIVERS_FILE, parse_like_cli, reconcile_like_cli, strict_problems
from policies.offline import PolicyConfigError, load_config
from policies.pack import ALL_POLICIES, ENVIRONMENT_SPECIFIC, POLICIES_BY_NAME
from components.config import parse_stack_config
from tests.helpers import stack_raw_config
from tools.plan import available_stacks

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "policies" / "config"
CONFIG_STACKS = sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
#: every stack that is not the local dev stack: staging and production flavours are held to mandatory
PRODUCTION_LIKE = tuple(s for s in available_stacks() if stack_raw_config(s).get("environment") != "dev")
_CLI_LEVELS = {"advisory", "mandatory", "remediate", "disabled"}


def test_every_shipped_stack_has_a_policy_config() -> None:
    assert set(available_stacks()) <= set(CONFIG_STACKS)
    assert {"dev", "staging", "prod", "prod-gke", "prod-aws"} <= set(CONFIG_STACKS)


@pytest.mark.parametrize("stack", CONFIG_STACKS)
def test_config_is_what_the_cli_accepts(stack: str) -> None:
    """Parsed, reconciled and `Configure`d as the CLI does it, and no name or property it would
    silently ignore."""
    entries = parse_like_cli((CONFIG_DIR / f"{stack}.json").read_text())
    assert strict_problems(entries) == []
    for key, (level, props) in entries.items():
        assert key == "all" or key in POLICIES_BY_NAME, key
        assert level in _CLI_LEVELS or (level == "" and props), key
    sent = reconcile_like_cli(entries)  # raises where the CLI's schema check or Configure would
    assert set(sent) == set(POLICIES_BY_NAME) | ({"all"} & set(entries))  # the CLI sends "all" on too
    assert all(level in _CLI_LEVELS for level, _ in sent.values())
    load_config(stack, REPO)


def test_a_metadata_key_is_a_policy_to_the_cli() -> None:
    """The defect of issue 12: `"_waivers": {...}` is a policy named `_waivers` with no level, and
    `Configure` refuses the whole config (`invalid enforcement level ""`)."""
    text = json.dumps({"all": "mandatory", "_waivers": {"min-replicas": {"reason": "r", "reviewedBy": "me"}}})
    entries = parse_like_cli(text)
    assert entries["_waivers"][0] == ""
    with pytest.raises(PolicyConfigError, match="_waivers: invalid enforcement level ''"):
        reconcile_like_cli(entries)
    assert strict_problems(entries) == ["unknown policy '_waivers' (the CLI would accept it and enforce nothing)"]


def test_the_cli_accepts_misspellings_that_the_project_refuses() -> None:
    entries = parse_like_cli(json.dumps({"min-replica": "advisory", "backups-meet-rpo": {"rpoMinute": 30}}))
    reconcile_like_cli(entries)  # the CLI runs, and enforces neither
    assert strict_problems(entries) == [
        "unknown policy 'min-replica' (the CLI would accept it and enforce nothing)",
        "backups-meet-rpo.rpoMinute is not a property of backups-meet-rpo (properties: retentionDays, rpoMinutes)",
    ]


def test_waivers_file_names_shipped_stacks_only() -> None:
    import yaml

    document = yaml.safe_load((REPO / WAIVERS_FILE).read_text())
    assert set(document) <= set(CONFIG_STACKS)


def test_dev_is_advisory_with_environment_rules_off() -> None:
    config = load_config("dev", REPO)
    for policy in ALL_POLICIES:
        expected = EnforcementLevel.DISABLED if policy.name in ENVIRONMENT_SPECIFIC else EnforcementLevel.ADVISORY
        assert config.level(policy.name) == expected, policy.name


@pytest.mark.parametrize("stack", PRODUCTION_LIKE)
def test_production_like_stacks_are_mandatory_unless_waived(stack: str) -> None:
    config = load_config(stack, REPO)
    lowered = {p.name for p in ALL_POLICIES if config.level(p.name) != EnforcementLevel.MANDATORY}
    assert lowered == set(config.waivers), f"every policy below mandatory needs a {WAIVERS_FILE} entry (and only those)"
    for name, waiver in config.waivers.items():
        assert len(waiver["reason"]) > 40 and waiver["reviewedBy"], name
        assert config.level(name) == EnforcementLevel.ADVISORY, f"{name}: waive to advisory (visible), not disabled"


@pytest.mark.parametrize("stack", ("prod", "prod-gke", "prod-aws"))
def test_prod_waives_nothing(stack: str) -> None:
    assert load_config(stack, REPO).waivers == {}


@pytest.mark.parametrize("stack", CONFIG_STACKS)
def test_policy_config_mirrors_the_stack_file(stack: str) -> None:
    """The RPO, retention and environment the pack checks are the ones the stack declares."""
    if stack not in available_stacks():
        pytest.skip(f"Pulumi.{stack}.yaml is not shipped yet")
    declared = parse_stack_config(stack_raw_config(stack), f"Pulumi.{stack}.yaml")
    config = load_config(stack, REPO)
    assert config.properties["backups-meet-rpo"] == {
        "rpoMinutes": declared.dr.rpo_minutes,
        "retentionDays": declared.dr.retention.daily_days,
    }
    assert config.properties["resource-labels"]["environment"] == declared.environment
    if declared.is_production:
        assert not config.waivers


@pytest.mark.parametrize(
    "document, problem",
    [
        ({"all": "strict"}, "'strict' is not a valid enforcement level"),
        ({"min-replicas": {"enforcementLevel": 2}}, "2 is not a valid enforcement level"),
        ({"no-such-rule": "advisory"}, "unknown policy 'no-such-rule'"),
        ({"environments": "advisory"}, "unknown policy 'environments'"),
        ({"min-replicas": 3}, "must be a string or object"),
        ({"all": {"enforcementLevel": "advisory", "minReplicas": 2}}, "all: takes only an enforcement level"),
        ({"container-non-root": {"allowRoot": True}}, "container-non-root.allowRoot is not a property of container-non-root \\(properties: none\\)"),
        ({"backups-meet-rpo": {"rpoMinutes": "1h"}}, "rpoMinutes must be of type integer"),
        ({"backups-meet-rpo": {"rpoMinutes": 0}}, "rpoMinutes must be >= 1"),
        ({"resource-labels": {"environment": "qa"}}, "environment must be one of"),
        ({"_waivers": {"min-replicas": {"reason": "because"}}}, "unknown policy '_waivers'"),
        ({"_comment": "text"}, "'text' is not a valid enforcement level"),
        ("[1]", "must be a JSON object"),
    ],
)
def test_invalid_configs_are_rejected(tmp_path: Path, document: dict, problem: str) -> None:
    (tmp_path / "policies" / "config").mkdir(parents=True)
    (tmp_path / "policies" / "config" / "x.json").write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(PolicyConfigError, match=problem):
        load_config("x", tmp_path)


@pytest.mark.parametrize(
    "waivers, problem",
    [
        ("x:\n  min-replicas: {reason: because}\n", "needs exactly a non-empty"),
        ("x:\n  nope: {reason: r, reviewedBy: me}\n", "unknown policy 'nope'"),
        ("x: [1]\n", "must map stack"),
    ],
)
def test_invalid_waivers_are_rejected(tmp_path: Path, waivers: str, problem: str) -> None:
    (tmp_path / "policies" / "config").mkdir(parents=True)
    (tmp_path / "policies" / "config" / "waivers.yaml").write_text(waivers)
    with pytest.raises(PolicyConfigError, match=problem):
        load_config("x", tmp_path)


def test_missing_config_means_pack_defaults(tmp_path: Path) -> None:
    config = load_config("nowhere", tmp_path)
    assert not config.exists
    assert {config.level(p.name) for p in ALL_POLICIES} == {EnforcementLevel.MANDATORY}
    assert config.properties["backups-meet-rpo"] == {"rpoMinutes": 60, "retentionDays": 30}


@pytest.mark.parametrize("environment, level", [("dev", EnforcementLevel.ADVISORY), ("staging", EnforcementLevel.MANDATORY), ("prod", EnforcementLevel.MANDATORY)])
def test_missing_config_means_the_environments_defaults(tmp_path: Path, environment: str, level: EnforcementLevel) -> None:
    config = load_config("new-stack", tmp_path, environment)
    assert not config.exists and config.waivers == {}
    assert {config.level(p.name) for p in ALL_POLICIES} == {level}
    assert config.properties["resource-labels"] == {"environment": environment}
