"""tools/dr_adopt.py: after a real failover the promoted Cloud SQL replica becomes the stack's
primary with no replacement of a protected resource.

For every GCP stack with a replica: the printed steps name the stack's real instances (read from
its plan) in a safe order; the state surgery, run on an export built from the stack's offline plan,
moves the promoted instance to the primary role's URN and leaves a state whose every dependency
comes first; and the stack planned with the tool's config changes keeps every protected resource of
that state (URN and every input the provider replaces it for, `FORCE_NEW`), plans the promoted
instance as the primary and no replica until phase `replica` adds one under a fresh name.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.gcp.test_region_swap import SWAP_STACKS
from tests.gcp.test_replacement import plan_with, replaced
from tests.helpers import plan_of
from tools import dr_adopt
from tools.harness import Capture, Registration

INSTANCE = dr_adopt.INSTANCE


@pytest.fixture(scope="module", params=SWAP_STACKS)
def stack(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def facts(stack) -> dr_adopt.StackFacts:
    return dr_adopt.stack_facts(stack)


def _instances(capture: Capture) -> dict[str, Registration]:
    return {"replica" if r.inputs.get("masterInstanceName") else "primary": r for r in capture.of_type(INSTANCE)}


def exported_state(capture: Capture) -> dict[str, Any]:
    """A `pulumi stack export` document of what the plan would have created (outputs = inputs, ids
    in the provider's formats for the objects on an instance)."""
    resources = []
    for r in capture.resources:
        entry: dict[str, Any] = {
            "urn": r.urn, "type": r.type, "custom": r.custom, "inputs": dict(r.inputs), "outputs": dict(r.inputs),
            "protect": r.protect, "dependencies": list(r.dependencies),
            "propertyDependencies": {"all": list(r.dependencies)} if r.dependencies else {},
        }
        if r.parent:
            entry["parent"] = r.parent
        if r.type in dr_adopt.ON_INSTANCE:
            entry["id"] = f"projects/p/instances/{r.inputs['instance']}/{r.inputs['name']}"
        resources.append(entry)
    return {"version": 3, "deployment": {"manifest": {}, "resources": resources}}


def as_capture(state: dict[str, Any]) -> Capture:
    return Capture(resources=[
        Registration(urn=r["urn"], type=r["type"], name=r["urn"].split("::")[-1], parent=r.get("parent"),
                     custom=r["custom"], protect=r["protect"], dependencies=r["dependencies"], inputs=r["inputs"])
        for r in state["deployment"]["resources"]
    ])


def _lines(steps) -> list[str]:
    return [s.line() for s in steps]


def test_the_steps_name_the_stacks_instances_in_a_safe_order(stack, facts):
    planned = _instances(plan_of(stack).capture)
    promoted, lost = planned["replica"].inputs["name"], planned["primary"].inputs["name"]
    steps = dr_adopt.adopt_steps(facts)
    lines = _lines(steps)
    promote = next(s for s in steps if "promote-replica" in s.argv)
    assert promote.manual and promoted in promote.argv and facts.project_id in promote.argv
    order = [next(i for i, line in enumerate(lines) if key in line)
             for key in ("promote-replica", "stack export", "rewrite-state", "stack import", "cloudSql.primary.instance",
                         "pulumi preview", "up --continue-on-error", "up --refresh")]
    assert order == sorted(order), lines
    assert f"cloudSql.primary.instance {promoted.removeprefix(facts.prefix + '-')}" in "\n".join(lines)
    assert any(line.startswith("pulumi config rm") and "gcp.cloudSql.replica" in line for line in lines)
    assert all(f"--stack {stack}" in line for line in lines if line.startswith("pulumi"))
    # nothing destructive runs by itself: the lost primary is only deleted in phase replica, by hand
    assert not any("delete" in s.argv for s in steps)
    later = dr_adopt.replica_steps(dataclasses.replace(facts, replica_instance=None),
                                   lost_instance=lost.removeprefix(facts.prefix + "-"))
    deletes = [s for s in later if "delete" in s.argv or "--no-deletion-protection" in s.argv]
    assert deletes and all(s.manual for s in deletes) and all(lost in s.argv for s in deletes)


def _integrity(state: dict[str, Any]) -> list[str]:
    seen: set[str] = set()
    problems = []
    for r in state["deployment"]["resources"]:
        refs = list(r.get("dependencies", [])) + [u for us in (r.get("propertyDependencies") or {}).values() for u in us]
        refs += [r["parent"]] if r.get("parent") else []
        problems += [f"{r['urn']} refers to {u} before it (or without it)" for u in refs if u not in seen]
        if r["urn"] in seen:
            problems.append(f"{r['urn']} twice")
        seen.add(r["urn"])
    return problems


@pytest.mark.parametrize("rebuild", ["cloud-sql", "+redis", "+redis+rabbitmq"])
def test_the_adopted_stack_plans_the_promoted_instance_as_primary_and_replaces_nothing(stack, facts, rebuild):
    base = plan_of(stack).capture
    planned = _instances(base)
    promoted = planned["replica"].inputs
    recreate_redis = "redis" in rebuild
    snapshot = "aia-rabbitmq-latest" if "rabbitmq" in rebuild and facts.rabbitmq_disk else None
    state = dr_adopt.rewrite_state(exported_state(base), facts, recreate_redis=recreate_redis,
                                   rebuild_rabbitmq=bool(snapshot))
    assert not _integrity(state), _integrity(state)
    urns = [r["urn"] for r in state["deployment"]["resources"]]
    assert planned["replica"].urn not in urns and urns.count(planned["primary"].urn) == 1
    if recreate_redis:
        assert facts.urns["redis"] not in urns and not any(
            facts.urns["redis"] in r["dependencies"] for r in state["deployment"]["resources"])

    changes = {path: value for path, value in dr_adopt.config_changes(facts, recreate_redis, snapshot)}
    after = plan_with(stack, changes)
    problems = replaced(as_capture(state), after)
    assert not problems, f"{stack} after adoption:\n" + "\n".join(problems)
    now = after.of_type(INSTANCE)
    assert [(r.urn, r.inputs["name"], r.inputs["region"]) for r in now] == [
        (planned["primary"].urn, promoted["name"], promoted["region"])], "the promoted instance, as the primary, alone"
    assert not now[0].inputs.get("masterInstanceName")
    if recreate_redis:
        assert after.one(dr_adopt.REDIS).inputs["region"] == promoted["region"]
    if snapshot:
        disk = after.one("gcp:compute/regionDisk:RegionDisk")
        assert (disk.inputs["region"], disk.inputs["snapshot"]) == (promoted["region"], snapshot)
        assert "snapshot" in disk.ignore_changes, "creation-only: a later up must not plan it back"
        assert not set(facts.rabbitmq_urns) & set(urns) and disk.urn in facts.rabbitmq_urns


def test_phase_replica_adds_a_replica_under_a_fresh_name_in_the_old_region(stack, facts):
    planned = _instances(plan_of(stack).capture)
    lost = planned["primary"].inputs["name"].removeprefix(facts.prefix + "-")
    adopted = dataclasses.replace(
        facts, primary_instance=facts.replica_instance, primary_sql_region=facts.replica_sql_region,
        replica_instance=None, replica_sql_region=None,
        primary_region=facts.secondary_region, secondary_region=facts.primary_region,
    )
    steps = dr_adopt.replica_steps(adopted, lost_instance=lost)
    name = next(s.argv[-3] for s in steps if "gcp.cloudSql.replica.instance" in s.line())
    assert name not in (lost, adopted.primary_instance)
    changes = {path: value for path, value in dr_adopt.config_changes(facts, False)}
    changes["gcp.cloudSql.replica"] = {"instance": name, "region": facts.primary_sql_region}
    after = _instances(plan_with(stack, changes))
    assert after["replica"].inputs["name"] == f"{facts.prefix}-{name}"
    assert after["replica"].inputs["region"] == facts.primary_sql_region
    assert after["replica"].inputs["masterInstanceName"] == planned["replica"].inputs["name"]


def test_a_new_replica_name_is_never_one_the_stack_had():
    assert dr_adopt.new_replica_instance("us-central1", ["postgres", "postgres-europe-west1"]) == "postgres-us-central1"
    taken = ["postgres-europe-west1", "postgres-europe-west1-2"]
    assert dr_adopt.new_replica_instance("europe-west1", taken) not in taken
