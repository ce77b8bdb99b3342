"""Day 2: no ordinary config change replaces a stateful GCP resource (and its data).

For every stateful GCP resource of every GCP stack, FORCE_NEW lists the inputs whose change makes the
provider replace it (Terraform `ForceNew`, from the provider schema and Google's API: a region, a
name, Memorystore's tier, Firestore's location, ...); a protected resource of a type missing from
the table fails the test. The stack is then planned again with every ordinary key changed (keys
whose reference text does not say "changing this replaces": sizes, versions, HA flags, schedules,
retention, network ranges, labels), and each stateful resource must keep its URN (a new logical
name is a replacement too) and every ForceNew input. An ordinary change that would replace data
must instead be refused with a ConfigError that says what it replaces (`data.redis.ha` against the
pinned `gcp.redisTier`). The marked keys themselves are checked to carry the mark in the config
reference.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from components.config import StackConfig, _decode, _deep_merge, parse_stack_config
from components.data.gcp_placement import REPLACES_MARK
from tests.gcp.test_gcp_constraints import STACKS
from tests.helpers import dig, plan_of, stack_raw_config
from tools.harness import Capture
from tools.plan import read_stack_config, run_program

FORCE_NEW: dict[str, tuple[str, ...]] = {
    "gcp:sql/databaseInstance:DatabaseInstance": ("name", "region", "project", "masterInstanceName", "encryptionKeyName"),
    "gcp:sql/database:Database": ("name", "instance", "project"),
    "gcp:redis/instance:Instance": (
        "name", "region", "project", "tier", "authorizedNetwork", "connectMode", "locationId",
        "alternativeLocationId", "reservedIpRange", "transitEncryptionMode", "customerManagedKey",
    ),
    "gcp:firestore/database:Database": ("name", "project", "locationId", "databaseEdition"),
    "gcp:storage/bucket:Bucket": ("name", "project", "location"),
    "gcp:compute/disk:Disk": ("name", "project", "zone", "type", "image", "snapshot"),
    "gcp:compute/regionDisk:RegionDisk": ("name", "project", "region", "replicaZones", "type", "snapshot"),
    "gcp:compute/globalAddress:GlobalAddress": ("name", "project", "address", "addressType", "ipVersion"),
    "gcp:container/cluster:Cluster": ("name", "project", "location", "network", "subnetwork"),
    "gcp:kms/keyRing:KeyRing": ("name", "project", "location"),
    "gcp:kms/cryptoKey:CryptoKey": ("name", "keyRing"),
    "gcp:gkebackup/backupPlan:BackupPlan": ("name", "project", "location", "cluster"),
    "random:index/randomPassword:RandomPassword": (
        "length", "special", "upper", "lower", "numeric", "minLower", "minUpper", "minNumeric", "minSpecial",
        "overrideSpecial", "keepers",
    ),
}

# Every ordinary (unmarked) key that could reach a data service, with a different valid value.
ORDINARY_CHANGES: dict[str, Any] = {
    "data.postgres.ha": "flip",
    "data.postgres.tier": "db-custom-4-15360",
    "data.postgres.storageGi": 250,
    "data.postgres.version": "17",
    "data.redis.tier": "12",
    "data.redis.storageGi": 12,
    "data.redis.version": "7.0",
    "data.mongodb.ha": "flip",
    "data.mongodb.storageGi": 150,
    "data.mongodb.version": "8.0",
    "data.rabbitmq.ha": "flip",
    "data.rabbitmq.tier": "e2-standard-2",
    "data.rabbitmq.storageGi": 40,
    "data.rabbitmq.version": "4.0",
    "dr.backupSchedule": "0 3 * * *",
    # looser targets: every design meets them (a tighter one than a design achieves is refused,
    # components/dr/objectives.py)
    "dr.rpoMinutes": 2880,
    "dr.rtoMinutes": 480,
    "dr.retention.dailyDays": 14,
    "dr.retention.weeklyWeeks": 8,
    "dr.maintenanceWindow": "SAT:03:00-SAT:05:00",
    "gcp.postgresMaxConnections": 300,
    "gcp.allowIapSsh": True,
    "gcp.networkCidr": "10.12.0.0/20",
    "gcp.secondaryNetworkCidr": "10.22.0.0/20",
    "tags": {"team": "data", "cost-center": "ai"},
}
# Ordinary keys that would replace data if followed, so the program refuses them instead.
REFUSED_CHANGES: dict[str, Any] = {"data.redis.ha": "flip"}


def _nested(path: str, value: Any) -> dict[str, Any]:
    node: Any = value
    for part in reversed(path.split(".")):
        node = {part: node}
    return node


def _overrides(stack: str, changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` as a stack-file override; "flip" inverts the stack's effective value."""
    effective = parse_stack_config(stack_raw_config(stack), f"Pulumi.{stack}.yaml").model_dump(by_alias=True)
    merged: dict[str, Any] = {}
    for path, value in changes.items():
        if value == "flip":
            value = not bool(dig(effective, path, False))
        merged = _deep_merge(merged, _nested(path, value))
    return merged


def plan_with(stack: str, changes: dict[str, Any]) -> Capture:
    """The stack's plan (no policies) with `changes` applied to its structured config."""
    project, config, secret_keys, _ = read_stack_config(stack)
    for key, value in _overrides(stack, changes).items():
        full = f"{project}:{key}"
        current = _decode(config[full]) if full in config else {}
        config[full] = json.dumps(_deep_merge(current, value) if isinstance(value, dict) else value)
    return run_program(project, stack, config, secret_keys)


def _stateful(capture: Capture) -> dict[str, Any]:
    """The GCP (and pulumi_random) resources that hold or guard data: protected, or of a ForceNew type."""
    return {
        r.urn: r
        for r in capture.resources
        if r.custom and r.type.startswith(("gcp:", "random:")) and (r.protect or r.type in FORCE_NEW)
    }


def replaced(base: Capture, changed: Capture) -> list[str]:
    after = {r.urn: r for r in changed.resources}
    problems = []
    for urn, reg in _stateful(base).items():
        if reg.type not in FORCE_NEW:
            problems.append(f"{reg.name}: protected {reg.type} has no ForceNew row")
            continue
        if urn not in after:
            problems.append(f"{reg.name} ({reg.type}) is gone: a new logical name replaces it")
            continue
        for path in FORCE_NEW[reg.type]:
            old, new = dig(reg.inputs, path), dig(after[urn].inputs, path)
            if old != new:
                problems.append(f"{reg.name}.{path}: {old!r} -> {new!r} replaces it")
    return problems


@pytest.mark.parametrize("stack", STACKS)
def test_ordinary_config_changes_never_replace_stateful_resources(stack):
    base = plan_of(stack).capture
    assert _stateful(base), f"{stack} has no stateful resource: the test would check nothing"
    changes = dict(ORDINARY_CHANGES)
    if plan_of(stack).platform == "gke":
        del changes["data.rabbitmq.tier"]  # RabbitMQ runs in the cluster there: a tier is refused (no managed size)
        # in the cluster the version is the pinned image's (components/data/registry.py:
        # in_cluster_version_problems): another one is refused, not an ordinary change
        del changes["data.mongodb.version"], changes["data.rabbitmq.version"]
    changed = plan_with(stack, changes)
    assert not replaced(base, changed), f"changing {sorted(changes)} in {stack}"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("path", sorted(REFUSED_CHANGES))
def test_ordinary_changes_that_would_replace_data_are_refused(stack, path):
    """Either the program refuses the change with a message saying what it would replace, or the
    change replaces nothing."""
    base = plan_of(stack).capture
    try:
        changed = plan_with(stack, {path: REFUSED_CHANGES[path]})
    except Exception as err:  # the ConfigError surfaces as the program's RunError
        assert REPLACES_MARK in str(err) and path in str(err), str(err)[:400]
        return
    assert not replaced(base, changed), f"changing {path} in {stack}"


# What regions.secondary's reference text says it replaces: (a phrase of the text, the resources)
SECONDARY_REPLACES = (
    ("replicas", lambda r: r.type == "gcp:sql/databaseInstance:DatabaseInstance" and r.inputs.get("masterInstanceName")),
    ("Backup for GKE plans", lambda r: r.type == "gcp:gkebackup/backupPlan:BackupPlan"),
)


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "staging"])
def test_removing_the_secondary_region_replaces_only_what_its_mark_names(stack):
    """`regions.secondary` says what it replaces: nothing else may follow it (Firestore's location
    used to)."""
    text = StackConfig.model_fields["regions"].annotation.model_fields["secondary"].description
    assert all(phrase in text for phrase, _ in SECONDARY_REPLACES)
    base = plan_of(stack).capture
    # one region achieves a day's RPO: the seed's 60 would be refused (components/dr/objectives.py)
    changed = plan_with(stack, {"regions.secondary": None, "dr.rpoMinutes": 1440})
    named = {r.name for r in _stateful(base).values() if any(match(r) for _, match in SECONDARY_REPLACES)}
    assert named, "the stack has a cross-region replica"
    others = [p for p in replaced(base, changed) if p.split(" ")[0].split(".")[0] not in named]
    assert not others


def _descriptions(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        found[key] = field.description or ""
        for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found.update(_descriptions(candidate, key + "."))
    return found


def test_changed_keys_are_ordinary_and_the_data_keys_carry_the_mark():
    described = _descriptions(StackConfig)
    for key in ("regions.primary", "regions.secondary", "gcp.firestoreLocation", "gcp.backupLocation", "gcp.redisTier"):
        assert REPLACES_MARK in described[key].lower(), key
    for key in {**ORDINARY_CHANGES, **REFUSED_CHANGES}:
        assert key in described, key
        assert REPLACES_MARK not in described[key].lower(), f"{key} is marked as replacing data: not ordinary"


# Inputs the provider changes on its own, which a plan must ignore or it plans them back (for
# Cloud SQL, a shrink of an autoresized disk: a replacement). (type, condition, engine path)
SELF_MANAGED = (
    ("gcp:sql/databaseInstance:DatabaseInstance", "settings.diskAutoresize", "settings.diskSize"),
)


@pytest.mark.parametrize("stack", STACKS)
def test_inputs_the_service_grows_itself_are_ignored(stack):
    checked = 0
    for reg in plan_of(stack).capture.resources:
        for type_token, condition, path in SELF_MANAGED:
            if reg.type == type_token and dig(reg.inputs, condition) and dig(reg.inputs, path) is not None:
                checked += 1
                assert path in reg.ignore_changes, f"{reg.name}: set ignore_changes on {path}"
    assert checked
