"""Container hardening across Kubernetes workloads, Cloud Run v2 and ECS task definitions.

Seed 001 "Container Security": non-root containers mandatory, read-only filesystems, security
contexts with minimal privileges; seed 004 production checklist: resource limits set, health checks
and readiness probes; seed 003 resource table (requests and limits for every component).
External check: Kubernetes Pod Security Standards, "restricted" profile.

Cloud Run runs every container in a gVisor sandbox and its API has no security context, so the
four security-context rules do not apply there (documented in docs/policies.md); resources,
probes and pinned images do.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity

from .base import Check, resource_policy
from .props import get, image_problem, is_set, is_unknown, number, seq, truthy
from .workloads import (
    ALL_CONTAINER_TYPES,
    CLOUD_RUN,
    ECS_TASK_DEFINITION,
    K8S_WORKLOADS,
    container_views,
    containers_of,
    has_ports,
    pod_security,
)

PSS_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"
SECURITY_TYPES = K8S_WORKLOADS + (ECS_TASK_DEFINITION,)


# ---------------------------------------------------------------------------------------------


@resource_policy(
    name="container-non-root",
    theme="containers",
    summary="Containers run as a non-root user.",
    severity=Severity.HIGH,
    types=SECURITY_TYPES,
    checks="Kubernetes: effective `securityContext.runAsNonRoot: true` or `runAsUser` > 0 (container "
    "overrides pod) and never `runAsUser: 0`; ECS: every container sets `user` to a non-root user, except a "
    "run-once init step (not essential, read-only root, all capabilities dropped, no ports or secrets, "
    "awaited with condition SUCCESS by an essential container).",
    source="seed 001 (Container Security: non-root containers mandatory); seed 004 (runAsNonRoot); "
    "Kubernetes Pod Security Standards restricted",
    remediation="Set `securityContext.runAsNonRoot: true` and a numeric `runAsUser` (e.g. 10001) on the pod "
    "or container; for ECS set `user` (e.g. \"10001\") in the container definition. Build images with a "
    "non-root USER.",
    url=PSS_URL,
)
def container_non_root(args: ResourceValidationArgs, check: Check) -> None:
    for view in container_views(args, check):
        if view.platform == "kubernetes":
            non_root = truthy(pod_security(view, "runAsNonRoot"))
            user = number(pod_security(view, "runAsUser"))
            if is_unknown(user):
                check.unknown(f"{view.label} runAsUser", user)
                continue
            if user is not None and user == 0:
                check.fail(f"{view.label} runs as root (runAsUser: 0).")
                continue
            if is_unknown(non_root):
                if user is None:
                    check.unknown(f"{view.label} runAsNonRoot", non_root)
                continue
            if non_root is not True and not (user is not None and user > 0):
                check.fail(
                    f"{view.label} may run as root: set securityContext.runAsNonRoot: true "
                    "(and a non-zero runAsUser) on the pod or the container."
                )
        elif view.platform == "ecs":
            user = view.get("user")
            if not check.known(user, f"{view.label} user"):
                continue
            name = str(user).split(":", 1)[0].strip() if user is not None else ""
            if name in ("", "root", "0") and not _ecs_init_step(view):
                check.fail(f"{view.label} runs as root: set `user` to a non-root user id.")


def _ecs_init_step(view) -> bool:
    """A run-once ECS init step may be root (on Fargate only root can make a task volume writable
    for the app user) when it can do nothing else: not essential, read-only root filesystem, every
    capability dropped, no ports, no secrets, and an essential container starts only after it exits 0."""
    name = view.get("name")
    drop = view.get("linuxParameters.capabilities.drop")
    if view.get("essential") is not False or view.get("readonlyRootFilesystem") is not True:
        return False
    if not isinstance(drop, list) or "ALL" not in drop:
        return False
    if view.get("linuxParameters.capabilities.add") or view.get("portMappings") or view.get("secrets"):
        return False
    others = containers_of(ECS_TASK_DEFINITION, view.ecs_task).views

    def awaits_success(other) -> bool:
        depends_on = other.get("dependsOn")
        return isinstance(depends_on, list) and {"containerName": name, "condition": "SUCCESS"} in depends_on

    return any(other.get("essential") is not False and awaits_success(other) for other in others)


@resource_policy(
    name="container-read-only-root-fs",
    theme="containers",
    summary="Containers mount their root filesystem read-only.",
    severity=Severity.MEDIUM,
    types=SECURITY_TYPES,
    checks="Kubernetes: `securityContext.readOnlyRootFilesystem: true` on every container (init "
    "included); ECS: `readonlyRootFilesystem: true` on every container definition.",
    source="seed 001 (Container Security: read-only filesystems); CIS Kubernetes Benchmark 5.7.3",
    remediation="Set `securityContext.readOnlyRootFilesystem: true` and mount an `emptyDir` (Kubernetes) or a "
    "task volume (ECS, `readonlyRootFilesystem: true`) at the paths the process writes (/tmp, caches).",
    url=PSS_URL,
)
def container_read_only_root_fs(args: ResourceValidationArgs, check: Check) -> None:
    for view in container_views(args, check):
        key = "securityContext.readOnlyRootFilesystem" if view.platform == "kubernetes" else "readonlyRootFilesystem"
        value = truthy(view.get(key))
        if check.known(value, f"{view.label} {key}") and value is not True:
            check.fail(f"{view.label} has a writable root filesystem: set {key.split('.')[-1]}: true.")


@resource_policy(
    name="container-no-privilege-escalation",
    theme="containers",
    summary="Containers are not privileged and cannot escalate privileges.",
    severity=Severity.HIGH,
    types=SECURITY_TYPES,
    checks="Kubernetes: `securityContext.allowPrivilegeEscalation: false` set explicitly and "
    "`privileged` not true on every container; ECS: `privileged` not true.",
    source="seed 001 (security contexts with minimal privileges); Kubernetes Pod Security Standards "
    "restricted; CIS Kubernetes Benchmark 5.2.1/5.2.5",
    remediation="Set `securityContext.allowPrivilegeEscalation: false` and remove `privileged: true` "
    "(Kubernetes); remove `privileged: true` from ECS container definitions.",
    url=PSS_URL,
)
def container_no_privilege_escalation(args: ResourceValidationArgs, check: Check) -> None:
    for view in container_views(args, check):
        key = "securityContext.privileged" if view.platform == "kubernetes" else "privileged"
        privileged = truthy(view.get(key))
        if check.known(privileged, f"{view.label} privileged") and privileged is True:
            check.fail(f"{view.label} is privileged.")
        if view.platform == "kubernetes":
            escalation = truthy(view.get("securityContext.allowPrivilegeEscalation"))
            if check.known(escalation, f"{view.label} allowPrivilegeEscalation") and escalation is not False:
                check.fail(f"{view.label} may escalate privileges: set securityContext.allowPrivilegeEscalation: false.")


_ALLOWED_ADDED_CAPABILITIES = {"NET_BIND_SERVICE"}


@resource_policy(
    name="container-capabilities-dropped",
    theme="containers",
    summary="Containers drop all Linux capabilities (adding back at most NET_BIND_SERVICE).",
    severity=Severity.MEDIUM,
    types=SECURITY_TYPES,
    checks="Kubernetes: `securityContext.capabilities.drop` contains ALL and `add` is at most "
    "NET_BIND_SERVICE; ECS: `linuxParameters.capabilities.drop` contains ALL, `add` at most NET_BIND_SERVICE.",
    source="seed 001 (security contexts with minimal privileges); Kubernetes Pod Security Standards restricted",
    remediation="Kubernetes: `securityContext.capabilities: {drop: [ALL]}`; ECS: "
    "`linuxParameters: {capabilities: {drop: [\"ALL\"]}}` in each container definition.",
    url=PSS_URL,
)
def container_capabilities_dropped(args: ResourceValidationArgs, check: Check) -> None:
    for view in container_views(args, check):
        base = "securityContext.capabilities" if view.platform == "kubernetes" else "linuxParameters.capabilities"
        drop = seq(view.get(f"{base}.drop"), f"{base}.drop")
        if check.known(drop, f"{view.label} {base}.drop"):
            if any(is_unknown(d) for d in drop):
                check.unknown(f"{view.label} {base}.drop")
            elif "ALL" not in {str(d).upper() for d in drop}:
                check.fail(f"{view.label} does not drop all capabilities: add ALL to {base}.drop.")
        added = seq(view.get(f"{base}.add"), f"{base}.add")
        if check.known(added, f"{view.label} {base}.add"):
            extra = sorted({str(a).upper() for a in added if not is_unknown(a)} - _ALLOWED_ADDED_CAPABILITIES)
            if extra:
                check.fail(f"{view.label} adds capabilities {', '.join(extra)}.")
            if any(is_unknown(a) for a in added):
                check.unknown(f"{view.label} {base}.add")


@resource_policy(
    name="container-resources",
    theme="containers",
    summary="Every container declares CPU and memory requests and limits.",
    severity=Severity.MEDIUM,
    types=ALL_CONTAINER_TYPES,
    checks="Kubernetes: `resources.requests` and `resources.limits` with cpu and memory on every main "
    "container; Cloud Run: `resources.limits` cpu and memory; ECS: task-level `cpu` and `memory` (or "
    "`cpu` and `memory`/`memoryReservation` on every container).",
    source="seed 003 (resource requirements table); seed 004 (Performance: resource limits are set)",
    remediation="Set requests and limits from the stack config (services.<name>.cpu/memory, cpuLimit/"
    "memoryLimit); Cloud Run: template.containers[].resources.limits; ECS: task definition cpu/memory.",
)
def container_resources(args: ResourceValidationArgs, check: Check) -> None:
    views = container_views(args, check, include_init=False)
    if args.resource_type == ECS_TASK_DEFINITION:
        cpu, memory = get(args.props, "cpu"), get(args.props, "memory")
        if not (check.known(cpu, "task cpu") and check.known(memory, "task memory")):
            return
        if is_set(cpu) and is_set(memory):
            return
        for view in views:
            c_cpu, c_mem, c_res = view.get("cpu"), view.get("memory"), view.get("memoryReservation")
            if any(is_unknown(v) for v in (c_cpu, c_mem, c_res)):
                check.unknown(f"{view.label} cpu/memory")
            elif not is_set(c_cpu) or not (is_set(c_mem) or is_set(c_res)):
                check.fail(f"{view.label} has no cpu/memory and the task definition sets no task-level cpu/memory.")
        return
    for view in views:
        if view.platform == "kubernetes":
            wanted = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
        else:
            wanted = ("limits.cpu", "limits.memory")
        missing = []
        for key in wanted:
            value = view.get(f"resources.{key}")
            if check.known(value, f"{view.label} resources.{key}") and not is_set(value):
                missing.append(key)
        if missing:
            check.fail(f"{view.label} has no resources.{', resources.'.join(missing)}.")


@resource_policy(
    name="container-probes",
    theme="containers",
    summary="Long-running containers have health probes.",
    severity=Severity.MEDIUM,
    types=K8S_WORKLOADS + CLOUD_RUN + (ECS_TASK_DEFINITION,),
    checks="Kubernetes Deployments/StatefulSets/DaemonSets/Pods: a livenessProbe or startupProbe on every "
    "main container, and a readinessProbe on containers that expose ports (Jobs/CronJobs exempt); "
    "Cloud Run services: a startupProbe or livenessProbe on the serving container (jobs and worker pools "
    "exempt); ECS: a `healthCheck` "
    "on every essential container.",
    source="seed 004 (Reliability: health checks implemented, readiness probes configured); seed 000/003 "
    "(liveness and readiness probes)",
    remediation="Add livenessProbe/readinessProbe (HTTP on the service health paths, exec for workers) or a "
    "startupProbe; Cloud Run: template.containers[].startupProbe/livenessProbe; ECS: `healthCheck` in the "
    "container definition.",
)
def container_probes(args: ResourceValidationArgs, check: Check) -> None:
    views = container_views(args, check, include_init=False)
    if args.resource_type in ("gcp:cloudrunv2/job:Job", "gcp:cloudrunv2/workerPool:WorkerPool"):
        return  # batch jobs and worker pools serve no traffic to probe
    if args.resource_type == "gcp:cloudrunv2/service:Service":
        serving = [v for v in views if v.get("ports") is not None] or views[:1]
        for view in serving:
            startup, liveness = view.get("startupProbe"), view.get("livenessProbe")
            if not (check.known(startup, f"{view.label} startupProbe") and check.known(liveness, f"{view.label} livenessProbe")):
                continue
            if not is_set(startup) and not is_set(liveness):
                check.fail(f"{view.label} has no startupProbe or livenessProbe.")
        return
    for view in views:
        if view.platform == "ecs":
            essential = truthy(view.get("essential"))
            if not check.known(essential, f"{view.label} essential") or essential is False:
                continue
            health = view.get("healthCheck")
            if check.known(health, f"{view.label} healthCheck") and not is_set(get(health, "command")):
                check.fail(f"{view.label} is essential but has no healthCheck.")
            continue
        if not view.long_running:
            continue
        liveness, startup = view.get("livenessProbe"), view.get("startupProbe")
        if check.known(liveness, f"{view.label} livenessProbe") and check.known(startup, f"{view.label} startupProbe"):
            if not is_set(liveness) and not is_set(startup):
                check.fail(f"{view.label} has no livenessProbe or startupProbe.")
        ports = has_ports(view)
        if check.known(ports, f"{view.label} ports") and ports:
            readiness = view.get("readinessProbe")
            if check.known(readiness, f"{view.label} readinessProbe") and not is_set(readiness):
                check.fail(f"{view.label} serves ports but has no readinessProbe.")


@resource_policy(
    name="container-image-pinned",
    theme="containers",
    summary="Container images are pinned by version tag or digest (no ':latest', no untagged image).",
    severity=Severity.HIGH,
    types=ALL_CONTAINER_TYPES,
    checks="Every container image (init containers, Cloud Run services and jobs, ECS container definitions) "
    "has a digest (@sha256:...) or a tag other than `latest`.",
    source="seed 000/001/003/004 deployment examples use ':latest' (the anti-pattern this rule blocks); "
    "Kubernetes configuration best practices",
    remediation="Pin images to an immutable version tag (e.g. ghcr.io/org/api:1.4.2) or a digest in the stack "
    "config (services.<name>.image) or the data service version.",
    url="https://kubernetes.io/docs/concepts/containers/images/#image-names",
)
def container_image_pinned(args: ResourceValidationArgs, check: Check) -> None:
    for view in container_views(args, check):
        image = view.get("image")
        if not check.known(image, f"{view.label} image"):
            continue
        if not isinstance(image, str):
            check.fail(f"{view.label} has no image.")
            continue
        problem = image_problem(image)
        if problem:
            check.fail(f"{view.label} image {image!r} {problem}.")
