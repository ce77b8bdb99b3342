"""What Google's APIs refuse and mocks accept, applied to every resource of every GCP stack.

Three rule tables, each applied to every resource of its types in every stack whose platform is
`cloudrun` or `gke` (`tools.plan.available_stacks()`):
- COMBINATIONS: property combinations an API refuses (versioning beside a retention policy, ...);
- IDS: length and charset of the ids the program chooses;
- enums: every input whose pinned pulumi_gcp docstring says "Possible values are: ..." must hold one
  of them (read from the SDK's Args classes by `tests/gcp/sdk_docs.py`, for every GCP type).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

import pytest

from tests.gcp.sdk_docs import args_class, walk
from tests.helpers import dig, plan_of
from tools.plan import available_stacks, read_stack_config

GCP_PLATFORMS = {"cloudrun", "gke"}


def gcp_stacks() -> list[str]:
    stacks = []
    for stack in available_stacks():
        project, config, _, _ = read_stack_config(stack)
        if config.get(f"{project}:platform") in GCP_PLATFORMS:
            stacks.append(stack)
    return stacks


STACKS = gcp_stacks()


def _resources(stack: str):
    return [r for r in plan_of(stack).capture.resources if r.custom and r.type.startswith("gcp:")]


# --- incompatible combinations ------------------------------------------------------------------
# (type, what Google says, check(inputs) -> a problem or None)


def _bucket_versioning_and_retention(i: dict[str, Any]) -> Optional[str]:
    if dig(i, "versioning.enabled") and dig(i, "retentionPolicy.retentionPeriod"):
        return "Object Versioning and a retention policy on one bucket"
    return None


def _noncurrent_rule_without_versioning(i: dict[str, Any]) -> Optional[str]:
    noncurrent = [r for r in i.get("lifecycleRules", []) if dig(r, "condition.daysSinceNoncurrentTime")]
    if noncurrent and not dig(i, "versioning.enabled"):
        return "a noncurrent-version lifecycle rule on an unversioned bucket (it never matches)"
    return None


def _retention_period_limit(i: dict[str, Any]) -> Optional[str]:
    period = dig(i, "retentionPolicy.retentionPeriod")
    if period is not None and not 1 <= int(period) <= 3_155_760_000:
        return f"retention period {period} s outside 1 s .. 100 years"
    return None


def _pitr_needs_backups(i: dict[str, Any]) -> Optional[str]:
    backup = dig(i, "settings.backupConfiguration") or {}
    if backup.get("pointInTimeRecoveryEnabled") and not backup.get("enabled"):
        return "point-in-time recovery without automated backups"
    return None


def _enterprise_log_retention(i: dict[str, Any]) -> Optional[str]:
    days = dig(i, "settings.backupConfiguration.transactionLogRetentionDays")
    if dig(i, "settings.edition") == "ENTERPRISE" and days is not None and int(days) > 7:
        return f"transaction log retention {days} d on the Enterprise edition (at most 7)"
    return None


def _custom_tier_needs_enterprise(i: dict[str, Any]) -> Optional[str]:
    tier = dig(i, "settings.tier") or ""
    if tier.startswith("db-custom-") and dig(i, "settings.edition") != "ENTERPRISE":
        return f"tier {tier} needs edition ENTERPRISE (PostgreSQL 16+ defaults to Enterprise Plus)"
    return None


def _replica_has_no_backups(i: dict[str, Any]) -> Optional[str]:
    if i.get("masterInstanceName") and dig(i, "settings.backupConfiguration.enabled"):
        return "automated backups on a read replica"
    return None


def _autoresize_limit(i: dict[str, Any]) -> Optional[str]:
    limit, size = dig(i, "settings.diskAutoresizeLimit"), dig(i, "settings.diskSize")
    if limit and size and int(limit) < int(size):
        return f"disk autoresize limit {limit} GB below the disk size {size} GB"
    return None


def _mongodb_mode_needs_enterprise(i: dict[str, Any]) -> Optional[str]:
    if i.get("mongodbCompatibleDataAccessMode") == "DATA_ACCESS_MODE_ENABLED" and i.get("databaseEdition") != "ENTERPRISE":
        return "MongoDB compatibility needs the ENTERPRISE edition"
    return None


def _firestore_backup_retention(i: dict[str, Any]) -> Optional[str]:
    retention = i.get("retention", "")
    if retention.endswith("s") and int(retention[:-1]) > 98 * 86400:
        return f"backup retention {retention} beyond Firestore's 14 weeks"
    return None


def _redis_read_replicas_need_ha(i: dict[str, Any]) -> Optional[str]:
    if i.get("readReplicasMode") == "READ_REPLICAS_ENABLED" and i.get("tier") != "STANDARD_HA":
        return "read replicas on a BASIC Memorystore instance"
    return None


COMBINATIONS: list[tuple[str, str, Callable[[dict[str, Any]], Optional[str]]]] = [
    ("gcp:storage/bucket:Bucket", "versioning XOR retention policy", _bucket_versioning_and_retention),
    ("gcp:storage/bucket:Bucket", "noncurrent rules need versioning", _noncurrent_rule_without_versioning),
    ("gcp:storage/bucket:Bucket", "retention period range", _retention_period_limit),
    ("gcp:sql/databaseInstance:DatabaseInstance", "PITR needs backups", _pitr_needs_backups),
    ("gcp:sql/databaseInstance:DatabaseInstance", "Enterprise keeps 7 d of logs", _enterprise_log_retention),
    ("gcp:sql/databaseInstance:DatabaseInstance", "db-custom tiers need ENTERPRISE", _custom_tier_needs_enterprise),
    ("gcp:sql/databaseInstance:DatabaseInstance", "replicas have no backups", _replica_has_no_backups),
    ("gcp:sql/databaseInstance:DatabaseInstance", "autoresize limit >= size", _autoresize_limit),
    ("gcp:firestore/database:Database", "MongoDB mode needs ENTERPRISE", _mongodb_mode_needs_enterprise),
    ("gcp:firestore/backupSchedule:BackupSchedule", "retention <= 14 weeks", _firestore_backup_retention),
    ("gcp:redis/instance:Instance", "read replicas need STANDARD_HA", _redis_read_replicas_need_ha),
]

# --- ids: (type, input path, regex, what the API or SDK says) -----------------------------------
RFC1035 = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"
IDS: list[tuple[str, str, str, str]] = [
    ("gcp:firestore/userCreds:UserCreds", "name", r"[a-z0-9-]{4,63}", "4-63 characters of [a-z0-9-] (SDK doc)"),
    ("gcp:firestore/database:Database", "name", r"[a-z][a-z0-9-]{2,61}[a-z0-9]", "4-63 chars, letter first"),
    ("gcp:storage/bucket:Bucket", "name", r"(?!goog)[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]", "3-63 chars, no goog prefix"),
    ("gcp:sql/databaseInstance:DatabaseInstance", "name", r"[a-z][a-z0-9-]{0,78}[a-z0-9]", "letter first, <= 80"),
    ("gcp:sql/database:Database", "name", r"[A-Za-z_][A-Za-z0-9_$-]{0,62}", "PostgreSQL identifier <= 63"),
    ("gcp:sql/user:User", "name", r"[A-Za-z_][A-Za-z0-9_-]{0,62}", "PostgreSQL role <= 63"),
    ("gcp:redis/instance:Instance", "name", r"[a-z][a-z0-9-]{0,38}[a-z0-9]", "1-40 chars, letter first"),
    ("gcp:workflows/workflow:Workflow", "name", r"[A-Za-z][A-Za-z0-9_-]{0,63}", "letter first, <= 64"),
    ("gcp:cloudscheduler/job:Job", "name", r"[A-Za-z0-9_-]{1,500}", "letters, digits, _ and -"),
    ("gcp:secretmanager/secret:Secret", "secretId", r"[A-Za-z0-9_-]{1,255}", "letters, digits, _ and -"),
    ("gcp:serviceaccount/account:Account", "accountId", r"[a-z]([-a-z0-9]{4,28}[a-z0-9])", "6-30 chars"),
] + [
    (f"gcp:compute/{kind}", "name", RFC1035, "RFC 1035 label <= 63")
    for kind in (
        "network:Network", "subnetwork:Subnetwork", "globalAddress:GlobalAddress", "address:Address",
        "firewall:Firewall", "router:Router", "routerNat:RouterNat", "disk:Disk", "instance:Instance",
        "resourcePolicy:ResourcePolicy", "instanceTemplate:InstanceTemplate", "regionDisk:RegionDisk",
        "regionInstanceGroupManager:RegionInstanceGroupManager", "healthCheck:HealthCheck",
        "regionPerInstanceConfig:RegionPerInstanceConfig",
    )
]


def combination_problems(stack: str) -> list[str]:
    problems = []
    for reg in _resources(stack):
        for type_token, rule, check in COMBINATIONS:
            if reg.type == type_token:
                problem = check(reg.inputs)
                if problem:
                    problems.append(f"{stack} {reg.name} ({rule}): {problem}")
    return problems


def id_problems(stack: str) -> list[str]:
    problems = []
    for reg in _resources(stack):
        for type_token, path, pattern, rule in IDS:
            value = dig(reg.inputs, path) if reg.type == type_token else None
            if isinstance(value, str) and not re.fullmatch(pattern, value):
                problems.append(f"{stack} {reg.name}: {path} {value!r} breaks {rule}")
    return problems


def enum_problems(stack: str) -> list[str]:
    problems = []
    for reg in _resources(stack):
        cls = args_class(reg.type)
        assert cls is not None, f"no Args class for {reg.type} in the pinned SDK"
        for path, prop, value in walk(cls, reg.inputs):
            allowed = prop.allowed
            if allowed and isinstance(value, str) and value != "[secret]" and value not in allowed:
                problems.append(f"{stack} {reg.name}: {path} = {value!r}; the SDK allows {sorted(allowed)}")
    return problems


def test_every_gcp_platform_stack_is_checked():
    assert {"staging", "prod", "prod-gke"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_no_property_combination_google_refuses(stack):
    assert not combination_problems(stack)


@pytest.mark.parametrize("stack", STACKS)
def test_every_chosen_id_fits_its_length_and_charset(stack):
    assert not id_problems(stack)


@pytest.mark.parametrize("stack", STACKS)
def test_every_enum_input_holds_a_value_the_sdk_lists(stack):
    assert not enum_problems(stack)


def test_the_tables_cover_the_stateful_types_and_find_real_values():
    """The rules reach what they are meant to: each id rule and combination type occurs in some
    stack, and the docstring reader finds enum inputs (so an empty result means compliance)."""
    types = {r.type for s in STACKS for r in _resources(s)}
    for type_token in {t for t, _, _ in COMBINATIONS} | {"gcp:firestore/userCreds:UserCreds"}:
        assert type_token in types, type_token
    checked = sum(
        1 for s in STACKS for r in _resources(s) for _, p, _ in walk(args_class(r.type), r.inputs) if p.allowed
    )
    assert checked > 100


@pytest.mark.parametrize(
    "type_token, inputs, finder",
    [
        ("gcp:storage/bucket:Bucket", {"versioning": {"enabled": True}, "retentionPolicy": {"retentionPeriod": 60}}, "combination"),
        ("gcp:firestore/userCreds:UserCreds", {"name": "app", "database": "d"}, "id"),
        ("gcp:redis/instance:Instance", {"name": "r", "tier": "HA", "memorySizeGb": 1}, "enum"),
    ],
)
def test_each_rule_table_catches_its_defect(monkeypatch, type_token, inputs, finder):
    """The three checks fail on the defects issue 10 found (versioning + retention, user `app`) and on
    a value outside a documented enum."""
    from tools.harness import Registration

    bad = Registration(urn=f"urn:x::{type_token}::bad", type=type_token, name="bad", parent=None, custom=True,
                       protect=False, dependencies=[], inputs=inputs)
    monkeypatch.setattr(f"{__name__}._resources", lambda stack: [bad])
    found = {"combination": combination_problems, "id": id_problems, "enum": enum_problems}[finder]("x")
    assert found, inputs
