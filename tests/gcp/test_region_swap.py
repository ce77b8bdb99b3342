"""Failover: swapping regions.primary and regions.secondary (the runbook's reconcile step,
docs/deploy-gcp.md and docs/deploy-gke.md) moves no data.

The swap gives the Cloud Run services their new roles (the load balancer's preferred region, the
backup workflow's region); it must not touch anything that holds data. For every GCP stack with a
DR region, planned again with the two regions swapped, as a rule over what the plan holds (never a
list of resources):
- every protected resource keeps its URN (a new logical name is a replacement), every input the
  provider replaces it for (`FORCE_NEW` of test_replacement) and every location input anywhere in
  its inputs (region, location, locationId, zone, replica zones, storage locations);
- every resource of a data component (`aiplatform:data:*`: the RabbitMQ VM's disk, IP, group and
  snapshot schedule, the Cloud SQL user, ...), of the GKE cluster and of the Backup for GKE plans
  keeps its URN and its location inputs, and every fixed address;
- every subnet keeps its range (a subnet in use cannot be replaced, and the RabbitMQ VM's fixed IP
  is an address of it).
Production stacks must pin these placements explicitly (`placement_problems`): unpinned, the
defaults follow the regions and a swap would move them.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

import pytest

from components.config import _decode, parse_stack_config
from components.data.gcp_placement import placement_problems
from tests.gcp.test_gcp_constraints import STACKS
from tests.gcp.test_replacement import plan_with, replaced
from tests.helpers import plan_of, stack_raw_config
from tools.plan import read_stack_config

# Input keys that place a resource somewhere (at any depth of its inputs).
LOCATION_KEYS = frozenset({
    "region", "location", "locationId", "alternativeLocationId", "zone", "zones", "replicaZones",
    "storageLocations", "distributionPolicyZones", "nodeLocations",
})
# Inputs that pin an address: a changed one is a new IP for every client.
ADDRESS_KEYS = frozenset({"address", "ipCidrRange"})
# Component types whose every child holds or places data.
STATEFUL_COMPONENTS = ("aiplatform:data:", "aiplatform:cluster:GkeCluster", "aiplatform:dr:GkeBackup")


def _regions(stack: str) -> dict[str, Any]:
    project, config, _, _ = read_stack_config(stack)
    return _decode(config[f"{project}:regions"])


SWAP_STACKS = [s for s in STACKS if _regions(s).get("secondary")]


def swapped(stack: str):
    regions = _regions(stack)
    return plan_with(stack, {"regions.primary": regions["secondary"], "regions.secondary": regions["primary"]})


def placed(inputs: Any, keys: frozenset[str], path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every input named in `keys`, at any depth."""
    if isinstance(inputs, dict):
        for key, value in inputs.items():
            where = f"{path}.{key}" if path else key
            if key in keys:
                yield where, value
            yield from placed(value, keys, where)
    elif isinstance(inputs, list):
        for i, value in enumerate(inputs):
            yield from placed(value, keys, f"{path}[{i}]")


def _in_stateful_component(urn: str) -> bool:
    chain = urn.split("::")[2]
    return any(part.startswith(STATEFUL_COMPONENTS) for part in chain.split("$")[:-1])


def moved(base, changed) -> list[str]:
    """What the change moves that holds or places data (see the module doc)."""
    after = {r.urn: r for r in changed.resources}
    problems = list(replaced(base, changed))  # protected ones: URN and ForceNew inputs
    for reg in base.resources:
        if not reg.custom:
            continue
        scoped = reg.protect or _in_stateful_component(reg.urn)
        subnet = reg.type == "gcp:compute/subnetwork:Subnetwork"
        if not (scoped or subnet):
            continue
        if reg.urn not in after:
            problems.append(f"{reg.name} ({reg.type}) is gone: a new logical name replaces it")
            continue
        keys = (LOCATION_KEYS | ADDRESS_KEYS) if scoped else ADDRESS_KEYS
        new = dict(placed(after[reg.urn].inputs, keys))
        for path, value in placed(reg.inputs, keys):
            if new.get(path) != value:
                problems.append(f"{reg.name}.{path}: {value!r} -> {new.get(path)!r}")
    return problems


def test_the_rule_covers_both_gcp_platforms():
    platforms = {plan_of(s).platform for s in SWAP_STACKS}
    assert platforms == {"cloudrun", "gke"}, SWAP_STACKS


@pytest.mark.parametrize("stack", SWAP_STACKS)
def test_swapping_the_regions_moves_no_data(stack):
    base = plan_of(stack).capture
    assert any(r.protect for r in base.resources)
    changed = swapped(stack)
    problems = moved(base, changed)
    assert not problems, f"swapping regions.primary/secondary in {stack}:\n" + "\n".join(problems)
    # the swap does reach the roles: something follows regions.primary (else it tested nothing)
    after = {r.urn: r for r in changed.resources}
    assert any(after[r.urn].inputs != r.inputs for r in base.resources if r.urn in after)


@pytest.mark.parametrize("stack", SWAP_STACKS)
def test_production_stacks_pin_every_placement_a_swap_must_keep(stack):
    """Each pin removed alone is a problem naming it (its default would follow regions.primary)."""
    raw = stack_raw_config(stack)
    platform = raw["platform"]
    pins = ["gcp.cloudSql", "gcp.redisRegion"]
    pins += ["gcp.rabbitmqZone", "gcp.networkCidrRegion"] if platform == "cloudrun" else ["gke.region", "gke.backupLocation"]
    for key in pins:
        section, name = key.split(".")
        assert name in raw[section], f"{stack} pins {key}"
        without = copy.deepcopy(raw)
        del without[section][name]
        found = [p for p in placement_problems(parse_stack_config(without, f"Pulumi.{stack}.yaml")) if p.path == key]
        assert found and "swapping regions.primary/secondary" in found[0].allowed, key
