"""Identity and access: least-privilege roles, nothing granted to the whole internet.

Seed 001 (least privilege, service accounts per workload) and seed 003 (RBAC): every grant names a
predefined or custom role for one principal. Two grants are never right here:

- the primitive roles `roles/owner`, `roles/editor`, `roles/viewer` (thousands of permissions on
  every service of the project; CIS GCP 1.5);
- the public principals `allUsers` / `allAuthenticatedUsers` (anyone on the internet, with or
  without a Google account; CIS GCP 1.x/5.1). The design's public entry point is the edge load
  balancer, not an IAM grant on a service, bucket, secret or key.

GCP IAM resources come in three shapes per scope: `...IAMMember` (`role`, `member`),
`...IAMBinding` (`role`, `members`) and `...IAMPolicy` (`policyData`, a JSON document of
`bindings[]`); all three are read.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import Check, resource_policy
from .props import Invalid, get, is_unknown, parse_json, seq

PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})

#: Scopes that take IAM grants (module/prefix of the token), each with its Member, Binding, Policy types.
_SCOPES = (
    ("projects", "IAM"),
    ("organizations", "IAM"),
    ("folder", "IAM"),
    ("serviceaccount", "IAM"),
    ("storage", "BucketIAM"),
    ("secretmanager", "SecretIam"),
    ("kms", "CryptoKeyIAM"),
    ("kms", "KeyRingIAM"),
    ("cloudrunv2", "ServiceIam"),
    ("cloudrunv2", "JobIam"),
    ("cloudrun", "Iam"),
    ("pubsub", "TopicIAM"),
    ("pubsub", "SubscriptionIAM"),
    ("artifactregistry", "RepositoryIam"),
    ("compute", "InstanceIAM"),
    ("bigquery", "DatasetIam"),
)


def _camel(name: str) -> str:
    return name[0].lower() + name[1:]


IAM_MEMBER_TYPES = tuple(f"gcp:{mod}/{_camel(prefix)}Member:{prefix}Member" for mod, prefix in _SCOPES)
IAM_BINDING_TYPES = tuple(f"gcp:{mod}/{_camel(prefix)}Binding:{prefix}Binding" for mod, prefix in _SCOPES)
IAM_POLICY_TYPES = tuple(f"gcp:{mod}/{_camel(prefix)}Policy:{prefix}Policy" for mod, prefix in _SCOPES)
IAM_TYPES = IAM_MEMBER_TYPES + IAM_BINDING_TYPES + IAM_POLICY_TYPES


def _grants(args: ResourceValidationArgs, check: Check) -> list[tuple[Any, list[Any]]]:
    """(role, members) of a Member, Binding or Policy resource; unreadable parts are recorded."""
    props = args.props
    if args.resource_type in IAM_POLICY_TYPES:
        document = parse_json(get(props, "policyData"), "policyData")
        if is_unknown(document):
            check.unknown("policyData", document)
            return []
        if isinstance(document, Invalid):
            check.fail("policyData is not valid JSON.")
            return []
        bindings = seq(get(document, "bindings"), "policyData.bindings")
        if not check.known(bindings, "policyData.bindings"):
            return []
        return [(get(b, "role"), seq(get(b, "members"), "members")) for b in bindings]
    if args.resource_type in IAM_BINDING_TYPES:
        return [(get(props, "role"), seq(get(props, "members"), "members"))]
    return [(get(props, "role"), [get(props, "member")])]


@resource_policy(
    name="no-primitive-iam-roles",
    theme="iam",
    summary="No GCP IAM grant uses the primitive roles owner, editor or viewer.",
    severity=Severity.HIGH,
    types=IAM_TYPES,
    checks="IAM members, bindings and policies (project, service account, bucket, secret, KMS, Cloud Run, ...): "
    "`role` (or each `policyData` binding's role) is not roles/owner, roles/editor or roles/viewer.",
    source="seed 001 (least privilege); seed 003 (RBAC); CIS Google Cloud Foundations Benchmark 1.5",
    remediation="Grant the predefined role that holds only the permissions the workload uses "
    "(roles/cloudsql.client, roles/secretmanager.secretAccessor, ...), or a custom role.",
    url="https://cloud.google.com/iam/docs/understanding-roles#basic",
)
def no_primitive_iam_roles(args: ResourceValidationArgs, check: Check) -> None:
    for role, _ in _grants(args, check):
        if check.known(role, "role") and isinstance(role, str) and role in PRIMITIVE_ROLES:
            check.fail(f"grants the primitive role {role}: use a predefined or custom role with least privilege.")


@resource_policy(
    name="no-public-iam-members",
    theme="iam",
    summary="No GCP IAM grant is made to allUsers or allAuthenticatedUsers.",
    severity=Severity.CRITICAL,
    types=IAM_TYPES,
    checks="IAM members, bindings and policies: `member` (or any of `members`, or of a `policyData` binding's "
    "members) is not allUsers or allAuthenticatedUsers.",
    source="seed 001 (network security, least privilege); seed 003 (RBAC); CIS Google Cloud Foundations "
    "Benchmark 5.1 (buckets not publicly accessible)",
    remediation="Grant the role to the service account or group that needs it; public traffic enters through "
    "the edge load balancer (Cloud Armor, TLS), never through an IAM grant.",
    url="https://cloud.google.com/iam/docs/principals-overview#all-users",
)
def no_public_iam_members(args: ResourceValidationArgs, check: Check) -> None:
    for role, members in _grants(args, check):
        if not check.known(members, "members"):
            continue
        for member in members:
            if check.known(member, "member") and isinstance(member, str) and member in PUBLIC_MEMBERS:
                shown = role if isinstance(role, str) else "a role"
                check.fail(f"grants {shown} to {member}: anyone on the internet gets it.")
