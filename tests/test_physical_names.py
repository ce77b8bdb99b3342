"""Every physical name of every stack is one the cloud accepts (tests/naming_rules.py).

Applied to every AWS and GCP resource of every shipped stack here, and of each platform's stack
file planned under long, similar and odd stack names (PLANNED_AS) in tests/test_stack_names.py. A type that the
program (or the provider, by autonaming) names but that the table does not know fails too.
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
from collections import defaultdict

import pytest

from tests.helpers import plan_of
from tests.naming_rules import NAME_FIELDS, REFERENCES, RULES
from tools.harness import Capture, Registration
from tools.plan import available_stacks, read_stack_config, run_program

# Stack names the CLI accepts (letters, digits, '-', '_', '.', up to 100 characters) that stress
# the derivation: similar; 40+ characters with a digit first, upper case, '_' and '.'; and two
# names that are the same once sanitised, one of them clean.
SIMILAR = ("staging-team-a", "staging-team-b")
LONG = "1st_Production-EU-West.Team-Alpha-2.Canary"
ODD = ("Team_A.prod", "team-a-prod")
# stack file (one per platform) -> the stack names it is planned as (plans are slow: every derived
# prefix has the same shape, so the sanitised twins only on one platform)
PLANNED_AS = {
    "dev": SIMILAR + (LONG,),  # kubernetes: names no cloud resource, but every stack must plan
    "prod": SIMILAR + (LONG,),  # cloudrun
    "prod-gke": SIMILAR + (LONG,),  # gke
    "prod-aws": SIMILAR + (LONG,) + ODD,  # ecs
}
AUTONAMED = {"name", "bucket", "accountId"}  # properties the providers generate when absent
AUTONAME_DEFAULT = 255  # pulumi-aws and pulumi-gcp SetAutonaming(255, "-"), 7 random characters
RANDOM_SUFFIX = "-a1b2c3d"


@functools.lru_cache(maxsize=None)
def planned_as(
    stack_file: str, stack_name: str, extra_config: tuple[tuple[str, str], ...] = ()
) -> tuple[Capture, tuple[str, ...]]:
    """The program with the config of `Pulumi.<stack_file>.yaml` (plus `extra_config`, project keys),
    run as stack `stack_name`, and the warnings it logged (mocks send them to `logging`)."""
    project, config, secret_keys, _ = read_stack_config(stack_file)
    config = {**config, **{f"{project}:{key}": value for key, value in extra_config}}
    handler = _Recorder(logging.WARNING)
    logging.getLogger().addHandler(handler)
    try:
        capture = run_program(project, stack_name, config, secret_keys)
    finally:
        logging.getLogger().removeHandler(handler)
    return capture, tuple(record.getMessage() for record in handler.records)


def plan_as(stack_file: str, stack_name: str) -> Capture:
    """The program with the config of `Pulumi.<stack_file>.yaml`, run as stack `stack_name`."""
    return planned_as(stack_file, stack_name)[0]


class _Recorder(logging.Handler):
    def __init__(self, level: int):
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _cloud(reg: Registration) -> bool:
    return reg.custom and reg.type.startswith(("aws:", "gcp:"))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@functools.lru_cache(maxsize=None)
def _args_fields(type_token: str) -> frozenset[str]:
    """The NAME_FIELDS the SDK's Args class of `type_token` has (camelCase)."""
    package, rest = type_token.split(":", 1)
    module_path, class_name = rest.split(":")
    module = importlib.import_module(f"pulumi_{package}.{module_path.split('/')[0]}")
    args = getattr(module, f"{class_name}Args", None)
    return frozenset(f for f in NAME_FIELDS if args is not None and isinstance(getattr(args, _snake(f), None), property))


def _rule_for(type_token: str, field: str):
    return next((r for r in RULES.get(type_token, []) if r.field == field), None)


def _scope_key(reg: Registration, scope: str):
    if scope in ("global", "account", "project"):
        return scope
    if scope == "region":
        return reg.inputs.get("location") or reg.inputs.get("region") or reg.provider
    # parent: unique within the resource it belongs to
    return tuple(str(reg.inputs.get(k)) for k in ("cluster", "vpcId", "instance", "zoneId", "role", "planId",
                                                   "type", "setIdentifier", "namespaceId", "database")) + (reg.parent,)


def name_problems(resources: list[Registration]) -> list[str]:
    problems = []
    seen: dict[tuple, list[str]] = defaultdict(list)
    for reg in filter(_cloud, resources):
        for field in sorted(_args_fields(reg.type) | {f for f in NAME_FIELDS if f in reg.inputs}):
            if (reg.type, field) in REFERENCES:
                continue
            rule = _rule_for(reg.type, field)
            value = reg.inputs.get(field)
            if value is None and field not in AUTONAMED:
                continue
            if rule is None:
                problems.append(f"{reg.type} {field}: not in tests/naming_rules.py (look up its rules)")
                continue
            if value is None:
                limit = rule.autoname or AUTONAME_DEFAULT
                value = reg.name[: limit - len(RANDOM_SUFFIX)] + RANDOM_SUFFIX
            if not isinstance(value, str) or value == "[unknown]":
                continue
            problems += [f"{reg.urn} {field}={value!r}: {p}" for p in rule.problems(value)]
            seen[(reg.type, field, _scope_key(reg, rule.scope))].append(value)
    for (type_token, field, _), values in seen.items():
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            problems.append(f"{type_token} {field}: {duplicates} used more than once where they must be unique")
    return problems


@pytest.mark.parametrize("stack", available_stacks())
def test_every_physical_name_is_valid(stack):
    # the same stack files planned under other stack names: tests/test_stack_names.py
    assert name_problems(plan_of(stack).capture.resources) == []


def _reg(type_token: str, inputs: dict, name: str = "x") -> Registration:
    return Registration(urn=f"urn:{name}", type=type_token, name=name, parent=None, custom=True, protect=False,
                        dependencies=[], inputs=inputs)


@pytest.mark.parametrize(
    "reg",
    [
        _reg("aws:route53/healthCheck:HealthCheck", {"referenceName": "aia-prod-aws-origin-frontend"}),
        _reg("aws:lb/targetGroup:TargetGroup", {"name": "aia-production-e-conversation-sum"}),
        _reg("aws:rds/instance:Instance", {"identifier": "aia-team--prod-postgres"}),
        _reg("gcp:serviceaccount/account:Account", {"accountId": "aia-x"}),
        _reg("aws:s3/bucket:Bucket", {"bucket": "AIA-Logs"}),
        _reg("gcp:firestore/userCreds:UserCreds", {"name": "app"}),
        # no name: the provider generates "<logical name>-<7 characters>", here with '_' and '.'
        _reg("aws:lb/targetGroup:TargetGroup", {}, name="alb_api.tg"),
        _reg("aws:ecs/capacityProvider:CapacityProvider", {"name": "aia-prod"}),  # not in the table
    ],
    ids=lambda r: r.type,
)
def test_the_rules_reject_what_the_cloud_rejects(reg):
    assert name_problems([reg])


def test_names_must_be_unique_in_their_scope():
    twice = [_reg("aws:lb/targetGroup:TargetGroup", {"name": "aia-prod-api"}, name=n) for n in ("a", "b")]
    assert name_problems(twice)
