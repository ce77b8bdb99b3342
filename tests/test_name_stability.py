"""No shipped stack gets a new physical name (a new name replaces the resource and its data).

`tests/snapshots/physical-names.json` holds every physical name each shipped stack planned before
names derived from the full stack name (tests/name_snapshot.py). Every resource of the snapshot
that a stack still plans must keep every name it had. Resources added since are new, not renamed.
A resource gone from its URN was replaced by that change anyway: tolerated for stateless ones
(most of the snapshot must still be there, or the comparison would prove nothing), never for a
resource that holds data (DATA_TYPES).
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import plan_of
from tests.name_snapshot import SNAPSHOT, physical_names
from tools.plan import available_stacks

SNAPSHOT_NAMES = json.loads(SNAPSHOT.read_text())
MIN_STILL_PLANNED = 0.8  # below this, regenerate the snapshot for the restructured stack
# Resources that hold data: a new URN (another logical name or parent) replaces them as surely as
# a new physical name, so each must still be planned under its URN (or be given an alias to it).
DATA_TYPES = {
    "aws:rds/instance:Instance", "aws:docdb/cluster:Cluster", "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:mq/broker:Broker", "aws:s3/bucket:Bucket", "aws:backup/vault:Vault",
    "gcp:sql/databaseInstance:DatabaseInstance", "gcp:sql/database:Database", "gcp:redis/instance:Instance",
    "gcp:firestore/database:Database", "gcp:storage/bucket:Bucket", "gcp:compute/regionDisk:RegionDisk",
    "gcp:kms/keyRing:KeyRing", "gcp:kms/cryptoKey:CryptoKey",
    "kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:PersistentVolumeClaim",
}


def resource_type(key: str) -> str:
    """The type of a snapshot key (`<parent types>$<type>::<name>`)."""
    return key.rsplit("::", 1)[0].rsplit("$", 1)[-1]


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


@pytest.mark.parametrize("stack", available_stacks())
def test_shipped_stacks_keep_every_data_resource(stack):
    now = physical_names(plan_of(stack).capture.resources)
    gone = sorted(key for key in SNAPSHOT_NAMES[stack] if resource_type(key) in DATA_TYPES and key not in now)
    assert gone == [], "data resources no longer planned under their URN (alias them, or announce the replacement)"


def test_data_resources_are_recognised():
    assert resource_type("aiplatform:data:Rds$aws:rds/instance:Instance::postgres") in DATA_TYPES
    assert sum(resource_type(k) in DATA_TYPES for names in SNAPSHOT_NAMES.values() for k in names) > 40


def test_a_rename_is_reported():
    before = {"aws:rds/instance:Instance::postgres": {"identifier": "aia-prod-aws-postgres"}}
    now = {"aws:rds/instance:Instance::postgres": {"identifier": "aia-prod-aws-4f1c2e-postgres"}}
    assert renamed(before, now) == [
        "aws:rds/instance:Instance::postgres identifier: 'aia-prod-aws-postgres' -> 'aia-prod-aws-4f1c2e-postgres'"
    ]
