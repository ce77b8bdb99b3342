"""Service-to-service calls on Cloud Run: every caller -> callee pair a stack's config declares
(`services.<caller>.calls`) is reachable on the path the caller's egress really takes, and
nothing else gets the callee's URL or may invoke it.

The model of Cloud Run networking the test applies (Google's "Private networking and Cloud Run"):
- a caller with Direct VPC egress `ALL_TRAFFIC` sends everything through the VPC; with
  `PRIVATE_RANGES_ONLY` only private destinations (RFC 1918, RFC 6598, and the Private Google
  Access ranges 199.36.153.4/30 and 199.36.153.8/30); anything else leaves directly (internet);
- a `*.run.app` URL resolves to public Google addresses unless a private Cloud DNS zone visible
  to the caller's VPC maps it (apex A records plus a `*.` CNAME) into a Private Google Access range
  that the VPC routes to the default internet gateway;
- traffic through the VPC reaches Cloud Run as internal only over Private Google Access, which the
  caller's subnet must have on;
- callee ingress: `INTERNAL_ONLY` admits internal traffic only; `INTERNAL_LOAD_BALANCER` admits
  internal traffic and Google's load balancers; `ALL` admits anything.
"""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from tests.gcp.test_api_order import stacks_of
from tests.helpers import make_context, plan_of, project_copy
from tools.mocks import FAKE_GCP_PROJECT_NUMBER
from tools.plan import REPO, run_plan

RUN_SERVICE = "gcp:cloudrunv2/service:Service"
RUN_POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
PRIVATE_EGRESS_RANGES = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "199.36.153.4/30", "199.36.153.8/30")]
PGA_RANGES = [ipaddress.ip_network(n) for n in ("199.36.153.4/30", "199.36.153.8/30")]
ADMITS = {
    "INGRESS_TRAFFIC_INTERNAL_ONLY": {"internal"},
    "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER": {"internal", "load-balancer"},
    "INGRESS_TRAFFIC_ALL": {"internal", "load-balancer", "internet"},
}

CLOUDRUN_STACKS = stacks_of("cloudrun")


def _of(plan, *types):
    return [r for r in plan.capture.resources if r.type in types]


def _in(ranges, address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in ranges)


def _run_app_addresses(plan, network: str) -> list[str]:
    """What `<name>.run.app` resolves to inside `network` (private zones), or [] (public DNS)."""
    zones = [
        z for z in _of(plan, "gcp:dns/managedZone:ManagedZone")
        if z.inputs.get("dnsName") == "run.app." and z.inputs.get("visibility") == "private"
        and network in [n.get("networkUrl") for n in z.inputs.get("privateVisibilityConfig", {}).get("networks", [])]
    ]
    if not zones:
        return []
    names = {z.inputs["name"] for z in zones}
    records = {
        (r.inputs["name"], r.inputs["type"]): r.inputs["rrdatas"]
        for r in _of(plan, "gcp:dns/recordSet:RecordSet")
        if r.inputs.get("managedZone") in names
    }
    if records.get(("*.run.app.", "CNAME")) != ["run.app."]:
        return []
    return records.get(("run.app.", "A"), [])


def _routed_to_internet_gateway(plan, network: str, address: str) -> bool:
    return any(
        r.inputs.get("network") == network and r.inputs.get("nextHopGateway") == "default-internet-gateway"
        and ipaddress.ip_address(address) in ipaddress.ip_network(r.inputs["destRange"])
        for r in _of(plan, "gcp:compute/route:Route")
    )


def _path(plan, caller) -> str:
    """'internal' or 'internet': how a call from `caller` to a run.app URL arrives at Cloud Run."""
    access = caller.inputs["template"].get("vpcAccess")
    if not access:
        return "internet"
    interface = access["networkInterfaces"][0]
    network, subnet_id = interface["network"], interface["subnetwork"]
    subnets = [s for s in _of(plan, "gcp:compute/subnetwork:Subnetwork") if f"{s.name}-id" == subnet_id]
    pga = bool(subnets) and subnets[0].inputs.get("privateIpGoogleAccess") is True
    egress = access.get("egress", "PRIVATE_RANGES_ONLY")
    if egress == "ALL_TRAFFIC":
        return "internal" if pga else "internet"
    addresses = _run_app_addresses(plan, network)
    through_vpc = bool(addresses) and all(
        _in(PRIVATE_EGRESS_RANGES, a) and _in(PGA_RANGES, a) and _routed_to_internet_gateway(plan, network, a)
        for a in addresses
    )
    return "internal" if through_vpc and pga else "internet"


def _resource(plan, prefix: str, name: str, region: str):
    found = [r for r in _of(plan, RUN_SERVICE, RUN_POOL)
             if r.inputs["name"] == f"{prefix}-{name}" and r.inputs["location"] == region]
    assert len(found) == 1, f"no Cloud Run resource for {name} in {region}"
    return found[0]


def _env(resource) -> dict:
    return {e["name"]: e.get("value") for e in resource.inputs["template"]["containers"][0].get("envs", [])}


@pytest.mark.parametrize("stack", CLOUDRUN_STACKS)
def test_every_declared_call_is_admitted_by_the_callee_ingress(stack):
    plan = plan_of(stack)
    context = make_context(stack)
    cfg = context.config
    pairs = [(caller, callee) for caller, svc in cfg.enabled_services.items() for callee in svc.calls]
    assert pairs, f"{stack} declares no service calls"
    regions = [cfg.regions.primary] + ([cfg.regions.secondary] if cfg.regions.secondary else [])
    for region in regions:
        for caller_name, callee_name in pairs:
            caller = _resource(plan, context.prefix, caller_name, region)
            callee = _resource(plan, context.prefix, callee_name, region)
            path = _path(plan, caller)
            assert path in ADMITS[callee.inputs["ingress"]], (
                f"{stack}/{region}: {caller_name} -> {callee_name}: the call arrives as {path} traffic, "
                f"{callee.inputs['ingress']} rejects it"
            )
            endpoint = f"{callee_name.upper().replace('-', '_')}_ENDPOINT"
            assert _env(caller).get(endpoint) == deterministic_url(plan, callee.inputs["name"], region)


def deterministic_url(plan, service: str, region: str) -> str:
    """The URL Cloud Run gives `service` before it exists: `https://<name>-<project number>.<region>.run.app`,
    only while `<name>-<project number>` fits one DNS label (63 characters)."""
    assert [c for c in plan.capture.invokes if c.token == "gcp:organizations/getProject:getProject"]
    label = f"{service}-{FAKE_GCP_PROJECT_NUMBER}"  # the number getProject answers under mocks
    assert len(label) <= 63 and len(f"{service}-{'9' * 12}") <= 63, f"{label}: no deterministic URL"
    return f"https://{label}.{region}.run.app"


def test_services_that_call_each_other_plan_and_wait_for_neither(tmp_path):
    """A cycle of calls (alpha <-> beta, alpha -> api) plans through the program's loader: every
    caller has its callee's URL before either exists, and waits for no other service."""
    document = yaml.safe_load((REPO / "Pulumi.staging.yaml").read_text())
    services = document["config"]["ai-assistant-platform:services"]
    for name, calls, port in (("alpha", ["beta", "api"], 8080), ("beta", ["alpha"], 8081)):
        services[name] = {"image": "ghcr.io/ai-assistant-platform/api:1.0.0", "port": port, "cpu": "1",
                          "memory": "1Gi", "minReplicas": 1, "maxReplicas": 2, "calls": calls}
    project_copy(tmp_path, {"staging": yaml.safe_dump(document)})
    plan = run_plan("staging", project_dir=tmp_path, evaluate_policies=False)
    prefix = make_context("staging").prefix
    by_urn = {r.urn: r for r in plan.capture.resources}
    for caller, callee in (("alpha", "beta"), ("beta", "alpha"), ("alpha", "api")):
        resource = _resource(plan, prefix, caller, "us-central1")
        assert _env(resource)[f"{callee.upper()}_ENDPOINT"] == deterministic_url(plan, f"{prefix}-{callee}", "us-central1")
        waited = {by_urn[u].inputs.get("name") for u in resource.dependencies if by_urn[u].type in (RUN_SERVICE, RUN_POOL)}
        assert not waited, f"{caller} waits for {waited}"


@pytest.mark.parametrize("stack", CLOUDRUN_STACKS)
def test_only_callers_get_the_endpoint_and_the_invoker_role(stack):
    plan = plan_of(stack)
    context = make_context(stack)
    cfg = context.config
    internal = {n for n, s in cfg.enabled_services.items() if s.kind == "web" and s.route is None}
    invokers = {}
    for member in _of(plan, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"):
        assert member.inputs["role"] == "roles/run.invoker"
        invokers.setdefault((member.inputs["name"], member.inputs["location"]), set()).add(member.inputs["member"])
    for resource in _of(plan, RUN_SERVICE, RUN_POOL):
        name = resource.inputs["name"].removeprefix(f"{context.prefix}-")
        endpoints = {k for k in _env(resource) if k.endswith("_ENDPOINT")}
        assert endpoints == {f"{c.upper().replace('-', '_')}_ENDPOINT" for c in cfg.enabled_services[name].calls}
    for callee in internal:
        callers = {c for c, s in cfg.enabled_services.items() if callee in s.calls}
        for region in [cfg.regions.primary] + ([cfg.regions.secondary] if cfg.regions.secondary else []):
            expected = {f"serviceAccount:{context.prefix}-{c}@offline-plan-project.iam.gserviceaccount.com"
                        for c in callers}
            assert invokers.get((f"{context.prefix}-{callee}", region), set()) == expected


@pytest.mark.parametrize("stack", CLOUDRUN_STACKS)
def test_a_service_that_calls_nothing_waits_for_no_other_service(stack):
    """The frontend calls nothing: it must not wait for MCP (and, through it, for Cloud SQL)."""
    plan = plan_of(stack)
    by_urn = {r.urn: r for r in plan.capture.resources}
    context = make_context(stack)
    for name, svc in context.config.enabled_services.items():
        if svc.calls:
            continue
        resource = _resource(plan, context.prefix, name, context.config.regions.primary)
        waited = {by_urn[u].inputs.get("name") for u in resource.dependencies if u in by_urn
                  and by_urn[u].type in (RUN_SERVICE, RUN_POOL)}
        assert not waited, f"{stack}: {name} calls nothing but waits for {waited}"


def test_a_call_to_a_worker_or_to_itself_is_refused():
    from components.config import ConfigError

    with pytest.raises(ConfigError, match="calls: 'worker' is not another enabled web service"):
        make_context("staging", {"services": {"api": {"calls": ["worker"]}}})
    with pytest.raises(ConfigError, match="calls: 'api' is not another enabled web service"):
        make_context("staging", {"services": {"api": {"calls": ["api"]}}})


def test_the_cloud_run_stacks_are_found():
    assert {"staging", "prod"} <= set(CLOUDRUN_STACKS)
