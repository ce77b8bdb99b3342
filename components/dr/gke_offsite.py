"""The Google side of copying in-cluster dumps into the tiered backup bucket (`gke`).

The backup CronJob of `components/dr/kubernetes.py` (with `offsite`) uploads each dump as the
Kubernetes service account `backup-<service>`. `OffsiteDumpAccess` lets it, and nothing more:
- `roles/iam.workloadIdentityUser` on the dump's Google service account for exactly that
  Kubernetes service account (`<pool>[<namespace>/backup-<service>]`): no key ever exists;
- `roles/storage.objectCreator` on the backup bucket, conditioned (IAM Conditions; the bucket has
  uniform bucket-level access) to the object names `<tier>/<service>/...` of the bucket's
  retention tiers. objectCreator can create objects but not read, list, replace or delete them,
  so a compromised backup pod cannot destroy or read the retained history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackContext
from components.dr.kubernetes import backup_service_account


def offsite_component_name(service: str) -> str:
    """The component's name for one dumped data service. MongoDB's keeps the name it had when it
    was the only one (`backups-offsite`): a new name would replace its IAM bindings."""
    return "backups-offsite" if service == "mongodb" else f"backups-offsite-{service}"


def object_prefix_condition(bucket: str, prefixes: Sequence[str]) -> str:
    """CEL over the object resource name: true only below one of `prefixes` (each ends in '/')."""
    return " || ".join(
        f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{prefix}")' for prefix in prefixes
    )


@dataclass(frozen=True)
class OffsiteDumpAccessArgs:
    context: StackContext
    bucket_name: str  # the backup bucket's (stable, known) name
    bucket: pulumi.Input[str]  # the bucket resource's name output: the binding waits for the bucket
    tiers: Sequence[str]  # the bucket's tier prefixes, e.g. ["daily/", "weekly/", ...]
    account: pulumi.Input[str]  # the Google service account (projects/*/serviceAccounts/*)
    member: pulumi.Input[str]  # serviceAccount:<its email>
    workload_pool: pulumi.Input[str]  # <project>.svc.id.goog
    namespace: pulumi.Input[str]
    service: str  # the dumped data service, e.g. "mongodb"


class OffsiteDumpAccess(PlatformComponent):
    """Workload Identity binding + prefix-scoped objectCreator on the backup bucket."""

    TYPE = "aiplatform:dr:OffsiteDumpAccess"

    def __init__(self, name: str, args: OffsiteDumpAccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        ksa = backup_service_account(args.service)
        gcp.serviceaccount.IAMMember(
            self.child_name("workload-identity"),
            gcp.serviceaccount.IAMMemberArgs(
                service_account_id=args.account,
                role="roles/iam.workloadIdentityUser",
                member=pulumi.Output.all(args.workload_pool, args.namespace).apply(
                    lambda v: f"serviceAccount:{v[0]}[{v[1]}/{ksa}]"
                ),
            ),
            opts=self.child_opts(),
        )
        self.prefixes = [f"{tier}{args.service}/" for tier in args.tiers]
        gcp.storage.BucketIAMMember(
            self.child_name("object-creator"),
            gcp.storage.BucketIAMMemberArgs(
                bucket=args.bucket,
                role="roles/storage.objectCreator",
                member=args.member,
                condition=gcp.storage.BucketIAMMemberConditionArgs(
                    title=f"{args.service} dumps only",
                    description=f"create objects under {', '.join(self.prefixes)}",
                    expression=object_prefix_condition(args.bucket_name, self.prefixes),
                ),
            ),
            opts=self.child_opts(),
        )
        self.register_outputs({"prefixes": self.prefixes, "kubernetesServiceAccount": ksa})
