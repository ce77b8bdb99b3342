"""Shared test helpers: build a component alone under mocks, or plan a whole stack (cached)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi

from components.config import PROJECT, TOP_LEVEL_KEYS, StackContext, _decode, _deep_merge, parse_stack_config
from tools.harness import Capture, Registration, run_mocked
from tools.plan import REPO, Plan, read_stack_config, run_plan


def project_copy(directory: Path, stack_files: dict[str, str]) -> Path:
    """A copy of the project in `directory` (Pulumi.yaml, __main__.py) with the given stack files
    (stack name -> content), for stacks that must not appear among the shipped ones."""
    for name in ("Pulumi.yaml", "__main__.py"):
        (directory / name).write_text((REPO / name).read_text())
    for stack, text in stack_files.items():
        (directory / f"Pulumi.{stack}.yaml").write_text(text)
    return directory


# --- variants: a shipped stack with the vector database on (`dev+vectordb`) ------------------------

VECTORDB = "+vectordb"
VECTORDB_CLIENTS = ("api", "worker")  # seed 004: the orchestrator and its workers search vectors


def with_vectordb(stack: str) -> str:
    return f"{stack}{VECTORDB}"


def base_stack(stack: str) -> str:
    return stack.removesuffix(VECTORDB)


def variant_overrides(stack: str) -> dict[str, Any]:
    """What the `+vectordb` variant changes in its shipped stack: `data.vectordb.enabled` and the
    vector database in the `uses` of the api and the worker."""
    if not stack.endswith(VECTORDB):
        return {}
    services = _raw_of(base_stack(stack)).get("services", {})
    return {
        "data": {"vectordb": {"enabled": True}},
        "services": {
            name: {"uses": [*services[name].get("uses", []), "vectordb"]}
            for name in VECTORDB_CLIENTS
            if name in services
        },
    }


def vectordb_stacks(stacks: "list[str] | tuple[str, ...]") -> tuple[str, ...]:
    return tuple(with_vectordb(s) for s in stacks)


def _raw_of(stack: str) -> dict[str, Any]:
    _, config, _, _ = read_stack_config(stack)
    return {
        key.partition(":")[2]: _decode(value)
        for key, value in config.items()
        if key.partition(":")[0] == PROJECT and key.partition(":")[2] in TOP_LEVEL_KEYS
    }


@functools.lru_cache(maxsize=None)
def variant_project(stack: str) -> Path:
    """A copy of the project whose `Pulumi.<base>.yaml` is the variant's (same stack name, so the
    same physical names), with the policy pack's config beside it."""
    import tempfile

    import yaml

    base = base_stack(stack)
    directory = Path(tempfile.mkdtemp(prefix=f"variant-{base}-"))
    document = yaml.safe_load((REPO / f"Pulumi.{base}.yaml").read_text())
    config = document["config"]
    for key, value in variant_overrides(stack).items():
        full = f"{PROJECT}:{key}"
        config[full] = _deep_merge(config.get(full, {}), value)
    project_copy(directory, {base: yaml.safe_dump(document, sort_keys=False)})
    (directory / "policies").symlink_to(REPO / "policies")
    return directory


def stack_raw_config(stack: str, overrides: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The structured project config of a shipped stack file (or its `+vectordb` variant), with
    `overrides` deep-merged."""
    if stack.endswith(VECTORDB):
        return _deep_merge(_deep_merge(_raw_of(base_stack(stack)), variant_overrides(stack)), overrides or {})
    _, config, _, _ = read_stack_config(stack)
    raw = {
        key.partition(":")[2]: _decode(value)
        for key, value in config.items()
        if key.partition(":")[0] == PROJECT and key.partition(":")[2] in TOP_LEVEL_KEYS
    }
    return _deep_merge(raw, overrides or {})


def make_context(stack: str = "dev", overrides: Optional[dict[str, Any]] = None) -> StackContext:
    """A StackContext for a shipped stack (optionally altered). Call it inside a mocked program:
    provided secrets become secret Outputs with a placeholder value."""
    config = parse_stack_config(stack_raw_config(stack, overrides), f"Pulumi.{base_stack(stack)}.yaml")
    provided = {name: pulumi.Output.secret(f"placeholder-{name.lower()}") for name in config.secrets.provided}
    return StackContext(project=PROJECT, stack=base_stack(stack), config=config, provided_secrets=provided)


def run_component(
    build: Callable[[StackContext], Any],
    stack: str = "dev",
    overrides: Optional[dict[str, Any]] = None,
) -> Capture:
    """Run `build(context)` alone under mocks and return what it registered."""
    return run_mocked(lambda: build(make_context(stack, overrides)), project=PROJECT, stack=base_stack(stack))


def problems_of(stack: str, overrides: Optional[dict[str, Any]] = None) -> list:
    """`components.platform.config_problems` of a shipped stack (optionally altered), inside a mocked
    program with the stack's engine config (the GCP adapters read `gcp:project` from it); asserts
    that finding them registered nothing."""
    from components.platform import config_problems

    project, config, secret_keys, _ = read_stack_config(stack)
    found: list = []

    def program():
        parsed = parse_stack_config(stack_raw_config(stack, overrides), f"Pulumi.{stack}.yaml")
        found.extend(config_problems(parsed, stack))

    capture = run_mocked(program, project=project, stack=stack, config=config, secret_keys=secret_keys)
    assert not capture.resources, "problems must not register anything"
    return found


def problem_lines(stack: str, overrides: Optional[dict[str, Any]] = None) -> str:
    """The problems of `problems_of`, as the lines of the ConfigError the loader would raise."""
    return "\n".join(p.line() for p in problems_of(stack, overrides))


@functools.lru_cache(maxsize=None)
def plan_of(stack: str) -> Plan:
    """The offline plan of a shipped stack (or its `+vectordb` variant), computed once per test session."""
    if stack.endswith(VECTORDB):
        return run_plan(base_stack(stack), variant_project(stack))
    return run_plan(stack)


def dig(mapping: Any, path: str, default: Any = None) -> Any:
    """dig(inputs, "spec.template.spec.containers.0.image")"""
    node = mapping
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return default
    return node


def k8s_objects(resources: list[Registration]) -> list[dict[str, Any]]:
    """Kubernetes objects (apiVersion/kind/metadata/...) among registrations, as manifests."""
    return [r.inputs for r in resources if r.custom and r.type.startswith("kubernetes:") and "kind" in r.inputs]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def validate_k8s(objects: list[dict[str, Any]], version: str = "1.34") -> list[str]:
    """kubernetes-validate --strict over built-in kinds; returns the failures (empty = valid).

    Custom resources (CRDs) have no schema there and are skipped; a Secret's data arrives as one
    "[secret]" string in the plan, so an empty map stands in for it."""
    import kubernetes_validate

    failures = []
    for obj in objects:
        if "." in obj.get("apiVersion", "v1").split("/")[0] and not obj["apiVersion"].startswith(
            ("apps/", "batch/", "autoscaling/", "policy/", "networking.k8s.io/", "rbac.authorization.k8s.io/",
             "storage.k8s.io/", "scheduling.k8s.io/")
        ):
            continue
        candidate = dict(obj)
        for key in ("data", "stringData"):
            if candidate.get(key) == "[secret]":
                candidate[key] = {}
        try:
            kubernetes_validate.validate(candidate, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            failures.append(f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}: {err.message}")
    return failures
