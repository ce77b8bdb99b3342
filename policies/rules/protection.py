"""Production data is never lost by accident.

DESIGN conventions: stateful resources get `protect=True` (Pulumi refuses to delete them), the
provider's own deletion protection, final snapshots/backups, and stable physical names. Both rules
are environment specific: mandatory for production stacks, disabled in dev, waived (advisory) in
staging -- see policies/config/*.json.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity, StackValidationArgs

from .backups import is_replica
from .base import Check, resource_policy, stack_policy
from .props import get, present, seq, short, truthy

CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
MEMORYSTORE = "gcp:redis/instance:Instance"
FIRESTORE = "gcp:firestore/database:Database"
GKE = "gcp:container/cluster:Cluster"
GCS = "gcp:storage/bucket:Bucket"
DISK = "gcp:compute/disk:Disk"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
DOCDB = "aws:docdb/cluster:Cluster"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
MQ = "aws:mq/broker:Broker"
S3 = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BACKUP_VAULT = "aws:backup/vault:Vault"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"


@resource_policy(
    name="deletion-protection",
    theme="protection",
    summary="Stateful resources have the provider's own deletion protection and keep a final snapshot.",
    severity=Severity.HIGH,
    types=(CLOUD_SQL, MEMORYSTORE, FIRESTORE, GKE, GCS, DISK, RDS_INSTANCE, RDS_CLUSTER, DOCDB, ELASTICACHE, BACKUP_VAULT, STATEFUL_SET) + S3,
    checks="Cloud SQL: deletionProtection not false and settings.deletionProtectionEnabled true; Memorystore "
    "and GKE: deletionProtection not false; Firestore: deleteProtectionState DELETE_PROTECTION_ENABLED and "
    "deletionPolicy not DELETE; Compute Engine disks: deletionPolicy PREVENT/ABANDON or "
    "createSnapshotBeforeDestroy; GCS/S3 buckets and backup vaults: forceDestroy not true; RDS/Aurora/"
    "DocumentDB: deletionProtection true and skipFinalSnapshot not true (RDS read replicas: deletionProtection only, "
    "AWS refuses their final snapshot); ElastiCache: a "
    "finalSnapshotIdentifier; StatefulSets: PVCs are not deleted with the set.",
    source="DESIGN conventions (provider deletion protection and final snapshots in prod); seed 002 (DR: "
    "data loss restored from backups); seed 004 (backup strategy)",
    remediation="Set the provider flag listed in the check for production stacks (components pass "
    "`deletion_protection=self.config.is_production` and a final snapshot name).",
    environment_specific=True,
)
def deletion_protection(args: ResourceValidationArgs, check: Check) -> None:
    kind, props = args.resource_type, args.props

    def must(key: str, ok, message: str) -> None:
        value = get(props, key)
        if check.known(value, key) and not ok(value):
            check.fail(message)

    if kind == CLOUD_SQL:
        must("deletionProtection", lambda v: truthy(v) is not False, "deletionProtection is false.")
        must(
            "settings.deletionProtectionEnabled",
            lambda v: truthy(v) is True,
            "settings.deletionProtectionEnabled is not true (protects against deletion from the console and API too).",
        )
    elif kind in (MEMORYSTORE, GKE):
        must("deletionProtection", lambda v: truthy(v) is not False, "deletionProtection is false.")
    elif kind == FIRESTORE:
        must(
            "deleteProtectionState",
            lambda v: v == "DELETE_PROTECTION_ENABLED",
            "deleteProtectionState is not DELETE_PROTECTION_ENABLED.",
        )
        must("deletionPolicy", lambda v: v != "DELETE", "deletionPolicy is DELETE: a destroy deletes the database.")
    elif kind == DISK:
        policy, snapshot = get(props, "deletionPolicy"), truthy(get(props, "createSnapshotBeforeDestroy"))
        if check.known(policy, "deletionPolicy") and check.known(snapshot, "createSnapshotBeforeDestroy"):
            if policy not in ("PREVENT", "ABANDON") and snapshot is not True:
                check.fail("disk can be deleted without a trace: set deletionPolicy PREVENT or createSnapshotBeforeDestroy: true.")
    elif kind in (GCS, BACKUP_VAULT) + S3:
        must("forceDestroy", lambda v: truthy(v) is not True, "forceDestroy is true: a destroy deletes every object.")
    elif kind in (RDS_INSTANCE, RDS_CLUSTER, DOCDB):
        must("deletionProtection", lambda v: truthy(v) is True, "deletionProtection is not true.")
        # RDS refuses a final snapshot when deleting a read replica (FinalDBSnapshotIdentifier can not
        # be specified when deleting a replica instance): its source's backups cover it
        replica = is_replica(kind, props)
        if check.known(replica, "replicateSourceDb") and not replica:
            must("skipFinalSnapshot", lambda v: truthy(v) is not True, "skipFinalSnapshot is true: no snapshot is taken on delete.")
    elif kind == ELASTICACHE:
        if not present(get(props, "finalSnapshotIdentifier")):
            check.fail("no finalSnapshotIdentifier: the cache is deleted without a final snapshot.")
    elif kind == STATEFUL_SET:
        must(
            "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
            lambda v: v != "Delete",
            "persistentVolumeClaimRetentionPolicy.whenDeleted is Delete: data volumes go with the StatefulSet.",
        )


# ---------------------------------------------------------------------------------------------

STATEFUL_TYPES = (CLOUD_SQL, MEMORYSTORE, FIRESTORE, GCS, DISK, RDS_INSTANCE, RDS_CLUSTER, DOCDB, ELASTICACHE, MQ, BACKUP_VAULT, PVC, STATEFUL_SET) + S3


@stack_policy(
    name="stateful-resources-protected",
    theme="protection",
    summary="Stateful resources are `protect`ed so Pulumi refuses to delete them.",
    severity=Severity.HIGH,
    types=STATEFUL_TYPES,
    checks="Databases, caches, brokers, buckets, disks, backup vaults, PVCs and StatefulSets with "
    "volumeClaimTemplates have the `protect` resource option.",
    source="DESIGN conventions (stateful resources get protect=True in prod); seed 002 (recovery objectives)",
    remediation="Create them with `self.child_opts(stateful=True)` (components/base.py), which sets protect in "
    "production stacks. To delete one on purpose: `pulumi state unprotect <urn>` first.",
    environment_specific=True,
)
def stateful_resources_protected(args: StackValidationArgs, check: Check) -> None:
    for r in args.resources:
        if r.resource_type not in STATEFUL_TYPES:
            continue
        if r.resource_type == STATEFUL_SET:
            templates = seq(get(r.props, "spec.volumeClaimTemplates"), "spec.volumeClaimTemplates")
            if not check.known(templates, f"volumeClaimTemplates of StatefulSet {r.name}") or not templates:
                continue
        if not getattr(r.opts, "protect", False):
            check.fail(f"{short(r.resource_type)} {r.name} holds data but is not protected (protect=True).", r.urn)
