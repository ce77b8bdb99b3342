"""The network-flow matrix of every stack that runs on Kubernetes: every flow the platform needs is
allowed by its NetworkPolicies, and nothing else into or out of the app namespace is.

`NEEDS` is the list of flows the platform needs, one row each: from whom, to whom, on which
ports, in which stacks. Names are workloads (a pod template's `app.kubernetes.io/name`), the
fixtures of tests/kubernetes/network_model.py (`kube-dns`, `prometheus`, `ingress-nginx`,
`stranger`) or the addresses of `OUTSIDE`; `<...>` names are roles expanded from the stack's
config and plan (see `ROLES`). A port is `"<number>/<protocol>"`, or `"<its port>"`: the port the
target serves for that role (a data service's port, a web service's port, a monitor's port).
A row whose named workloads are not in a stack does not apply there. A new flow is one line,
e.g. the prod-gke MongoDB dump uploaded to its bucket over the internet (Cloud NAT):
    need("backup-mongodb", "internet", "443/TCP", when=on("gke")),
and a new address beyond the cluster is one entry of `outside_addresses`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Callable, Iterable

import pytest

from components.config import StackConfig
from tests.helpers import k8s_objects, make_context, plan_of, vectordb_stacks
from tests.kubernetes.network_model import Cluster, Flow, cluster_of
from tests.kubernetes.scrape_model import scrape_targets
from tools.plan import available_stacks

# every stack whose workloads run on Kubernetes (dev, staging-gke, prod-gke), and each of them with
# the vector database on (`<stack>+vectordb`, tests/helpers.py)
_SHIPPED_ON_KUBERNETES = tuple(
    s for s in available_stacks() if make_context(s).config.platform in ("kubernetes", "gke")
)
KUBERNETES_STACKS = _SHIPPED_ON_KUBERNETES + vectordb_stacks(_SHIPPED_ON_KUBERNETES)
ITS_PORT = "<its port>"
# managed data services outside the cluster (gke: Cloud SQL, Memorystore with in-transit TLS)
MANAGED_PORTS = {"postgres": 5432, "redis": 6378}


def always(cfg: StackConfig) -> bool:
    return True


def on(platform: str) -> Callable[[StackConfig], bool]:
    return lambda cfg: cfg.platform == platform


def clustered(service: str) -> Callable[[StackConfig], bool]:
    return lambda cfg: getattr(cfg.data, service).enabled and getattr(cfg.data, service).replicas > 1


@dataclass(frozen=True)
class Need:
    source: str
    target: str
    ports: tuple[str, ...]
    when: Callable[[StackConfig], bool]


def need(source: str, target: str, *ports: str, when: Callable[[StackConfig], bool] = always) -> Need:
    return Need(source, target, ports, when)


NEEDS = (
    #    from                                 to                            ports               stacks
    need("<each service>",                    "<the data services it uses>", ITS_PORT),
    need("<each service>",                    "<the other web services>",    ITS_PORT),
    need("<each service holding an AI key>",  "internet",                    "443/TCP"),
    need("<every pod that connects out>",     "kube-dns",                    "53/UDP", "53/TCP"),
    need("ingress-nginx",                     "<each routed service>",       ITS_PORT),
    need("<Google's load balancers>",         "<each routed service>",       ITS_PORT, when=on("gke")),
    need("prometheus",                        "<each scraped pod>",          ITS_PORT),
    need("mongodb-rs-init",                   "mongodb",                     "27017/TCP"),
    need("mongodb",                           "mongodb",                     "27017/TCP"),
    need("rabbitmq",                          "rabbitmq",                    "4369/TCP", "25672/TCP", when=clustered("rabbitmq")),
    need("backup-postgres",                   "postgres",                    "5432/TCP"),
    need("backup-mongodb",                    "mongodb",                     "27017/TCP"),
    # Qdrant's clients may use gRPC beside REST (6333, "<its port>"); its snapshot API on 6333
    need("<each client of the vector database>", "vectordb",                 "6334/TCP"),
    need("vectordb",                          "vectordb",                    "6335/TCP",         when=clustered("vectordb")),
    need("backup-vectordb",                   "vectordb",                    "6333/TCP"),
    need("backup-vectordb",                   "internet",                    "443/TCP",          when=on("gke")),
    # the dump's copy into the tiered GCS bucket, over Private Google Access (components/dr/gke_offsite.py)
    need("backup-mongodb",                    "internet",                    "443/TCP",          when=on("gke")),
    # the release analyses: the Argo Rollouts controller queries Prometheus (components/release/analysis.py);
    # its calls to the API server leave the cluster's pod network and no NetworkPolicy governs them
    need("argo-rollouts",                     "prometheus",                  "9090/TCP"),
    # Workload Identity: every pod may ask the GKE metadata server (components/cluster/gke_identity.py)
    need("<every pod>",                       "gke-metadata",                "80/TCP", when=on("gke")),
)


# Jobs that need no network at all (a throwaway server in their own pod): no row in NEEDS, no flow
ISOLATED_JOB_PREFIX = "restore-test-"


def outside_addresses(cfg: StackConfig) -> dict[str, str]:
    """Addresses beyond the cluster that pods might send to."""
    found = {"internet": "203.0.113.10", "private-network": "10.99.0.10", "gke-metadata": "169.254.169.254"}
    if cfg.platform == "gke":
        found["private-services"] = str(ipaddress.ip_network(cfg.gcp.private_service_cidr).network_address + 10)
    return found


GOOGLE_FRONT_ENDS = {"google-lb": "130.211.0.10", "google-health-check": "35.191.0.10"}


# --- roles --------------------------------------------------------------------------------------


@dataclass
class World:
    cfg: StackConfig
    cluster: Cluster
    objects: list[dict]

    def has(self, name: str) -> bool:
        return any(e.name == name for e in self.cluster.endpoints)

    def data_endpoint(self, service: str) -> tuple[str, int]:
        if self.has(service):
            pod = self.cluster.endpoint(service)
            return service, next(n for name, n, _ in pod.ports if name == "main")
        return "private-services", MANAGED_PORTS[service]


def _services(w: World) -> list[str]:
    return sorted(w.cfg.enabled_services)


def _web(w: World) -> dict[str, int]:
    return {n: s.port for n, s in w.cfg.enabled_services.items() if s.kind == "web"}


SOURCE_ROLES: dict[str, Callable[[World], Iterable[str]]] = {
    "<each service>": _services,
    "<each service holding an AI key>": lambda w: [
        n for n, s in w.cfg.enabled_services.items() if set(s.secrets) & set(w.cfg.secrets.provided)
    ],
    "<Google's load balancers>": lambda w: sorted(GOOGLE_FRONT_ENDS),
    "<each client of the vector database>": lambda w: [
        n for n, s in w.cfg.enabled_services.items() if "vectordb" in s.uses
    ],
    "<every pod>": lambda w: [e.name for e in w.cluster.endpoints if e.namespace == w.cfg.kubernetes.namespace],
}
TARGET_ROLES: dict[str, Callable[[World, str], Iterable[tuple[str, int]]]] = {
    "<the data services it uses>": lambda w, src: [w.data_endpoint(d) for d in w.cfg.enabled_services[src].uses],
    "<the other web services>": lambda w, src: [(n, p) for n, p in _web(w).items() if n != src],
    "<each routed service>": lambda w, src: [
        (n, s.port) for n, s in w.cfg.enabled_services.items() if s.kind == "web" and s.route is not None
    ],
    "<each scraped pod>": lambda w, src: sorted(
        {(pod.name, port) for t in scrape_targets(w.objects, w.cluster) for pod, port in t.pods}
    ),
}


def _ports(spec: str, its_port: int) -> list[tuple[int, str]]:
    if spec == ITS_PORT:
        return [(its_port, "TCP")]
    number, protocol = spec.split("/")
    return [(int(number), protocol)]


def needed_flows(w: World) -> set[Flow]:
    """NEEDS expanded for one stack."""
    flows: set[Flow] = set()
    later = []
    for row in NEEDS:
        if not row.when(w.cfg):
            continue
        if row.source == "<every pod that connects out>":
            later.append(row)
            continue
        sources = SOURCE_ROLES[row.source](w) if row.source in SOURCE_ROLES else [row.source]
        for source in sources:
            targets = TARGET_ROLES[row.target](w, source) if row.target in TARGET_ROLES else [(row.target, 0)]
            for target, its_port in targets:
                if not (w.has(source) and w.has(target)):
                    continue
                for spec in row.ports:
                    flows |= {Flow(source, target, n, proto) for n, proto in _ports(spec, its_port)}
    # every pod of the app namespace that connects to anything resolves names first
    app_pods = {e.name for e in w.cluster.endpoints if e.namespace == w.cfg.kubernetes.namespace}
    connecting = {f.source for f in flows if f.source in app_pods and f.destination != "gke-metadata"}
    for row in later:
        flows |= {Flow(s, row.target, *_ports(spec, 0)[0]) for s in connecting for spec in row.ports}
    return flows


# --- the tests ----------------------------------------------------------------------------------


def world_of(stack: str) -> World:
    plan = plan_of(stack)
    objects = k8s_objects(plan.capture.resources)
    releases = [r.inputs for r in plan.capture.of_type("kubernetes:helm.sh/v3:Release")]
    cfg = make_context(stack).config
    cluster = cluster_of(objects, releases, outside_addresses(cfg), GOOGLE_FRONT_ENDS)
    return World(cfg, cluster, objects)


@pytest.fixture(scope="module", params=KUBERNETES_STACKS)
def world(request) -> World:
    return world_of(request.param)


def test_every_needed_flow_is_allowed(world):
    missing = sorted(str(f) for f in needed_flows(world) if not world.cluster.allows(
        world.cluster.endpoint(f.source), world.cluster.endpoint(f.destination), f.port, f.protocol
    ))
    assert missing == [], "needed but blocked by the NetworkPolicies:\n" + "\n".join(missing)


def test_nothing_else_is_open(world):
    scope = {world.cfg.kubernetes.namespace}
    expected = {f for f in needed_flows(world)}
    extra = sorted(str(f) for f in world.cluster.open_flows(scope) - expected)
    assert extra == [], "open but not needed (add a row to NEEDS if it is needed):\n" + "\n".join(extra)


def test_the_app_namespace_denies_by_default(world):
    namespace = world.cfg.kubernetes.namespace
    deny = [
        p for p in world.cluster.policies
        if p["metadata"]["namespace"] == namespace and p["spec"].get("podSelector") in ({}, None)
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and not p["spec"].get("ingress") and not p["spec"].get("egress")
    ]
    assert deny, "no default-deny NetworkPolicy in the app namespace"


def test_every_named_workload_of_the_table_exists_in_some_stack():
    """A typo in NEEDS would silently drop its row: each literal name must be in some stack."""
    names = {e.name for stack in KUBERNETES_STACKS for e in world_of(stack).cluster.endpoints} | set(GOOGLE_FRONT_ENDS)
    for row in NEEDS:
        for name in (row.source, row.target):
            assert name in names or name in SOURCE_ROLES or name in TARGET_ROLES or name == "<every pod that connects out>", name


def test_every_job_and_cronjob_has_its_targets_in_the_table(world):
    """A Job or CronJob that NEEDS gives no target beyond DNS and the metadata server reaches
    nothing: each one the stack runs must have its own row (e.g. the MongoDB replica-set init)."""
    jobs = {
        (_dig_labels(o) or {}).get("app.kubernetes.io/name", o["metadata"]["name"])
        for o in world.objects if o["kind"] in ("Job", "CronJob")
    }
    targets = {f.source for f in needed_flows(world) if f.destination not in ("kube-dns", "gke-metadata")}
    # the restore tests talk to 127.0.0.1 inside their pod only (components/dr/restore_test_kubernetes.py):
    # nothing beyond what NEEDS gives every pod (the GKE metadata server)
    isolated = {j for j in jobs if j.startswith(ISOLATED_JOB_PREFIX)}
    open_to_them = sorted(str(f) for f in world.cluster.open_flows({world.cfg.kubernetes.namespace}) - needed_flows(world)
                          if {f.source, f.destination} & isolated)
    assert open_to_them == [], "isolated Jobs with open flows:\n" + "\n".join(open_to_them)
    jobs -= isolated
    assert jobs and jobs <= targets, f"Jobs with no flow of their own in NEEDS: {sorted(jobs - targets)}"


def _dig_labels(obj: dict) -> dict:
    template = obj["spec"]["template"] if obj["kind"] == "Job" else obj["spec"]["jobTemplate"]["spec"]["template"]
    return template["metadata"].get("labels") or {}
