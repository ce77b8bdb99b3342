"""Private S3 buckets, shared by the ALB access logs (components/edge/alb.py) and the backup
buckets (components/dr/aws.py): one definition of what a safe bucket is on this platform."""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent


def tls_only_statement(bucket_arn: str) -> dict:
    """The bucket policy statement that refuses every request not made over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


class PrivateBucket(NamedTuple):
    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    # what enables (or disables) ACLs: writers that use ACLs (CloudFront standard logs) wait for it
    ownership: aws.s3.BucketOwnershipControls


SERVER_ACCESS_LOGS_SERVICE = "logging.s3.amazonaws.com"


def private_bucket(
    owner: PlatformComponent,
    key: str,
    purpose: str,
    account_id: pulumi.Input[str],
    region: str,
    *,
    object_ownership: str,
    encryption: aws.s3.BucketServerSideEncryptionConfigurationRuleArgs,
    **opts: Any,
) -> PrivateBucket:
    """A private S3 bucket of `owner` (the edge logs bucket here, the backup buckets of
    components/dr/aws.py): the bucket `<prefix>-<purpose>-<account>-<region>` (globally unique, and
    stable: it never depends on config values), stateful and never force-destroyed; versioning (an
    object cannot be silently overwritten); all public access blocked; `object_ownership`; default
    encryption `encryption`. Child names are `<key>-versioning`, `<key>-public-access`, ...; `opts`
    (e.g. a provider) go to every resource. Returns the bucket, its versioning (which lifecycle and
    replication configurations must wait for) and its ownership controls."""
    bucket = aws.s3.Bucket(
        owner.child_name(key),
        aws.s3.BucketArgs(
            bucket=pulumi.Output.concat(owner.context.prefix, f"-{purpose}-", account_id, "-", region),
            force_destroy=False,
            tags=owner.labels,
        ),
        opts=owner.child_opts(stateful=True, **opts),
    )

    def attach(suffix: str, resource: Any, args_class: Any, **settings: Any) -> Any:
        return resource(owner.child_name(key, suffix), args_class(bucket=bucket.id, **settings), opts=owner.child_opts(**opts))

    versioning = attach(
        "versioning",
        aws.s3.BucketVersioning,
        aws.s3.BucketVersioningInitArgs,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
    )
    attach(
        "public-access",
        aws.s3.BucketPublicAccessBlock,
        aws.s3.BucketPublicAccessBlockArgs,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    ownership = attach(
        "ownership",
        aws.s3.BucketOwnershipControls,
        aws.s3.BucketOwnershipControlsArgs,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership=object_ownership),
    )
    attach(
        "encryption",
        aws.s3.BucketServerSideEncryptionConfiguration,
        aws.s3.BucketServerSideEncryptionConfigurationInitArgs,
        rules=[encryption],
    )
    return PrivateBucket(bucket, versioning, ownership)


def access_logs_bucket(
    owner: PlatformComponent, key: str, account_id: pulumi.Input[str], region: str, keep_days: int, **opts: Any
) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
    """The S3 server access log bucket of `region` (`<prefix>-access-logs-<account>-<region>`):
    S3 delivers access logs only to a bucket in the source bucket's region and account, encrypted
    with SSE-S3 (not SSE-KMS), and -- with ACLs disabled -- only when the bucket policy lets the
    logging service (`logging.s3.amazonaws.com`) write, for this account's buckets. Logs expire
    after `keep_days`. Returns the bucket and the policy every `BucketLogging` must wait for."""
    bucket, versioning, _ = private_bucket(
        owner,
        key,
        "access-logs",
        account_id,
        region,
        object_ownership="BucketOwnerEnforced",
        encryption=aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"
            )
        ),
        **opts,
    )
    expire_objects(owner, key, bucket, versioning, "expire-access-logs", keep_days, **opts)
    policy = aws.s3.BucketPolicy(
        owner.child_name(key, "policy"),
        aws.s3.BucketPolicyArgs(
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, account_id).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "S3ServerAccessLogs",
                                "Effect": "Allow",
                                "Principal": {"Service": SERVER_ACCESS_LOGS_SERVICE},
                                "Action": "s3:PutObject",
                                "Resource": f"{a[0]}/*",
                                "Condition": {"StringEquals": {"aws:SourceAccount": a[1]}},
                            },
                            tls_only_statement(a[0]),
                        ],
                    }
                )
            ),
        ),
        opts=owner.child_opts(**opts),
    )
    return bucket, policy


def log_access(
    owner: PlatformComponent,
    key: str,
    bucket: aws.s3.Bucket,
    target: aws.s3.Bucket,
    policy: aws.s3.BucketPolicy,
    **opts: Any,
) -> aws.s3.BucketLogging:
    """Server access logging of `bucket` into `target` (an `access_logs_bucket`) under `<bucket>/`,
    after the target's policy lets S3 write there."""
    return aws.s3.BucketLogging(
        owner.child_name(key, "access-logging"),
        aws.s3.BucketLoggingInitArgs(
            bucket=bucket.id, target_bucket=target.id, target_prefix=pulumi.Output.concat(bucket.bucket, "/")
        ),
        opts=owner.child_opts(depends_on=[policy], **opts),
    )


def expire_objects(
    owner: PlatformComponent,
    key: str,
    bucket: aws.s3.Bucket,
    versioning: aws.s3.BucketVersioning,
    rule_id: str,
    days: int,
    transitions: Optional[Sequence[aws.s3.BucketLifecycleConfigurationRuleTransitionArgs]] = None,
    **opts: Any,
) -> aws.s3.BucketLifecycleConfiguration:
    """The lifecycle of a `private_bucket`: objects expire after `days` (after `transitions` to
    colder storage classes), replaced versions after 30 days, unfinished multipart uploads after 7."""
    return aws.s3.BucketLifecycleConfiguration(
        owner.child_name(key, "lifecycle"),
        aws.s3.BucketLifecycleConfigurationArgs(
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id=rule_id,
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    transitions=list(transitions) if transitions else None,
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=30
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
        ),
        # lifecycle rules are rejected while versioning is still being enabled
        opts=owner.child_opts(depends_on=[versioning], **opts),
    )
