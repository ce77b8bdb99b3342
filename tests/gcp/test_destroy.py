"""`pulumi destroy` of a non-prod GCP stack finishes, applied to every resource of the stack.

The documented teardown (docs/deploy-gcp.md, "Tearing down staging") is: set
`gcp.deletionProtection: false`, `pulumi up`, `pulumi destroy`. DESTROY_RULES lists, per type, what
the resource must look like after that `up` so that the provider and the API let `destroy` delete
it: no deletion protection on either side, buckets emptied by the provider and not holding objects
under a retention policy, the Private Service Access connection removing its peering (otherwise
the VPC cannot be deleted), and nothing `protect`ed. KMS key rings and keys can never be deleted
from Google: `destroy` only drops them from the state and a rebuild under the same name fails, so a
ring must carry a name drawn per stack instance (it depends on a `random` id) and a key must live in
such a ring. Every rule must be reached by some resource.
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


RANDOM_ID = "random:index/randomId:RandomId"
KEY_RING = "gcp:kms/keyRing:KeyRing"


def _per_instance_ring(reg, by_urn) -> Optional[str]:
    if not any(by_urn[d].type == RANDOM_ID for d in reg.dependencies if d in by_urn):
        return "a KMS key ring is never deleted: its name must be drawn per stack instance (a random id) to rebuild"
    return None


def _key_in_per_instance_ring(reg, by_urn) -> Optional[str]:
    rings = [by_urn[d] for d in reg.dependencies if d in by_urn and by_urn[d].type == KEY_RING]
    if not rings or any(_per_instance_ring(ring, by_urn) for ring in rings):
        return "a KMS key is never deleted: it must live in a key ring named per stack instance"
    return None


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
}
# rules that read the resource's dependencies, not only its inputs
GRAPH_RULES = {
    KEY_RING: _per_instance_ring,
    "gcp:kms/cryptoKey:CryptoKey": _key_in_per_instance_ring,
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
    by_urn = {r.urn: r for r in resources}
    for reg in resources:
        if not reg.custom:
            continue
        if reg.protect:
            problems.append(f"{reg.name}: protect=True stops destroy")
        rule = DESTROY_RULES.get(reg.type)
        graph_rule = GRAPH_RULES.get(reg.type)
        if rule is not None or graph_rule is not None:
            reached.add(reg.type)
            problem = rule(reg.inputs) if rule is not None else graph_rule(reg, by_urn)
            if problem:
                problems.append(f"{reg.name} ({reg.type}): {problem}")
    return problems, reached


NON_PROD = non_prod_stacks()


def test_there_is_a_non_prod_gcp_stack():
    assert NON_PROD


@pytest.mark.parametrize("stack", NON_PROD)
def test_teardown_config_lets_destroy_delete_every_resource(stack):
    problems, _ = destroy_problems(_teardown_plan(stack))
    assert not problems


def _teardown_plan(stack: str):
    return plan_with(stack, {"gcp.deletionProtection": False}).resources


def test_every_rule_the_issue_needs_is_reached_by_some_non_prod_stack():
    reached = set().union(*(destroy_problems(_teardown_plan(stack))[1] for stack in NON_PROD))
    assert set(MUST_REACH) <= reached


def test_the_rules_fail_the_defects_issue_10_found():
    from tools.harness import Registration

    def reg(type_token: str, inputs: dict[str, Any]) -> Registration:
        return Registration(urn=f"urn:{type_token}", type=type_token, name="r", parent=None, custom=True,
                            protect=False, dependencies=[], inputs=inputs)

    retained = reg("gcp:storage/bucket:Bucket", {"forceDestroy": False, "retentionPolicy": {"retentionPeriod": 60}})
    abandoned = reg("gcp:servicenetworking/connection:Connection", {"deletionPolicy": "ABANDON"})
    fixed_ring = reg(KEY_RING, {"name": "aia-staging-gke-cluster"})
    key = reg("gcp:kms/cryptoKey:CryptoKey", {"name": "gke-secrets"})
    key.dependencies = [fixed_ring.urn]
    problems, _ = destroy_problems([retained, abandoned, fixed_ring, key])
    assert len(problems) == 4
