"""What an ECS task needs to start and run, checked on every task definition of every stack plan.

Mocks accept a service that starts before its secrets have a value, or a non-root container
whose only writable path is a root-owned volume; ECS does not (the first `up` ends with no task).
"""

import json
import re

import pytest

from components.config import PROJECT, parse_stack_config
from tests.helpers import plan_of, stack_raw_config
from tools.harness import Registration
from tools.mocks import _aws_arn
from tools.plan import available_stacks, read_stack_config

TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROLE = "aws:iam/role:Role"
ROLE_GRANTS = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")

# What each kind of image writes at run time (independent of the code's own table on purpose):
# Python: tempfile, gunicorn's worker heartbeat (worker_tmp_dir), the queue worker's heartbeat file;
# Next.js (standalone server, WORKDIR /app): the image-optimisation / ISR cache and the temp dir.
WRITES = {"python": {"/tmp"}, "nextjs": {"/tmp", "/app/.next/cache"}}

# the stacks whose platform is ECS (read from the stack files, without planning at collection)
ECS_STACKS = [s for s in available_stacks() if read_stack_config(s)[1].get(f"{PROJECT}:platform") == "ecs"]


def _closure(reg: Registration, by_urn: dict[str, Registration]) -> set[str]:
    """Every URN `reg` waits for, directly or through what it waits for."""
    seen: set[str] = set()
    stack = list(reg.dependencies)
    while stack:
        urn = stack.pop()
        if urn in seen:
            continue
        seen.add(urn)
        if urn in by_urn:
            stack.extend(by_urn[urn].dependencies)
            # a dependency on a component is a dependency on all of its children
            stack.extend(r.urn for r in by_urn.values() if r.parent == urn)
    return seen


def _replicated(arn: str, arns: dict[str, Registration]) -> Registration | None:
    """The secret whose replica in the ARN's region `arn` names (the DR standby reads replicas): the
    same ARN in the mocks' region, with a replica in that region."""
    parts = arn.split(":")[:7]
    source = arns.get(":".join([*parts[:3], "us-east-1", *parts[4:]]))
    replicas = (source.inputs.get("replicas") or []) if source is not None else []
    return source if any(r.get("region") == parts[3] for r in replicas) else None


def _arn_index(resources: list[Registration]) -> dict[str, Registration]:
    """ARN -> resource, as the offline plan's mocks compute ARNs (or the resource's own `arn`)."""
    return {r.inputs.get("arn") or _aws_arn(r.type, r.name): r for r in resources if r.custom and r.type.startswith("aws:")}


def _task_services(plan):
    """(service, its task definition, the task's containers) for every ECS service of the plan."""
    by_urn = {r.urn: r for r in plan.capture.resources}
    arns = _arn_index(plan.capture.resources)
    for service in plan.capture.of_type(SERVICE):
        task = arns[service.inputs["taskDefinition"]]
        assert task.type == TASK, service.urn
        yield service, task, json.loads(task.inputs["containerDefinitions"]), by_urn, arns


def test_every_stack_with_ecs_is_checked():
    assert "prod-aws" in ECS_STACKS


@pytest.mark.parametrize("stack", ECS_STACKS)
def test_every_service_waits_for_the_secret_values_and_grants_its_tasks_read(stack):
    plan = plan_of(stack)
    versions = plan.capture.of_type(SECRET_VERSION)
    checked = 0
    for service, task, containers, by_urn, arns in _task_services(plan):
        waits_for = _closure(service, by_urn)
        # a canary/blue-green release outlasts `up`: the deploy workflow's release wait watches it
        # (tests/test_workflows.py::test_deploy_waits_for_every_release)
        shifting = "advancedConfiguration" in (service.inputs.get("loadBalancers") or [{}])[0]
        # the DR standby's tasks may not turn healthy before a failover (its data are replicas):
        # its ALB's Route 53 health check watches it, `up` must not hang on it (components/app/ecs.py)
        standby = (service.inputs.get("tags") or {}).get("dr-role") == "standby"
        assert service.inputs.get("waitForSteadyState") is not (shifting or standby), (
            f"{service.urn}: `up` would not see tasks fail"
        )
        for container in containers:
            for secret in container.get("secrets", []):
                # arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json-key>:<stage>:<version>]
                source = arns.get(":".join(secret["valueFrom"].split(":")[:7])) or _replicated(secret["valueFrom"], arns)
                assert source is not None and source.type == SECRET, f"{container['name']}: {secret['valueFrom']}"
                written = [v for v in versions if source.urn in v.dependencies]
                assert written, f"{source.name} has no SecretVersion: the task would read an empty secret"
                assert any(v.urn in waits_for for v in written), (
                    f"{service.name} can start before the value of {secret['name']} ({source.name}) is written"
                )
                checked += 1
        role = arns[task.inputs["executionRoleArn"]]
        assert role.type == ROLE
        grants = [r for r in plan.capture.resources if r.type in ROLE_GRANTS and role.urn in r.dependencies]
        assert grants, f"{role.name} has no policy"
        for grant in grants:
            assert grant.urn in waits_for, f"{service.name} can start before {grant.name} lets its agent pull and read"
    assert checked


def _writable_for(init: dict, path: str, user: str) -> bool:
    """Does the init container's command make `path` writable for `user`: mode ...7 (everyone may
    write), or chown to the user with an owner-writable mode?"""
    command = " ".join(init.get("entryPoint", []) + init.get("command", []))
    world = re.search(r"chmod (\d?[0-7][0-7]7) ([^&;|]+)", command)
    if world and path in world.group(2).split():
        return True
    owner = re.search(r"chown (\d+)(:\d+)? ([^&;|]+)", command)
    return bool(owner and owner.group(1) == user and path in owner.group(3).split())


@pytest.mark.parametrize("stack", ECS_STACKS)
def test_every_path_a_container_writes_is_made_writable_for_its_user_before_it_starts(stack):
    plan = plan_of(stack)
    runtimes = parse_stack_config(stack_raw_config(stack), f"Pulumi.{stack}.yaml").aws.runtimes
    for service, task, containers, _, _ in _task_services(plan):
        volumes = {v["name"] for v in task.inputs.get("volumes", [])}
        by_name = {c["name"]: c for c in containers}
        app = by_name[service.inputs["name"]]
        writes = WRITES[runtimes.get(service.inputs["name"], "python")]
        assert app["user"] not in ("", "0", "root") and app["readonlyRootFilesystem"] is True
        mounts = {m["containerPath"]: m for m in app.get("mountPoints", [])}
        for path in writes:
            mount = mounts.get(path)
            assert mount and mount["readOnly"] is False and mount["sourceVolume"] in volumes, f"{app['name']}: {path}"
            preparers = [
                c for c in containers
                if c is not app and c.get("essential") is False
                and {"sourceVolume": mount["sourceVolume"], "containerPath": path, "readOnly": False} in c.get("mountPoints", [])
                and _writable_for(c, path, app["user"].split(":")[0])
            ]
            assert preparers, f"{app['name']}: nothing makes {path} writable for user {app['user']}"
            waited = {d["containerName"]: d["condition"] for d in app.get("dependsOn", [])}
            assert any(waited.get(p["name"]) == "SUCCESS" for p in preparers), (
                f"{app['name']} may start before {path} is writable (dependsOn condition must be SUCCESS)"
            )
            for init in preparers:
                assert re.search(r"(:[A-Za-z0-9_.-]+|@sha256:[a-f0-9]{64})$", init["image"]), init["image"]
                assert not init["image"].endswith(":latest")
                assert init["readonlyRootFilesystem"] is True
                assert init["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
                assert not init.get("secrets") and not init.get("portMappings")
