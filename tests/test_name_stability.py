"""No shipped stack gets a new physical name (a new name replaces the resource and its data).

`tests/snapshots/physical-names.json` holds every physical name each shipped stack planned before
names derived from the full stack name (tests/name_snapshot.py). Every resource of the snapshot
that a stack still plans must keep every name it had. Resources added since are new, not renamed;
resources gone since were replaced by their change anyway, but most of the snapshot must still be
there, or the comparison would prove nothing.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import plan_of
from tests.name_snapshot import SNAPSHOT, physical_names
from tools.plan import available_stacks

SNAPSHOT_NAMES = json.loads(SNAPSHOT.read_text())
MIN_STILL_PLANNED = 0.8  # below this, regenerate the snapshot for the restructured stack


def renamed(before: dict[str, dict[str, str]], now: dict[str, dict[str, str]]) -> list[str]:
    return [
        f"{key} {field}: {value!r} -> {now[key].get(field)!r}"
        for key, fields in sorted(before.items())
        if key in now
        for field, value in sorted(fields.items())
        if now[key].get(field) != value
    ]


def test_every_shipped_stack_is_in_the_snapshot():
    assert sorted(SNAPSHOT_NAMES) == available_stacks()


@pytest.mark.parametrize("stack", available_stacks())
def test_shipped_stacks_keep_their_physical_names(stack):
    before = SNAPSHOT_NAMES[stack]
    now = physical_names(plan_of(stack).capture.resources)
    assert renamed(before, now) == []
    still_planned = len(set(before) & set(now)) / len(before)
    assert still_planned >= MIN_STILL_PLANNED, f"only {still_planned:.0%} of the snapshot's resources are planned"


def test_a_rename_is_reported():
    before = {"aws:rds/instance:Instance::postgres": {"identifier": "aia-prod-aws-postgres"}}
    now = {"aws:rds/instance:Instance::postgres": {"identifier": "aia-prod-aws-4f1c2e-postgres"}}
    assert renamed(before, now) == [
        "aws:rds/instance:Instance::postgres identifier: 'aia-prod-aws-postgres' -> 'aia-prod-aws-4f1c2e-postgres'"
    ]
