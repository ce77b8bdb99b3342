"""No rule crashes, whatever the property values: fuzzed with hypothesis from the rules' own cases.

Under the CLI an exception in a rule (other than the SDK's UnknownValueError) fails the whole
preview with an opaque gRPC error, so a rule must survive any value a program can produce: wrong
types (a number where a string is expected, a list for a map), unknowns, secrets, nested garbage,
JSON strings (ECS containerDefinitions, WAF rules) that are not what they should be.

Each example takes every case of the policy in tests/policies/test_rules.py (realistic resources
that reach deep into the rule), replaces a few values anywhere in them (also inside JSON strings),
mostly by a value of another type, or deletes keys, and runs the policy through the offline
evaluator, which wraps the props in the SDK's proxies as the CLI does. The randomness comes from
hypothesis (derandomized: the same examples on every run, and a failure prints the one to replay)
and is bounded, so the whole file takes a few seconds.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from policies.pack import ALL_POLICIES
from tests.policies.support import S, U, run
from tests.policies.test_rules import CASES

_DELETE = object()
_JSON = "#json"

#: Replacement values by the type of the value they replace: another JSON type first (what crashes
#: careless code), then the engine's unknown and the offline secret, then edge values of the same type.
_SCALARS = [None, True, False, 0, -1, 2.5, 65536, "", "x", "HTTP", "HTTPS", "0", "1", "ON", "off", "true",
            "postgres", "default.postgres14", "aurora-postgresql", "{}", "[]", '{"a": 1}', "[{}]", "null", "*", U, S]
_NESTED = [[], [None], [1, "a"], [{}], [{"name": 1, "value": None}], {}, {"name": None}, {"a": [1]}, {"spec": 5}]


def _replacement(rng: random.Random, original: Any) -> Any:
    if rng.random() < 0.1:
        return _DELETE
    wrong = [v for v in _SCALARS + _NESTED if type(v) is not type(original)]
    return copy.deepcopy(rng.choice(wrong if rng.random() < 0.7 else _SCALARS + _NESTED))


def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in `value` a mutation can hit, descending into JSON strings."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + (key,)
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield prefix + (index,)
            yield from _paths(child, prefix + (index,))
    elif isinstance(value, str) and value[:1] in "[{":
        try:
            parsed = json.loads(value)
        except ValueError:
            return
        yield from _paths(parsed, prefix + (_JSON,))


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if head == _JSON:
        return json.dumps(_replace(json.loads(value), rest, new))
    if new is _DELETE and not rest:
        if isinstance(value, dict):
            value.pop(head, None)
        else:
            value.pop(head)
        return value
    value[head] = _replace(value[head], rest, new)
    return value


def _mutated(resources: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """`resources` with a few values anywhere (one to four per resource on average) replaced."""
    resources = copy.deepcopy(resources)
    for resource in resources:
        paths = list(_paths(resource["inputs"]))
        if not paths:
            resource["inputs"] = {rng.choice(["spec", "name", "protocol"]): copy.deepcopy(rng.choice(_SCALARS + _NESTED))}
            continue
        chance = rng.randint(1, 4) / len(paths)
        for path in paths:
            if rng.random() < chance:
                try:
                    resource["inputs"] = _replace(resource["inputs"], path, _replacement(rng, _get(resource["inputs"], path)))
                except (KeyError, IndexError, TypeError, ValueError, AttributeError):
                    pass  # an earlier mutation removed or replaced this path
    return resources


def _get(value: Any, path: tuple) -> Any:
    for head in path:
        value = json.loads(value) if head == _JSON else value[head]
    return value


SEEDS = {p.name: [c for c in CASES if c.policy == p.name] for p in ALL_POLICIES}


@pytest.mark.parametrize("policy", sorted(SEEDS))
def test_no_rule_crashes_on_generated_values(policy: str) -> None:
    seeds = SEEDS[policy]
    assert seeds, f"{policy} has no case in test_rules.py to fuzz from"

    @settings(max_examples=20, deadline=None, derandomize=True, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.integers(min_value=0, max_value=2**32))
    def fuzz(number: int) -> None:
        rng = random.Random(number)  # hypothesis picks (and on failure prints) the number; plain draws are fast
        for seed in seeds:
            resources = _mutated(seed.build(), rng)
            try:
                violations = run(policy, resources, seed.config)
            except Exception as err:  # noqa: BLE001 -- the point of the test
                inputs = json.dumps([r["inputs"] for r in resources], default=str)[:1500]
                raise AssertionError(f"{policy} crashed on case {seed.id!r} mutated to {inputs}: {err!r}") from err
            assert all(isinstance(v["message"], str) for v in violations)

    fuzz()
