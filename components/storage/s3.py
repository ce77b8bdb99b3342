"""Private S3 buckets, shared by the ALB access logs (components/edge/alb.py) and the backup
buckets (components/dr/aws.py): one definition of what a safe bucket is on this platform."""

from __future__ import annotations

from typing import Any, Optional, Sequence

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
) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
    """A private S3 bucket of `owner` (the edge logs bucket here, the backup buckets of
    components/dr/aws.py): the bucket `<prefix>-<purpose>-<account>-<region>` (globally unique, and
    stable: it never depends on config values), stateful and never force-destroyed; versioning (an
    object cannot be silently overwritten); all public access blocked; `object_ownership`; default
    encryption `encryption`. Child names are `<key>-versioning`, `<key>-public-access`, ...; `opts`
    (e.g. a provider) go to every resource. Returns the bucket and its versioning, which lifecycle
    and replication configurations must wait for."""
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
    attach(
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
    return bucket, versioning


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
