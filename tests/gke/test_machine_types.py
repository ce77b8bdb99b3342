"""Compute Engine machine types (GKE nodes, the RabbitMQ VM): a type exists per (family, shape) and
vCPU count, not per family: `e2-highmem-32` matches the family's counts (e2-standard-32 exists) but
Compute Engine has no such type, and the node pool would fail at the API
(components/platforms/limits.py)."""

from __future__ import annotations

import pytest

from components.platforms.limits import machine_shape, machine_type_problems
from tests.helpers import problem_lines

# types Compute Engine does not have, though their family offers the vCPU count in another shape
NOT_TYPES = ("e2-highmem-32", "n1-highmem-1", "n1-highcpu-1", "n2-highcpu-128", "n2d-highmem-128",
             "c2-highmem-4", "t2d-highcpu-4")
# real types at the edges of their shape's counts
TYPES = {
    "e2-highmem-16": (16, 128 * 1024), "e2-highcpu-32": (32, 32 * 1024), "n1-standard-1": (1, 3840),
    "n1-highmem-96": (96, 624 * 1024), "n2-highcpu-96": (96, 96 * 1024), "n2-highmem-128": (128, 864 * 1024),
    "n2d-standard-224": (224, 896 * 1024), "c2-standard-60": (60, 240 * 1024), "e2-medium": (2, 4096),
}


@pytest.mark.parametrize("machine_type", NOT_TYPES)
def test_a_shape_gets_only_its_own_vcpu_counts(machine_type):
    assert machine_shape(machine_type) is None
    assert machine_type_problems("gke.machineType", machine_type)


@pytest.mark.parametrize("machine_type,shape", sorted(TYPES.items()))
def test_real_types_keep_their_shape(machine_type, shape):
    assert machine_shape(machine_type) == shape
    assert machine_type_problems("gke.machineType", machine_type) == []


def test_a_node_type_gce_lacks_fails_before_anything_is_built():
    lines = problem_lines("prod-gke", {"gke": {"machineType": "e2-highmem-32"}})
    assert "gke.machineType = 'e2-highmem-32'" in lines and "e2-highmem comes with 2, 4, 8, 16 vCPUs" in lines, lines
