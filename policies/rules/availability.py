"""Production availability: redundant data services, at least two replicas, disruption budgets.

Seeds 000/001/002: 99.9 % availability target, automatic failover to healthy instances, prod
frontend 2-10 and API 2-5 replicas; seed 003: HPA ranges, PodDisruptionBudgets. All three rules
are environment specific (mandatory in production stacks, disabled in dev, waived in staging).
"""

from __future__ import annotations

import re
from typing import Any, Optional

from pulumi_policy import PolicyConfigSchema, Severity, StackValidationArgs

from .backups import is_global_secondary, is_replica
from .base import Check, config_number, stack_policy
from .props import Unknown, get, is_unknown, number, short, truthy
from .workloads import HPA_TYPES, PDB_TYPE, REPLICATED_WORKLOADS, k8s_name, k8s_namespace, selector_matches

CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
MEMORYSTORE = "gcp:redis/instance:Instance"
GKE = "gcp:container/cluster:Cluster"
RDS_INSTANCE = "aws:rds/instance:Instance"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
DOCDB = "aws:docdb/cluster:Cluster"
DOCDB_INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
MQ = "aws:mq/broker:Broker"
CLOUD_RUN_SERVICE = "gcp:cloudrunv2/service:Service"
CLOUD_RUN_POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
ECS_SERVICE = "aws:ecs/service:Service"
SCALING_TARGET = "aws:appautoscaling/target:Target"

_REGION_RE = re.compile(r"^[a-z]+-[a-z]+\d+$")


@stack_policy(
    name="ha-in-production",
    theme="availability",
    summary="Production data services and clusters survive the loss of a zone.",
    severity=Severity.HIGH,
    types=(CLOUD_SQL, MEMORYSTORE, GKE, RDS_INSTANCE, ELASTICACHE, DOCDB, DOCDB_INSTANCE, MQ),
    checks="Cloud SQL primaries: availabilityType REGIONAL; Memorystore: tier STANDARD_HA; GKE: a regional "
    "location; RDS primaries: multiAz; ElastiCache: automaticFailoverEnabled, multiAzEnabled and a replica; "
    "DocumentDB: at least two cluster instances (not a global cluster's DR secondary); Amazon MQ: a multi-AZ deploymentMode.",
    source="seeds 000/001 (99.9 % availability target); seed 002 (service failure: automatic failover to "
    "healthy instances); DESIGN (prod data HA)",
    remediation="Set data.<service>.ha in the stack config and map it to the provider's HA setting "
    "(availability_type=\"REGIONAL\", tier=\"STANDARD_HA\", multi_az=True, automatic_failover_enabled=True, "
    "a second DocumentDB instance, deployment_mode=\"CLUSTER_MULTI_AZ\"); create GKE clusters in a region.",
    environment_specific=True,
)
def ha_in_production(args: StackValidationArgs, check: Check) -> None:
    docdb_instances: dict[str, int] = {}
    for r in args.resources:
        if r.resource_type == DOCDB_INSTANCE:
            for dep in r.dependencies:
                docdb_instances[dep.urn] = docdb_instances.get(dep.urn, 0) + 1
    for r in args.resources:
        kind, props, label = r.resource_type, r.props, f"{short(r.resource_type)} {r.name}"

        def must(key: str, ok, message: str) -> None:
            value = get(props, key)
            if check.known(value, f"{key} of {label}") and not ok(value):
                check.fail(f"{label}: {message}", r.urn)

        if kind in (CLOUD_SQL, RDS_INSTANCE):
            replica = is_replica(kind, props)
            if not check.known(replica, f"replica setting of {label}") or replica:
                continue
        if kind == CLOUD_SQL:
            must("settings.availabilityType", lambda v: v == "REGIONAL", "availabilityType is not REGIONAL (no standby in another zone).")
        elif kind == MEMORYSTORE:
            must("tier", lambda v: v == "STANDARD_HA", "tier is not STANDARD_HA (no replica).")
        elif kind == GKE:
            must("location", lambda v: isinstance(v, str) and bool(_REGION_RE.match(v)), "location is not a region (zonal control plane and nodes).")
        elif kind == RDS_INSTANCE:
            must("multiAz", lambda v: truthy(v) is True, "multiAz is not true.")
        elif kind == ELASTICACHE:
            must("automaticFailoverEnabled", lambda v: truthy(v) is True, "automaticFailoverEnabled is not true.")
            must("multiAzEnabled", lambda v: truthy(v) is True, "multiAzEnabled is not true.")
            clusters, replicas = number(get(props, "numCacheClusters")), number(get(props, "replicasPerNodeGroup"))
            if check.known(clusters, f"numCacheClusters of {label}") and check.known(replicas, f"replicasPerNodeGroup of {label}"):
                if (clusters or 0) < 2 and (replicas or 0) < 1:
                    check.fail(f"{label}: no replica node (numCacheClusters >= 2 or replicasPerNodeGroup >= 1).", r.urn)
        elif kind == DOCDB:
            secondary = is_global_secondary(kind, props)
            if not check.known(secondary, f"global membership of {label}") or secondary:
                continue  # a DR secondary takes no traffic until promoted (the runbook adds instances then)
            if docdb_instances.get(r.urn, 0) < 2:
                check.fail(f"{label}: {docdb_instances.get(r.urn, 0)} cluster instance(s); add a second for failover.", r.urn)
        elif kind == MQ:
            must(
                "deploymentMode",
                lambda v: v in ("CLUSTER_MULTI_AZ", "ACTIVE_STANDBY_MULTI_AZ"),
                "deploymentMode is single-instance: use CLUSTER_MULTI_AZ (RabbitMQ).",
            )


# ---------------------------------------------------------------------------------------------


def _hpa_for(workload: Any, hpas: list[Any]) -> Optional[Any]:
    namespace, name = k8s_namespace(workload.props), get(workload.props, "metadata.name")
    kind = short(workload.resource_type)
    for hpa in hpas:
        if any(d.urn == workload.urn for d in hpa.dependencies):
            return hpa
        ref_kind, ref_name = get(hpa.props, "spec.scaleTargetRef.kind"), get(hpa.props, "spec.scaleTargetRef.name")
        if ref_kind == kind and ref_name is not None and ref_name == name and k8s_namespace(hpa.props) == namespace:
            return hpa
    return None


def effective_replicas(workload: Any, hpas: list[Any]) -> tuple[Any, str]:
    """(minimum replicas, where it comes from) of a Kubernetes workload: its HPA's minReplicas
    (default 1) when one targets it, else spec.replicas (default 1)."""
    hpa = _hpa_for(workload, hpas)
    if hpa is not None:
        value = number(get(hpa.props, "spec.minReplicas"))
        return (1.0 if value is None else value), f"HorizontalPodAutoscaler {hpa.name} minReplicas"
    value = number(get(workload.props, "spec.replicas"))
    return (1.0 if value is None else value), "spec.replicas"


def _ecs_minimum(service: Any, targets: list[Any]) -> tuple[Any, str]:
    for target in targets:
        if any(d.urn == service.urn for d in target.dependencies):
            value = number(get(target.props, "minCapacity"))
            return (0.0 if value is None else value), f"scaling target {target.name} minCapacity"
    value = number(get(service.props, "desiredCount"))
    return (0.0 if value is None else value), "desiredCount"


STANDBY_TAG = "dr-role"  # components/app/ecs.py: the ECS services of the standby in regions.secondary


@stack_policy(
    name="min-replicas",
    theme="availability",
    summary="Production workloads run at least two replicas/instances.",
    severity=Severity.MEDIUM,
    types=REPLICATED_WORKLOADS + HPA_TYPES + (CLOUD_RUN_SERVICE, CLOUD_RUN_POOL, ECS_SERVICE, SCALING_TARGET),
    checks="Kubernetes Deployments/StatefulSets: the HPA minReplicas (or spec.replicas) >= minReplicas (config, "
    "default 2); Cloud Run services: template.scaling.minInstanceCount (or service scaling) >= minReplicas; "
    "worker pools: scaling instance count; ECS services: the scaling target minCapacity (or desiredCount), except "
    "a DR standby's (tag dr-role=standby: it serves no traffic before a failover, and the runbook raises its "
    "floor then).",
    source="seed 000 (prod frontend 2-10, API 2-5 replicas; 99.9 % availability); seed 003 (HPA minReplicas)",
    remediation="Raise services.<name>.minReplicas in the production stack config to at least 2.",
    config_schema=PolicyConfigSchema(
        properties={"minReplicas": {"type": "integer", "minimum": 1, "default": 2, "description": "Minimum replicas/instances."}}
    ),
    environment_specific=True,
)
def min_replicas(args: StackValidationArgs, check: Check) -> None:
    wanted = config_number(args, "minReplicas", 2)
    hpas = [r for r in args.resources if r.resource_type in HPA_TYPES]
    targets = [r for r in args.resources if r.resource_type == SCALING_TARGET]
    for r in args.resources:
        label = f"{short(r.resource_type)} {r.name}"
        if r.resource_type in REPLICATED_WORKLOADS:
            value, where = effective_replicas(r, hpas)
        elif r.resource_type == CLOUD_RUN_SERVICE:
            a, b = number(get(r.props, "template.scaling.minInstanceCount")), number(get(r.props, "scaling.minInstanceCount"))
            value, where = (a if is_unknown(a) else b if is_unknown(b) else max(a or 0.0, b or 0.0)), "minInstanceCount"
        elif r.resource_type == CLOUD_RUN_POOL:
            a, b = number(get(r.props, "scaling.manualInstanceCount")), number(get(r.props, "scaling.minInstanceCount"))
            value, where = (a if is_unknown(a) else b if is_unknown(b) else max(a or 0.0, b or 0.0)), "scaling instance count"
        elif r.resource_type == ECS_SERVICE:
            if get(r.props, "schedulingStrategy") == "DAEMON":
                continue
            if get(r.props, f"tags.{STANDBY_TAG}") == "standby":
                continue  # a DR standby's floor is aws.standby.minTasks (0 in pilot light): no traffic until failover
            value, where = _ecs_minimum(r, targets)
        else:
            continue
        if check.known(value, f"{where} of {label}") and value < wanted:
            check.fail(f"{label}: {where} is {value:g}; production needs at least {wanted:g}.", r.urn)


# ---------------------------------------------------------------------------------------------


def _blocks_evictions(pdb: Any, replicas: float) -> Any:
    min_available, max_unavailable = get(pdb.props, "spec.minAvailable"), get(pdb.props, "spec.maxUnavailable")
    for value in (min_available, max_unavailable):
        if is_unknown(value):
            return value
    if isinstance(max_unavailable, (int, float)) and not isinstance(max_unavailable, bool):
        return max_unavailable < 1
    if isinstance(max_unavailable, str) and max_unavailable.strip() in ("0", "0%"):
        return True
    if isinstance(min_available, (int, float)) and not isinstance(min_available, bool):
        return min_available >= replicas
    if isinstance(min_available, str) and min_available.strip() == "100%":
        return True
    return False


@stack_policy(
    name="pdb-for-multi-replica",
    theme="availability",
    summary="Every multi-replica workload has a PodDisruptionBudget that still allows evictions.",
    severity=Severity.MEDIUM,
    types=REPLICATED_WORKLOADS + HPA_TYPES + (PDB_TYPE,),
    checks="Each Deployment/StatefulSet whose minimum replicas (HPA minReplicas or spec.replicas) is >= 2 has a "
    "PodDisruptionBudget in its namespace whose selector matches its pod template labels, and that budget "
    "does not block every eviction (maxUnavailable >= 1 or minAvailable < replicas).",
    source="seed 003 (PodDisruptionBudgets for the API and workers); seeds 000/001 (99.9 % availability during "
    "node upgrades)",
    remediation="Create policy/v1 PodDisruptionBudget(selector=<the workload's matchLabels>, maxUnavailable=1) "
    "next to each multi-replica workload.",
    url="https://kubernetes.io/docs/tasks/run-application/configure-pdb/",
    environment_specific=True,
)
def pdb_for_multi_replica(args: StackValidationArgs, check: Check) -> None:
    hpas = [r for r in args.resources if r.resource_type in HPA_TYPES]
    pdbs = [r for r in args.resources if r.resource_type == PDB_TYPE]
    for r in args.resources:
        if r.resource_type not in REPLICATED_WORKLOADS:
            continue
        label = f"{short(r.resource_type)} {k8s_name(r.props, r.name)}"
        replicas, where = effective_replicas(r, hpas)
        if not check.known(replicas, f"{where} of {label}") or replicas < 2:
            continue
        namespace = k8s_namespace(r.props)
        pod_labels = get(r.props, "spec.template.metadata.labels")
        if not (check.known(namespace, f"namespace of {label}") and check.known(pod_labels, f"pod labels of {label}")):
            continue
        matching, undecided = [], False
        for pdb in pdbs:
            pdb_namespace = k8s_namespace(pdb.props)
            if not check.known(pdb_namespace, f"namespace of PodDisruptionBudget {pdb.name}"):
                undecided = True
                continue
            if pdb_namespace != namespace:
                continue
            selected = selector_matches(get(pdb.props, "spec.selector"), pod_labels)
            if isinstance(selected, Unknown):
                check.unknown(f"selector of PodDisruptionBudget {pdb.name}", selected)
                undecided = True
            elif selected:
                matching.append(pdb)
        if not matching:
            if not undecided:
                check.fail(f"{label} runs {replicas:g}+ replicas but no PodDisruptionBudget selects its pods.", r.urn)
            continue
        for pdb in matching:
            blocked = _blocks_evictions(pdb, replicas)
            if check.known(blocked, f"budget of PodDisruptionBudget {pdb.name}") and blocked:
                check.fail(
                    f"PodDisruptionBudget {pdb.name} allows no eviction of {label} (node drains and upgrades would hang).",
                    pdb.urn,
                )
