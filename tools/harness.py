"""Run Pulumi program code under mocks and record every registration.

Used by the offline plan (the whole program) and by the tests (one component at a time). The
recording monitor sees what the engine would see: type, name, parent, `protect`, dependencies and
the serialized (camelCase) inputs, where secrets are still marked. Secret values are replaced by
"[secret]" before anything is stored, so nothing downstream can print them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import ROOT, get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from tools.mocks import PlanMocks

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ASSET_SIGS = {"c44067f5952c0a294b673a41bacd8c17", "0def7320c3a5731c473e5ecbe6d01bc7"}
SIG_KEY = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

SECRET_PLACEHOLDER = "[secret]"
UNKNOWN_PLACEHOLDER = "[unknown]"


def redact(value: Any) -> Any:
    """Serialized property value -> plain JSON, secrets as "[secret]", unknowns as "[unknown]"."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return SECRET_PLACEHOLDER
        if sig == RESOURCE_SIG:
            return value.get("urn")
        if sig in ASSET_SIGS:
            return {k: redact(v) for k, v in value.items() if k != SIG_KEY}
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if value == UNKNOWN:
        return UNKNOWN_PLACEHOLDER
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Structs carry every number as a double
    return value


@dataclass
class Registration:
    """One registered resource, as the plan's JSON contract describes it."""

    urn: str
    type: str
    name: str
    parent: Optional[str]
    custom: bool
    protect: bool
    dependencies: list[str]
    inputs: dict[str, Any]
    # the provider reference ("<provider urn>::<id>", "" for the default provider); tests use it,
    # the plan's JSON contract does not carry it
    provider: str = ""
    # the `ignore_changes` option (engine property paths); not part of the JSON contract either
    ignore_changes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "protect": self.protect,
            "dependencies": self.dependencies,
            "inputs": self.inputs,
        }


@dataclass
class InvokeCall:
    """One provider function call (an invoke) and the resources the engine would wait for before
    running it (its `depends_on` and the resources behind its inputs, components expanded)."""

    token: str
    depends_on: list[str]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps each registration's options and redacted inputs, in order, and
    every invoke with what it waits for."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.invokes: list[InvokeCall] = []
        self.stack_urn: Optional[str] = None

    def GetDeploymentInfo(self, request):  # noqa: N802 (gRPC method name)
        # Announce invoke gating, as the real engine does: the SDK then sends each invoke's
        # dependencies with the request instead of deciding client-side, so they can be recorded.
        info = super().GetDeploymentInfo(request)
        info.supportedFeatures.append(resource_pb2.RESOURCE_MONITOR_FEATURE_INVOKE_DEPENDS_ON)
        return info

    def Invoke(self, request):  # noqa: N802 (gRPC method name)
        self.invokes.append(InvokeCall(token=request.tok, depends_on=sorted(set(request.dependsOn))))
        return super().Invoke(request)

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
            return response
        inputs = redact(json_format.MessageToDict(request.object, preserving_proto_field_name=True))
        parent = request.parent or None
        self.registrations.append(
            Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=None if parent == self.stack_urn else parent,
                custom=bool(request.custom),
                protect=bool(request.protect),
                dependencies=sorted(set(request.dependencies)),
                inputs=inputs,
                provider=request.provider,
                ignore_changes=list(request.ignoreChanges),
            )
        )
        return response


@dataclass
class Capture:
    """Everything a mocked run produced."""

    resources: list[Registration]
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[InvokeCall] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: Optional[str] = None) -> Registration:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_token)]
            raise AssertionError(f"expected one {type_token} named {name!r}, found {names}")
        return found[0]


def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        if _sync_await(output.is_secret()):
            resolved[key] = SECRET_PLACEHOLDER
        else:
            known = _sync_await(output.is_known())
            resolved[key] = _sync_await(output.future()) if known else UNKNOWN_PLACEHOLDER
    return resolved


def run_mocked(
    program: Callable[[], Any],
    *,
    project: str,
    stack: str,
    config: Optional[dict[str, str]] = None,
    secret_keys: Optional[list[str]] = None,
    preview: bool = True,
) -> Capture:
    """Run `program` under mocks (as a `pulumi preview` would) and return what it registered.

    `config` maps full keys (`project:key`) to string values, as the engine passes them.
    Exceptions raised by the program propagate after outstanding work has settled.
    """
    ROOT.set(None)
    monitor = RecordingMonitor(PlanMocks())
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    set_all_config(dict(config or {}), list(secret_keys or []))
    _sync_await(run_pulumi_func(program))
    root = get_root_resource()
    outputs = _resolve_outputs(getattr(root, "outputs", {}) or {})
    return Capture(resources=list(monitor.registrations), outputs=outputs, invokes=list(monitor.invokes))
