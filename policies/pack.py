"""The policy pack's identity and contents, importable without starting the analyzer server.

`policies/__main__.py` passes these to `PolicyPack(...)`; tests and the offline plan import them
as `policies.pack`. Works as `pack` (CLI, `policies/` on sys.path) and as `policies.pack`.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel

if __package__:
    from .rules import ALL_POLICIES, ENVIRONMENT_SPECIFIC, POLICIES_BY_NAME
    from .rules.props import mark_engine_secrets
else:  # run by the Pulumi CLI from policies/__main__.py
    from rules import ALL_POLICIES, ENVIRONMENT_SPECIFIC, POLICIES_BY_NAME  # type: ignore[no-redef]
    from rules.props import mark_engine_secrets  # type: ignore[no-redef]

PACK_NAME = "ai-assistant-platform-policies"
#: Without a --policy-pack-config every rule blocks: the safe default for `pulumi up`. Each stack's
#: policies/config/<stack>.json lowers levels where the environment calls for it.
DEFAULT_ENFORCEMENT = EnforcementLevel.MANDATORY
DESCRIPTION = (
    "Security, reliability and DR checklist of the AI assistant platform (seeds 000-004): transport, WAF, "
    "data stores, backups/RPO, protection, availability, containers, secrets, network, storage, labels."
)

__all__ = [
    "ALL_POLICIES", "DEFAULT_ENFORCEMENT", "DESCRIPTION", "ENVIRONMENT_SPECIFIC", "PACK_NAME", "POLICIES_BY_NAME",
    "keep_secrets_marked", "pack_kwargs",
]


def keep_secrets_marked() -> None:
    """Make the analyzer hand rules a secret as "[secret]", as the offline plan does.

    The engine sends secrets wrapped in its secret signature; pulumi-policy 1.21.0's analyzer
    unwraps them to plain text before `validate` (policy.py: `deserialize_properties(...)` in
    Analyze and AnalyzeStack), so `no-plain-secret-env` could not see a secret under a neutral
    variable name or interpolated into ECS containerDefinitions, while the offline plan could.
    Wrapping the SDK's deserializer makes both paths judge the same values, and keeps plain-text
    secrets out of rule code (and so out of violation messages). Idempotent; the pack's gRPC test
    sends engine-encoded secrets to check it against the pinned SDK."""
    import pulumi_policy.policy as sdk

    original = sdk.deserialize_properties
    if getattr(original, "marks_engine_secrets", False):
        return

    def deserialize(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
        return original(mark_engine_secrets(props), proxy_secrets)

    deserialize.marks_engine_secrets = True  # type: ignore[attr-defined]
    sdk.deserialize_properties = deserialize


def pack_kwargs() -> dict[str, Any]:
    """The keyword arguments of the `PolicyPack` the CLI runs."""
    return {
        "name": PACK_NAME,
        "policies": list(ALL_POLICIES),
        "enforcement_level": DEFAULT_ENFORCEMENT,
        "description": DESCRIPTION,
        "display_name": "AI assistant platform policies",
        "tags": ["security", "reliability", "kubernetes", "gcp", "aws"],
    }
