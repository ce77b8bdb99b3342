"""Every GCP resource of every GCP stack uses the configured project and waits for its API.

What the engine waits for before it creates a resource is that resource's own dependencies (its
`depends_on` and the resources behind its inputs), transitively; a parent component's
`depends_on` is not inherited by its children. So the rule is checked on each resource's recorded
`dependencies`, not on the component tree. Invokes (provider functions) run at preview: one that
calls an API must wait, through its own dependencies, for that API too.
"""

from __future__ import annotations

import functools
import inspect
from typing import Iterable, Optional

import pulumi_gcp
import pytest

from components.gcp import BOOTSTRAP_API, api_of
from tests.helpers import plan_of
from tools.plan import available_stacks, read_stack_config

SERVICE = "gcp:projects/service:Service"
SERVICE_IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"

# Provider functions the GCP platforms may call, and the API each one calls (None: it answers from
# the provider's own configuration and calls nothing).
API_OF_INVOKE: dict[str, Optional[str]] = {
    "gcp:organizations/getProject:getProject": "cloudresourcemanager.googleapis.com",
    "gcp:organizations/getClientConfig:getClientConfig": None,
}


def stacks_of(*platforms: str) -> list[str]:
    """The shipped stacks whose file picks one of `platforms` (read from the file, not planned)."""
    stacks = []
    for stack in available_stacks():
        _, config, _, _ = read_stack_config(stack)
        if config.get("ai-assistant-platform:platform") in platforms:
            stacks.append(stack)
    return stacks


GCP_STACKS = stacks_of("cloudrun", "gke")


def test_the_gcp_stacks_are_found():
    assert {"staging", "prod", "prod-gke"} <= set(GCP_STACKS)


@functools.lru_cache(maxsize=None)
def _graph(stack: str):
    plan = plan_of(stack)
    by_urn = {r.urn: r for r in plan.capture.resources}
    return plan, by_urn


def _closure(by_urn, start: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        urn = todo.pop()
        if urn in seen or urn not in by_urn:
            continue
        seen.add(urn)
        todo.extend(by_urn[urn].dependencies)
    return seen


def _apis_waited_for(by_urn, start: Iterable[str]) -> set[str]:
    return {
        by_urn[u].inputs.get("service")
        for u in _closure(by_urn, start)
        if by_urn[u].type == SERVICE
    }


def _args_class(type_token: str):
    module, cls = type_token.split(":")[1].split("/")[0], type_token.split(":")[2]
    return getattr(getattr(pulumi_gcp, module), f"{cls}Args")


def _accepts_project(type_token: str) -> bool:
    return "project" in inspect.signature(_args_class(type_token).__init__).parameters


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_gcp_type_is_in_the_api_table(stack):
    plan, _ = _graph(stack)
    unknown = sorted({r.type for r in plan.capture.resources if r.type.startswith("gcp:") and r.custom
                      and api_of(r.type) is None})
    assert not unknown, f"{stack}: add these types to components/gcp API_OF_MODULE/API_OF_TYPE: {unknown}"


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_gcp_resource_uses_the_configured_project(stack):
    plan, _ = _graph(stack)
    project = plan.capture.outputs["project"]
    _, config, _, _ = read_stack_config(stack)
    assert project == config["gcp:project"]
    wrong = [
        f"{r.type} {r.name}: project={r.inputs.get('project')!r}"
        for r in plan.capture.resources
        if r.type.startswith("gcp:") and _accepts_project(r.type) and r.inputs.get("project") != project
    ]
    assert not wrong, f"{stack}: resources not in the configured project {project!r}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_gcp_resource_waits_for_the_api_it_calls(stack):
    plan, by_urn = _graph(stack)
    enabled = {r.inputs["service"] for r in plan.capture.resources if r.type == SERVICE}
    late = []
    for r in plan.capture.resources:
        if not r.type.startswith("gcp:") or r.type == SERVICE:
            continue
        needed = {api_of(r.type)} - {BOOTSTRAP_API}
        if r.type == SERVICE_IDENTITY:
            needed.add(r.inputs["service"])  # the agent of an API that must be on
        waited = _apis_waited_for(by_urn, r.dependencies)
        missing = needed - waited
        if missing:
            late.append(f"{r.type} {r.name}: does not wait for {sorted(missing)}")
        assert needed <= enabled, f"{stack}: {r.type} {r.name} needs {sorted(needed - enabled)}, never enabled"
    assert not late, f"{stack}: resources created before their API is enabled:\n" + "\n".join(late)


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_no_invoke_runs_before_the_api_it_calls(stack):
    plan, by_urn = _graph(stack)
    for call in plan.capture.invokes:
        if not call.token.startswith("gcp:"):
            continue
        assert call.token in API_OF_INVOKE, f"{stack}: invoke {call.token} is not in API_OF_INVOKE"
        api = API_OF_INVOKE[call.token]
        if api is not None:
            assert api in _apis_waited_for(by_urn, call.depends_on), (
                f"{stack}: invoke {call.token} runs at preview before {api} is enabled: give it "
                "InvokeOutputOptions(depends_on=<that API>) or use a resource instead"
            )


def test_the_budget_reads_the_project_number_only_once_resource_manager_is_on():
    """Budgets are off in the shipped stacks (no billing account): build the monitoring with one."""
    from components.platforms import gcp_wiring
    from components.platforms.cloudrun import required_apis
    from tests.gcp.support import run_gcp

    def build(context):
        foundation = gcp_wiring.build_foundation(
            context, "test-project", apis=required_apis(context), identities=[], subnets={"us-central1": "10.10.0.0/20"}
        )
        gcp_wiring.cloud_monitoring(
            foundation, "monitoring", routed={}, postgres=None, redis=None, exports=None, cloud_run=True
        )

    capture = run_gcp(build, "staging", {"monitoring": {"budgets": {"billingAccount": "012345-6789AB-CDEF01"}}})
    assert capture.of_type("gcp:billing/budget:Budget")
    by_urn = {r.urn: r for r in capture.resources}
    calls = [c for c in capture.invokes if c.token == "gcp:organizations/getProject:getProject"]
    assert calls
    for call in calls:
        assert "cloudresourcemanager.googleapis.com" in _apis_waited_for(by_urn, call.depends_on)
    for budget in capture.of_type("gcp:billing/budget:Budget"):
        assert "billingbudgets.googleapis.com" in _apis_waited_for(by_urn, budget.dependencies)


# Resource types whose names Google never releases after deletion (Cloud KMS keeps key rings
# and keys forever): a fixed name makes `up` after `destroy` fail with "already exists".
PERMANENT_NAME_TYPES = {"gcp:kms/keyRing:KeyRing"}  # a key's name is scoped by its ring


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_names_that_are_never_released_carry_a_per_instance_suffix(stack):
    plan, by_urn = _graph(stack)
    for r in plan.capture.resources:
        if r.type not in PERMANENT_NAME_TYPES:
            continue
        suffixes = [by_urn[u] for u in r.dependencies if u in by_urn and by_urn[u].type == "random:index/randomId:RandomId"]
        assert suffixes, f"{stack}: {r.type} {r.name} has a fixed name {r.inputs.get('name')!r}: a rebuild would conflict"
        assert r.inputs["name"].endswith("0a1b2c3d")  # the RandomId's hex (mocked)
