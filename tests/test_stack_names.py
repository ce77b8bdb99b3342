"""Stacks never share a physical name, whatever the CLI allows as a stack name.

Each platform's stack file is planned under similar (`staging-team-a` / `staging-team-b`), long
and odd (40+ characters, a digit first, upper case, '_', '.') and sanitised-twin (`Team_A.prod` /
`team-a-prod`) stack names (tests/test_physical_names.py: PLANNED_AS). Every name of every plan
must pass its type's rule (tests/naming_rules.py), and all plans of one stack file -- one
project, one account -- are compared: no two stacks may hold the same name where the cloud wants
it unique (globally, per account or project, per region). Names unique only inside their parent
(a service in its cluster) are distinct with their parents.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from components import naming
from components.config import PROJECT, ConfigError
from tests.helpers import plan_of
from tests.naming_rules import NAME_FIELDS, REFERENCES
from tests.test_config import error_of
from tests.test_physical_names import LONG, PLANNED_AS, SIMILAR, _cloud, _rule_for, name_problems, plan_as, planned_as
from tools.harness import Registration

# every character class the CLI accepts in a stack name, in the places they are hardest
CLI_STACK_NAMES = (
    "dev", "prod", "Prod", "PROD", "prod.eu", "prod_eu", "prod-eu", "1prod", "_prod", ".prod", "-prod", "prod-",
    "a", "9", "a--b", "a__b", "x" * 100, "staging-team-a", "staging-team-b", "stagi-fb8b16",
)


def _region(reg: Registration) -> str:
    """The region of a resource, the same in every stack (provider URNs carry the stack name)."""
    explicit = reg.inputs.get("location") or reg.inputs.get("region")
    if explicit:
        return str(explicit)
    return re.sub(r"^urn:pulumi:[^:]*::[^:]*::", "", reg.provider).rsplit("::", 1)[0]


def shared_names(plans: dict[str, list[Registration]]) -> list[str]:
    """Names two stacks both hold in a scope where the cloud wants them unique."""
    holders: dict[tuple, set[str]] = defaultdict(set)
    for stack, resources in plans.items():
        for reg in filter(_cloud, resources):
            for field in NAME_FIELDS:
                value, rule = reg.inputs.get(field), _rule_for(reg.type, field)
                if (reg.type, field) in REFERENCES or rule is None or not isinstance(value, str):
                    continue
                if value == "[unknown]" or rule.scope == "parent":
                    continue
                where = _region(reg) if rule.scope == "region" else rule.scope
                holders[(reg.type, field, where, value)].add(stack)
    return sorted(
        f"{type_token} {field}={value!r} ({where}): stacks {sorted(stacks)}"
        for (type_token, field, where, value), stacks in holders.items()
        if len(stacks) > 1
    )


@pytest.mark.parametrize("stack_file", sorted(PLANNED_AS))
def test_no_two_stacks_share_a_physical_name(stack_file):
    plans = {stack_file: plan_of(stack_file).capture.resources}
    plans.update({name: plan_as(stack_file, name).resources for name in PLANNED_AS[stack_file]})
    for stack, resources in plans.items():
        assert name_problems(resources) == [], stack  # each name valid, unique inside its stack
    assert shared_names(plans) == []
    if stack_file != "dev":  # the names of the other platforms must have been compared
        for stack, resources in plans.items():
            prefix = naming.stack_prefix(PROJECT, stack, PROJECT)
            assert sum(str(r.inputs.get(f, "")).startswith(prefix) for r in resources for f in NAME_FIELDS) > 10


def test_the_comparison_finds_a_shared_name():
    def bucket(stack):
        return [Registration(urn=f"urn:pulumi:{stack}::p::aws:s3/bucket:Bucket::logs", type="aws:s3/bucket:Bucket",
                             name="logs", parent=None, custom=True, protect=False, dependencies=[],
                             inputs={"bucket": "aia-staging-team-logs"})]
    assert shared_names({"staging-team-a": bucket("staging-team-a"), "staging-team-b": bucket("staging-team-b")})


@pytest.mark.parametrize("stack", CLI_STACK_NAMES, ids=lambda s: s[:20])
def test_every_stack_name_the_cli_allows_gives_a_valid_prefix(stack):
    prefix = naming.stack_prefix(PROJECT, stack, PROJECT)
    assert naming.prefix_problem(prefix) is None
    assert naming.prefix_problem(naming.legacy_prefix(stack)) is None  # a pin of the old prefix is valid


def test_different_stack_names_never_share_a_prefix():
    prefixes = {naming.stack_prefix(PROJECT, stack, PROJECT) for stack in CLI_STACK_NAMES}
    assert len(prefixes) == len(CLI_STACK_NAMES)
    # another project with the same stack names: other names again
    assert not prefixes & {naming.stack_prefix("other-project", stack, PROJECT) for stack in CLI_STACK_NAMES}


def test_clean_short_stack_names_keep_the_prefix_they_always_had():
    for stack in ("dev", "staging", "prod", "prod-gke", "prod-aws", "staging-gke", "staging-aws", "1prod", "team-a-eu"):
        assert naming.stack_prefix(PROJECT, stack, PROJECT) == naming.legacy_prefix(stack) == f"aia-{stack}"
        assert naming.rename_notice(PROJECT, stack, PROJECT, None) is None


def test_a_stack_whose_names_change_is_warned():
    _, warnings = planned_as("dev", LONG)
    old, new = naming.legacy_prefix(LONG), naming.stack_prefix(PROJECT, LONG, PROJECT)
    assert old != new
    assert any(f"`namePrefix: {old}`" in w and repr(new) in w for w in warnings), warnings


def test_a_pinned_prefix_keeps_the_old_names_without_a_warning():
    old = naming.legacy_prefix(SIMILAR[0])
    pinned, warnings = planned_as("prod", SIMILAR[0], (("namePrefix", old),))
    assert not any("namePrefix" in w for w in warnings), warnings
    assert pinned.one("gcp:redis/instance:Instance").inputs["name"] == f"{old}-redis"


@pytest.mark.parametrize("value", ["Aia-prod", "aia--prod", "aia-prod-", "1aia", "ai", "aia_prod", "a" * 17])
def test_a_pinned_prefix_must_be_valid_in_every_cloud(value):
    message = error_of({"namePrefix": value})
    assert "namePrefix" in message and repr(value) in message and "lowercase letters" in message, message


def test_a_pinned_prefix_of_the_old_scheme_loads():
    from tests.test_config import parse

    assert parse({"namePrefix": "aia-staging-team"}).name_prefix == "aia-staging-team"
    with pytest.raises(ConfigError):
        parse({"namePrefix": "-"})
