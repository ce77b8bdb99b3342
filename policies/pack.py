"""The policy pack's identity and contents, importable without starting the analyzer server.

`policies/__main__.py` passes these to `PolicyPack(...)`; tests and the offline plan import them
as `policies.pack`. Works as `pack` (CLI, `policies/` on sys.path) and as `policies.pack`.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel

if __package__:
    from .rules import ALL_POLICIES, ENVIRONMENT_SPECIFIC, POLICIES_BY_NAME
else:  # run by the Pulumi CLI from policies/__main__.py
    from rules import ALL_POLICIES, ENVIRONMENT_SPECIFIC, POLICIES_BY_NAME  # type: ignore[no-redef]

PACK_NAME = "ai-assistant-platform-policies"
#: Without a --policy-pack-config every rule blocks: the safe default for `pulumi up`. Each stack's
#: policies/config/<stack>.json lowers levels where the environment calls for it.
DEFAULT_ENFORCEMENT = EnforcementLevel.MANDATORY
DESCRIPTION = (
    "Security, reliability and DR checklist of the AI assistant platform (seeds 000-004): transport, WAF, "
    "data stores, backups/RPO, protection, availability, containers, secrets, network, storage, labels."
)

__all__ = ["ALL_POLICIES", "DEFAULT_ENFORCEMENT", "DESCRIPTION", "ENVIRONMENT_SPECIFIC", "PACK_NAME", "POLICIES_BY_NAME", "pack_kwargs"]


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
