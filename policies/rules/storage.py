"""Object storage (backup buckets): never public, versioned, with retention/lifecycle.

Seeds 000/001/002: backups go to object storage (`aws s3 cp backup-*.sql s3://backups/...`), are
encrypted, kept per tier (daily 30 d, weekly 12 w, monthly 12 m, yearly 7 y) and replicated across
regions. Every bucket the program creates is held to these rules (the design has no public bucket:
static assets are served by the app behind the CDN).

GCS buckets carry everything inline. S3 (AWS provider 7) splits a bucket into sibling resources
(BucketPublicAccessBlock, BucketVersioning, BucketLifecycleConfiguration, object lock), which are
found through their dependency on the bucket, hence stack policies.
"""

from __future__ import annotations

from typing import Any, Callable

from pulumi_policy import Severity, StackValidationArgs

from .base import Check, stack_policy
from .props import get, is_unknown, number, seq, short, truthy

GCS = "gcp:storage/bucket:Bucket"
S3 = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
S3_LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
S3_OBJECT_LOCK = (
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
)
S3_ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
_PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")


def _siblings(bucket: Any, resources: list[Any], types: tuple[str, ...]) -> list[Any]:
    return [r for r in resources if r.resource_type in types and any(d.urn == bucket.urn for d in r.dependencies)]


def _each_bucket(args: StackValidationArgs, check: Check, gcs: Callable, s3: Callable) -> None:
    resources = list(args.resources)
    for r in resources:
        label = f"{short(r.resource_type)} {r.name}"
        if r.resource_type == GCS:
            gcs(r, label)
        elif r.resource_type in S3:
            s3(r, label, resources)


# ---------------------------------------------------------------------------------------------


@stack_policy(
    name="bucket-public-access-prevented",
    theme="storage",
    summary="Buckets can never be made public.",
    severity=Severity.CRITICAL,
    types=(GCS,) + S3 + (S3_PUBLIC_ACCESS_BLOCK,) + S3_ACL,
    checks="GCS: publicAccessPrevention enforced and uniformBucketLevelAccess true; S3: a "
    "BucketPublicAccessBlock with all four settings true and no public canned ACL (inline or BucketAcl).",
    source="seed 001 (encrypted backups; data protection); seed 000 (backups uploaded to object storage)",
    remediation="GCS: public_access_prevention=\"enforced\", uniform_bucket_level_access=True; S3: "
    "s3.BucketPublicAccessBlock(bucket=..., block_public_acls=True, block_public_policy=True, "
    "ignore_public_acls=True, restrict_public_buckets=True).",
    url="https://cloud.google.com/storage/docs/public-access-prevention",
)
def bucket_public_access_prevented(args: StackValidationArgs, check: Check) -> None:
    def gcs(r: Any, label: str) -> None:
        prevention, uniform = get(r.props, "publicAccessPrevention"), truthy(get(r.props, "uniformBucketLevelAccess"))
        if check.known(prevention, f"publicAccessPrevention of {label}") and prevention != "enforced":
            check.fail(f"{label}: publicAccessPrevention is {prevention or 'unset (inherited)'}; set enforced.", r.urn)
        if check.known(uniform, f"uniformBucketLevelAccess of {label}") and uniform is not True:
            check.fail(f"{label}: uniformBucketLevelAccess is off (object ACLs can grant public reads).", r.urn)

    def s3(r: Any, label: str, resources: list[Any]) -> None:
        acls = [get(r.props, "acl")] + [get(a.props, "acl") for a in _siblings(r, resources, S3_ACL)]
        for acl in acls:
            if check.known(acl, f"acl of {label}") and acl in _PUBLIC_ACLS:
                check.fail(f"{label}: canned ACL {acl} makes objects public.", r.urn)
        blocks = _siblings(r, resources, (S3_PUBLIC_ACCESS_BLOCK,))
        if not blocks:
            check.fail(f"{label}: no BucketPublicAccessBlock.", r.urn)
        for block in blocks:
            for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
                value = truthy(get(block.props, key))
                if check.known(value, f"{key} of {block.name}") and value is not True:
                    check.fail(f"{label}: BucketPublicAccessBlock {block.name} leaves {key} off.", r.urn)

    _each_bucket(args, check, gcs, s3)


@stack_policy(
    name="bucket-versioning",
    theme="storage",
    summary="Buckets keep object versions (or, on GCS, a retention policy refuses overwrites and deletes), "
    "so an overwrite or delete can be undone or cannot happen.",
    severity=Severity.MEDIUM,
    types=(GCS,) + S3 + S3_VERSIONING,
    checks="GCS: versioning.enabled true or a retentionPolicy, never both (Cloud Storage refuses versioning "
    "on a bucket with a retention policy); S3: inline versioning.enabled or a BucketVersioning with status Enabled.",
    source="seed 002 (data loss: restore from latest backup); seed 001 (backup verification); AWS Security Hub "
    "S3.14 (versioning enabled)",
    remediation="GCS: versioning={\"enabled\": True}; S3: s3.BucketVersioning(bucket=..., "
    "versioning_configuration={\"status\": \"Enabled\"}), with a lifecycle rule expiring noncurrent versions.",
)
def bucket_versioning(args: StackValidationArgs, check: Check) -> None:
    def gcs(r: Any, label: str) -> None:
        enabled = truthy(get(r.props, "versioning.enabled"))
        retention = get(r.props, "retentionPolicy.retentionPeriod")
        if not check.known(enabled, f"versioning of {label}") or not check.known(retention, f"retention of {label}"):
            return
        if enabled is True and retention:
            check.fail(f"{label}: versioning and a retention policy together; Cloud Storage refuses both.", r.urn)
        elif enabled is not True and not retention:
            check.fail(f"{label}: object versioning is off and no retention policy blocks overwrites.", r.urn)

    def s3(r: Any, label: str, resources: list[Any]) -> None:
        inline = truthy(get(r.props, "versioning.enabled"))
        if not check.known(inline, f"versioning of {label}") or inline is True:
            return
        for sibling in _siblings(r, resources, S3_VERSIONING):
            status = get(sibling.props, "versioningConfiguration.status")
            if not check.known(status, f"versioning status of {sibling.name}"):
                return
            if status == "Enabled":
                return
        check.fail(f"{label}: object versioning is off (no BucketVersioning with status Enabled).", r.urn)

    _each_bucket(args, check, gcs, s3)


def _rules_enabled(rules: list[Any], key: str, on: Callable[[Any], bool]) -> Any:
    for rule in rules:
        value = get(rule, key)
        if is_unknown(value):
            return value
        if on(value):
            return True
    return False


@stack_policy(
    name="bucket-retention-lifecycle",
    theme="storage",
    summary="Buckets expire or tier their objects by rule (backup retention tiers), or lock them for a retention period.",
    severity=Severity.MEDIUM,
    types=(GCS,) + S3 + S3_LIFECYCLE + S3_OBJECT_LOCK,
    checks="GCS: a retentionPolicy or at least one lifecycleRule; S3: an enabled inline lifecycle rule, a "
    "BucketLifecycleConfiguration with an Enabled rule, or an object lock configuration.",
    source="seeds 001/002 (retention: daily 30 days, weekly 12 weeks, monthly 12 months, yearly 7 years); "
    "seed 000 (storage cost alert 50/month)",
    remediation="Add lifecycle rules that move old backups to colder storage and delete them after the longest "
    "tier (dr.retention), or a retention policy / object lock for immutable backups.",
)
def bucket_retention_lifecycle(args: StackValidationArgs, check: Check) -> None:
    def gcs(r: Any, label: str) -> None:
        retention = number(get(r.props, "retentionPolicy.retentionPeriod"))
        rules = seq(get(r.props, "lifecycleRules"), "lifecycleRules")
        if not (check.known(retention, f"retentionPolicy of {label}") and check.known(rules, f"lifecycleRules of {label}")):
            return
        if not rules and not retention:
            check.fail(f"{label}: no lifecycle rules and no retention policy.", r.urn)

    def s3(r: Any, label: str, resources: list[Any]) -> None:
        inline = seq(get(r.props, "lifecycleRules"), "lifecycleRules")
        lock = truthy(get(r.props, "objectLockEnabled"))
        if not (check.known(inline, f"lifecycleRules of {label}") and check.known(lock, f"objectLockEnabled of {label}")):
            return
        enabled = _rules_enabled(inline, "enabled", lambda v: truthy(v) is True)
        for sibling in _siblings(r, resources, S3_LIFECYCLE):
            if enabled is True:
                break
            rules = seq(get(sibling.props, "rules"), "rules")
            enabled = rules if is_unknown(rules) else _rules_enabled(rules, "status", lambda v: v == "Enabled")
        if not check.known(enabled, f"lifecycle rules of {label}") or enabled is True:
            return
        if lock is True or _siblings(r, resources, S3_OBJECT_LOCK):
            return
        check.fail(f"{label}: no enabled lifecycle rule and no object lock.", r.urn)

    _each_bucket(args, check, gcs, s3)
