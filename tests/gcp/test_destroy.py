"""`pulumi destroy` of a non-prod GCP stack finishes, applied to every resource of the stack.

The documented teardown (docs/deploy-gcp.md, "Tearing down staging") is: set
`gcp.deletionProtection: false`, `pulumi up`, `pulumi destroy`. DESTROY_RULES lists, per type, what
the resource must look like after that `up` so that the provider and the API let `destroy` delete
it: no deletion protection on either side, buckets emptied by the provider and not holding objects
under a retention policy, the Private Service Access connection removing its peering (otherwise
the VPC cannot be deleted), and nothing `protect`ed. A type that can never be deleted (KMS key
rings and keys) fails outright in a non-prod stack. Every rule must be reached by some resource.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import pytest

from tests.gcp.test_gcp_constraints import STACKS
from tests.gcp.test_replacement import plan_with
from tests.helpers import dig
from tools.plan import read_stack_config


def _off(path: str, what: str) -> Callable[[dict[str, Any]], Optional[str]]:
    return lambda i: f"{what} ({path} = {dig(i, path)!r})" if dig(i, path) is True else None


def _bucket(i: dict[str, Any]) -> Optional[str]:
    if i.get("forceDestroy") is not True:
        return "forceDestroy is off: destroy stops at the first object"
    if dig(i, "retentionPolicy.retentionPeriod"):
        return "a retention policy: objects younger than it cannot be deleted, so neither can the bucket"
    return None


def _psa(i: dict[str, Any]) -> Optional[str]:
    if i.get("deletionPolicy") != "REMOVE_PEERING":
        return (f"deletionPolicy {i.get('deletionPolicy')!r}: ABANDON leaves the peering, which blocks deleting the "
                "VPC, and DELETE fails while Cloud SQL still holds producer resources; use REMOVE_PEERING")
    return None


def _firestore(i: dict[str, Any]) -> Optional[str]:
    if i.get("deleteProtectionState") != "DELETE_PROTECTION_DISABLED" or i.get("deletionPolicy") != "DELETE":
        return "Firestore keeps delete protection or is only abandoned"
    return None


def _sql(i: dict[str, Any]) -> Optional[str]:
    if i.get("deletionProtection") is True or dig(i, "settings.deletionProtectionEnabled") is True:
        return "Cloud SQL deletion protection (Pulumi-side or API-side) is on"
    return None


def _never(what: str) -> Callable[[dict[str, Any]], Optional[str]]:
    return lambda i: what


DESTROY_RULES: dict[str, Callable[[dict[str, Any]], Optional[str]]] = {
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:servicenetworking/connection:Connection": _psa,
    "gcp:firestore/database:Database": _firestore,
    "gcp:sql/databaseInstance:DatabaseInstance": _sql,
    "gcp:redis/instance:Instance": _off("deletionProtection", "Memorystore deletion protection is on"),
    "gcp:compute/instance:Instance": _off("deletionProtection", "VM deletion protection is on"),
    "gcp:cloudrunv2/service:Service": _off("deletionProtection", "Cloud Run deletion protection is on"),
    "gcp:cloudrunv2/workerPool:WorkerPool": _off("deletionProtection", "worker pool deletion protection is on"),
    "gcp:workflows/workflow:Workflow": _off("deletionProtection", "workflow deletion protection is on"),
    "gcp:container/cluster:Cluster": _off("deletionProtection", "cluster deletion protection is on"),
    "gcp:kms/keyRing:KeyRing": _never("KMS key rings cannot be deleted: a rebuild conflicts on the name"),
    "gcp:kms/cryptoKey:CryptoKey": _never("KMS keys cannot be deleted, only their versions destroyed"),
}
# Rules that must be reached in the non-prod stacks (the ones the issue found broken).
MUST_REACH = (
    "gcp:storage/bucket:Bucket",
    "gcp:servicenetworking/connection:Connection",
    "gcp:sql/databaseInstance:DatabaseInstance",
    "gcp:firestore/database:Database",
)


def non_prod_stacks() -> list[str]:
    out = []
    for stack in STACKS:
        project, config, _, _ = read_stack_config(stack)
        if config.get(f"{project}:environment") != "prod":
            out.append(stack)
    return out


def destroy_problems(resources) -> tuple[list[str], set[str]]:
    problems, reached = [], set()
    for reg in resources:
        if not reg.custom:
            continue
        if reg.protect:
            problems.append(f"{reg.name}: protect=True stops destroy")
        rule = DESTROY_RULES.get(reg.type)
        if rule is not None:
            reached.add(reg.type)
            problem = rule(reg.inputs)
            if problem:
                problems.append(f"{reg.name} ({reg.type}): {problem}")
    return problems, reached


NON_PROD = non_prod_stacks()


def test_there_is_a_non_prod_gcp_stack():
    assert NON_PROD


@pytest.mark.parametrize("stack", NON_PROD)
def test_teardown_config_lets_destroy_delete_every_resource(stack):
    resources = plan_with(stack, {"gcp.deletionProtection": False}).resources
    problems, reached = destroy_problems(resources)
    assert not problems
    assert set(MUST_REACH) <= reached


def test_the_rules_fail_the_defects_issue_10_found():
    from tools.harness import Registration

    def reg(type_token: str, inputs: dict[str, Any]) -> Registration:
        return Registration(urn=f"urn:{type_token}", type=type_token, name="r", parent=None, custom=True,
                            protect=False, dependencies=[], inputs=inputs)

    retained = reg("gcp:storage/bucket:Bucket", {"forceDestroy": False, "retentionPolicy": {"retentionPeriod": 60}})
    abandoned = reg("gcp:servicenetworking/connection:Connection", {"deletionPolicy": "ABANDON"})
    problems, _ = destroy_problems([retained, abandoned])
    assert len(problems) == 2
