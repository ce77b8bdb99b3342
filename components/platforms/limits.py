"""What each platform offers for CPU and memory, and which managed sizes exist: the adapters' and
data backends' `problems` refuse anything else instead of rounding it silently (a rounded size
costs what the stack file does not say, and an unknown one fails only at the cloud API).

Pure data and functions: no Pulumi, no provider SDK.

- Fargate: the CPU/memory combinations of a task (ECS task definition `cpu`/`memory`);
- Cloud Run: 1, 2, 4, 6 or 8 vCPU, or 0.08-0.999 vCPU with concurrency 1 and at most 512 MiB
  (below 0.5 vCPU) or 1 GiB; memory per vCPU 1: 4 GiB, 2: 8 GiB, 4: 2-16 GiB, 6: 4-24 GiB,
  8: 4-32 GiB; the second-generation environment and CPU always allocated (worker pools) need
  at least 512 MiB and whole vCPUs;
- Compute Engine machine types (GKE nodes, the RabbitMQ VM): known families and their shapes, and
  what GKE leaves allocatable to pods on a node of that type;
- the managed size names: Cloud SQL tiers, Memorystore capacity, RDS / ElastiCache / DocumentDB /
  Amazon MQ instance classes (pattern plus known families).
"""

from __future__ import annotations

import re
from typing import Optional

from components.config import Problem, cpu_quantity, memory_quantity

# --- Fargate ------------------------------------------------------------------------------------

# vCPU (millicores) -> the memory (MiB) a task of that size may have
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    250: (512, 1024, 2048),
    500: tuple(range(1024, 4097, 1024)),
    1000: tuple(range(2048, 8193, 1024)),
    2000: tuple(range(4096, 16385, 1024)),
    4000: tuple(range(8192, 30721, 1024)),
    8000: tuple(range(16384, 61441, 4096)),
    16000: tuple(range(32768, 122881, 8192)),
}


def _gi(mib: int) -> str:
    return memory_quantity(mib)


def _memory_offer(memories: tuple[int, ...]) -> str:
    if len(memories) <= 3:
        return ", ".join(_gi(m) for m in memories)
    step = memories[1] - memories[0]
    return f"{_gi(memories[0])} to {_gi(memories[-1])} in steps of {_gi(step)}"


def fargate_problems(path: str, millicores: int, memory_mib: int) -> list[Problem]:
    """A Fargate task size that is not one of the offered combinations."""
    offer = "; ".join(f"{cpu_quantity(c)} vCPU: {_memory_offer(m)}" for c, m in FARGATE_SIZES.items())
    if millicores not in FARGATE_SIZES:
        return [Problem(f"{path}.cpu", cpu_quantity(millicores),
                        f"Fargate offers 0.25, 0.5, 1, 2, 4, 8 or 16 vCPU per task ({offer})")]
    memories = FARGATE_SIZES[millicores]
    if memory_mib not in memories:
        return [Problem(f"{path}.memory", _gi(memory_mib),
                        f"Fargate offers {_memory_offer(memories)} with {cpu_quantity(millicores)} vCPU")]
    return []


# --- Cloud Run ----------------------------------------------------------------------------------

CLOUD_RUN_WHOLE_CPUS = (1, 2, 4, 6, 8)
# vCPU -> (min, max) memory MiB
CLOUD_RUN_MEMORY: dict[int, tuple[int, int]] = {
    1: (512, 4096),
    2: (512, 8192),
    4: (2048, 16384),
    6: (4096, 24576),
    8: (4096, 32768),
}
CLOUD_RUN_MIN_MIB = 512  # second-generation execution environment, CPU always allocated
CLOUD_RUN_GEN1_MIN_MIB = 128  # first generation (fractional vCPU)


def cloud_run_fractional(millicores: int) -> bool:
    """A size below one vCPU: Cloud Run runs it in the first-generation environment."""
    return millicores < 1000


def cloud_run_problems(path: str, millicores: int, memory_mib: int, concurrency: int, *, worker: bool) -> list[Problem]:
    """A Cloud Run service (worker pool with `worker`) size Cloud Run does not offer."""
    if cloud_run_fractional(millicores):
        if worker:
            return [Problem(f"{path}.cpu", cpu_quantity(millicores),
                            "a Cloud Run worker pool (CPU always allocated) needs 1, 2, 4, 6 or 8 vCPU")]
        problems = []
        if millicores < 80:
            problems.append(Problem(f"{path}.cpu", cpu_quantity(millicores),
                                    "Cloud Run offers 1, 2, 4, 6 or 8 vCPU, or 80m to 999m"))
        if concurrency != 1:
            problems.append(Problem(f"{path}.concurrency", concurrency,
                                    f"Cloud Run runs less than 1 vCPU ({cpu_quantity(millicores)}) only with "
                                    "concurrency 1; set concurrency: 1 or cpu to 1, 2, 4, 6 or 8"))
        cap = 512 if millicores < 500 else 1024
        if memory_mib > cap:
            problems.append(Problem(f"{path}.memory", _gi(memory_mib),
                                    f"Cloud Run allows at most {_gi(cap)} with {cpu_quantity(millicores)} vCPU "
                                    "(more memory needs 0.5 vCPU for 1Gi, 1 vCPU above)"))
        if memory_mib < CLOUD_RUN_GEN1_MIN_MIB:
            problems.append(Problem(f"{path}.memory", _gi(memory_mib), "Cloud Run needs at least 128Mi"))
        return problems
    if millicores % 1000 or millicores // 1000 not in CLOUD_RUN_WHOLE_CPUS:
        return [Problem(f"{path}.cpu", cpu_quantity(millicores),
                        "Cloud Run offers 1, 2, 4, 6 or 8 vCPU (values above 1 are whole), or 80m to 999m")]
    low, high = CLOUD_RUN_MEMORY[millicores // 1000]
    if not low <= memory_mib <= high:
        return [Problem(f"{path}.memory", _gi(memory_mib),
                        f"Cloud Run offers {_gi(low)} to {_gi(high)} with {millicores // 1000} vCPU")]
    return []


# --- Compute Engine machine types (GKE nodes, the RabbitMQ VM) -----------------------------------

# (family, shape) -> (MiB per vCPU, the vCPU counts Compute Engine offers in that shape): the
# counts differ by shape within a family (e2-highmem stops at 16 vCPU, e2-standard at 32; n1 and n2
# high-memory/high-CPU start at 2; n2-highcpu stops at 96), so a family's counts do not make a type
_STANDARD_HIGHMEM_HIGHCPU = ("standard", "highmem", "highcpu")
_MACHINE_SHAPES: dict[tuple[str, str], tuple[float, tuple[int, ...]]] = {
    ("e2", "standard"): (4096, (2, 4, 8, 16, 32)),
    ("e2", "highmem"): (8192, (2, 4, 8, 16)),
    ("e2", "highcpu"): (1024, (2, 4, 8, 16, 32)),
    ("n1", "standard"): (3840, (1, 2, 4, 8, 16, 32, 64, 96)),
    ("n1", "highmem"): (6656, (2, 4, 8, 16, 32, 64, 96)),
    ("n1", "highcpu"): (921.6, (2, 4, 8, 16, 32, 64, 96)),
    ("n2", "standard"): (4096, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128)),
    ("n2", "highmem"): (8192, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128)),
    ("n2", "highcpu"): (1024, (2, 4, 8, 16, 32, 48, 64, 80, 96)),
    ("n2d", "standard"): (4096, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224)),
    ("n2d", "highmem"): (8192, (2, 4, 8, 16, 32, 48, 64, 80, 96)),
    ("n2d", "highcpu"): (1024, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224)),
    **{("n4", shape): (mib, (2, 4, 8, 16, 32, 48, 64, 80))
       for shape, mib in zip(_STANDARD_HIGHMEM_HIGHCPU, (4096, 8192, 2048))},
    ("c2", "standard"): (4096, (4, 8, 16, 30, 60)),
    **{("c2d", shape): (mib, (2, 4, 8, 16, 32, 56, 112))
       for shape, mib in zip(_STANDARD_HIGHMEM_HIGHCPU, (4096, 8192, 2048))},
    **{("c3", shape): (mib, (4, 8, 22, 44, 88, 176))
       for shape, mib in zip(_STANDARD_HIGHMEM_HIGHCPU, (4096, 8192, 2048))},
    ("t2d", "standard"): (4096, (1, 2, 4, 8, 16, 32, 48, 60)),
}
# the types whose memory is not MiB-per-vCPU x vCPUs
_IRREGULAR_MIB = {"n2-highmem-128": 864 * 1024}
# shared-core types: (vCPU the node reports, MiB)
_SHARED_CORE: dict[str, tuple[int, int]] = {
    "e2-micro": (2, 1024),
    "e2-small": (2, 2048),
    "e2-medium": (2, 4096),
}
_MACHINE_RE = re.compile(r"^(?P<family>[a-z][a-z0-9]*)-(?P<shape>standard|highmem|highcpu)-(?P<cpus>\d+)$")


def machine_shape(machine_type: str) -> Optional[tuple[int, int]]:
    """(vCPU, MiB) of a known Compute Engine machine type; None for one this module does not know."""
    if machine_type in _SHARED_CORE:
        return _SHARED_CORE[machine_type]
    m = _MACHINE_RE.match(machine_type)
    offer = _MACHINE_SHAPES.get((m.group("family"), m.group("shape"))) if m else None
    if offer is None or int(m.group("cpus")) not in offer[1]:
        return None
    cpus = int(m.group("cpus"))
    return cpus, _IRREGULAR_MIB.get(machine_type, int(offer[0] * cpus))


def machine_type_problems(path: str, machine_type: str) -> list[Problem]:
    if machine_shape(machine_type) is not None:
        return []
    m = _MACHINE_RE.match(machine_type)
    offer = _MACHINE_SHAPES.get((m.group("family"), m.group("shape"))) if m else None
    if offer is not None:
        counts = ", ".join(str(c) for c in offer[1])
        return [Problem(path, machine_type,
                        f"Compute Engine has no such type: {m.group('family')}-{m.group('shape')} comes with {counts} vCPUs")]
    families = ", ".join(sorted({family for family, _ in _MACHINE_SHAPES}))
    return [Problem(path, machine_type,
                    f"is not a Compute Engine machine type this program knows: <family>-<standard|highmem|highcpu>-<vCPUs> "
                    f"of {families} (e.g. e2-standard-4), or e2-micro, e2-small, e2-medium")]


def gke_allocatable(machine_type: str) -> Optional[tuple[int, int]]:
    """(millicores, MiB) a GKE node of `machine_type` leaves to pods: GKE reserves CPU (6 % of the
    first core, 1 % of the second, 0.5 % of the next two, 0.25 % above) and memory (25 % of the
    first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % of the next 112, 2 % above, plus
    100 MiB for eviction; 255 MiB below 1 GiB)."""
    shape = machine_shape(machine_type)
    if shape is None:
        return None
    cpus, mib = shape
    cpu_reserved, left_cores = 0.0, float(cpus)
    for share, cores in ((0.06, 1), (0.01, 1), (0.005, 2), (0.0025, float("inf"))):
        take = min(cores, left_cores)
        cpu_reserved += share * take * 1000
        left_cores -= take
    if mib < 1024:
        mem_reserved = 255
    else:
        mem_reserved, left = 100.0, float(mib)
        for share, size in ((0.25, 4096), (0.20, 4096), (0.10, 8192), (0.06, 114688), (0.02, float("inf"))):
            take = min(size, left)
            mem_reserved += share * take
            left -= take
    return cpus * 1000 - int(cpu_reserved + 0.999), mib - int(mem_reserved + 0.999)


def fits_node_problems(path: str, millicores: int, memory_mib: int, machine_type: str) -> list[Problem]:
    """A pod request larger than what a GKE node of `machine_type` can ever schedule."""
    allocatable = gke_allocatable(machine_type)
    if allocatable is None:
        return []  # the machine type itself is reported
    cpu, mib = allocatable
    problems = []
    if millicores > cpu:
        problems.append(Problem(f"{path}.cpu", cpu_quantity(millicores),
                                f"a pod requesting more than a node's allocatable {cpu}m CPU (gke.machineType "
                                f"{machine_type}) never schedules: lower it or pick a larger machine type"))
    if memory_mib > mib:
        problems.append(Problem(f"{path}.memory", _gi(memory_mib),
                                f"a pod requesting more than a node's allocatable {mib}Mi (gke.machineType "
                                f"{machine_type}) never schedules: lower it or pick a larger machine type"))
    return problems


# Backup for GKE keeps a backup at most this many days (a backup plan's retention)
BACKUP_FOR_GKE_MAX_RETAIN_DAYS = 365


# --- managed sizes ------------------------------------------------------------------------------

_CLOUD_SQL_SHARED = ("db-f1-micro", "db-g1-small")
_CLOUD_SQL_CUSTOM_RE = re.compile(r"^db-custom-(?P<cpus>\d+)-(?P<mib>\d+)$")


def cloud_sql_tier_problems(path: str, tier: str) -> list[Problem]:
    """Cloud SQL for PostgreSQL (Enterprise edition): the shared-core tiers or db-custom-<vCPUs>-<MiB>
    with 1 or an even number of vCPUs up to 96 and 0.9 to 6.5 GiB per vCPU in 256 MiB steps
    (at least 3840 MiB)."""
    rule = ("Cloud SQL (Enterprise edition) tiers are db-f1-micro, db-g1-small or db-custom-<vCPUs>-<MiB> "
            "with 1 or an even number of vCPUs up to 96 and 0.9-6.5 GiB per vCPU in multiples of 256 MiB, "
            "at least 3840 (e.g. db-custom-2-7680)")
    if tier in _CLOUD_SQL_SHARED:
        return []
    m = _CLOUD_SQL_CUSTOM_RE.match(tier)
    if not m:
        return [Problem(path, tier, rule)]
    cpus, mib = int(m.group("cpus")), int(m.group("mib"))
    if not (cpus == 1 or (cpus % 2 == 0 and 2 <= cpus <= 96)) or mib % 256 or mib < 3840 \
            or not cpus * 921.6 <= mib <= cpus * 6656:
        return [Problem(path, tier, rule)]
    return []


MEMORYSTORE_GB = (1, 300)


def memorystore_size_problems(path: str, tier: Optional[str]) -> list[Problem]:
    """Memorystore for Redis capacity: `data.redis.tier` is a whole number of GB, 1 to 300."""
    if tier is None:
        return []
    low, high = MEMORYSTORE_GB
    if not tier.isdigit() or not low <= int(tier) <= high:
        return [Problem(path, tier, f"Memorystore's size is a whole number of GB from {low} to {high} (e.g. \"5\"); "
                                    "none uses data.redis.storageGi")]
    return []


_AWS_SIZES = ("micro", "small", "medium", "large", "xlarge") + tuple(
    f"{n}xlarge" for n in (2, 3, 4, 6, 8, 9, 10, 12, 16, 18, 24, 32, 48)
)
# managed product -> (class prefix, families, product name)
AWS_INSTANCE_FAMILIES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "rds": ("db", ("t3", "t4g", "m5", "m5d", "m6g", "m6gd", "m6i", "m6id", "m6in", "m7g", "m7i", "m8g",
                        "r5", "r5b", "r5d", "r6g", "r6gd", "r6i", "r6id", "r6in", "r7g", "r7i", "r8g", "x2g"),
                 "RDS for PostgreSQL"),
    "elasticache": ("cache", ("t3", "t4g", "m5", "m6g", "m7g", "r5", "r6g", "r6gd", "r7g", "c7gn"), "ElastiCache"),
    "documentdb": ("db", ("t3", "t4g", "r5", "r6g", "r6gd", "r8g"), "Amazon DocumentDB"),
}
AMAZON_MQ_RABBITMQ = (
    "mq.t3.micro", "mq.m5.large", "mq.m5.xlarge", "mq.m5.2xlarge", "mq.m5.4xlarge",
    "mq.m7g.medium", "mq.m7g.large", "mq.m7g.xlarge", "mq.m7g.2xlarge", "mq.m7g.4xlarge",
    "mq.m7g.8xlarge", "mq.m7g.12xlarge", "mq.m7g.16xlarge",
)


def aws_instance_class_problems(path: str, product: str, instance_class: str) -> list[Problem]:
    """An RDS / ElastiCache / DocumentDB instance class (`<prefix>.<family>.<size>`) or Amazon MQ
    host instance type (`product` amazonmq) that does not exist."""
    if product == "amazonmq":
        if instance_class not in AMAZON_MQ_RABBITMQ:
            return [Problem(path, instance_class, f"Amazon MQ for RabbitMQ offers {', '.join(AMAZON_MQ_RABBITMQ)}")]
        return []
    prefix, families, name = AWS_INSTANCE_FAMILIES[product]
    parts = instance_class.split(".")
    if len(parts) != 3 or parts[0] != prefix or parts[1] not in families or parts[2] not in _AWS_SIZES:
        return [Problem(path, instance_class,
                        f"{name} instance classes are {prefix}.<family>.<size> with family one of "
                        f"{', '.join(families)} and a size such as large or 2xlarge (e.g. {prefix}.{families[2]}.large)")]
    if product == "documentdb" and parts[1] in ("t3", "t4g") and parts[2] != "medium":
        return [Problem(path, instance_class, "Amazon DocumentDB offers the t3 and t4g families only as medium")]
    return []
