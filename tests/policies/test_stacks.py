"""Every shipped stack meets the pack: no mandatory violation anywhere; staging and the production
stacks have no advisory one either, unless the policy is waived (with a reason) in the stack's
policy config. Uses the cached offline plans (tests.helpers.plan_of), one per stack per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.offline import load_config
from tests.helpers import plan_of, stack_raw_config
from tools.plan import available_stacks

REPO = Path(__file__).resolve().parents[2]
STACKS = available_stacks()
STRICT = tuple(s for s in STACKS if stack_raw_config(s).get("environment") != "dev")


def _lines(violations: list[dict]) -> str:
    return "\n".join(f"[{v['policy']}] {v['message']} at {v['urn']}" for v in violations)


@pytest.mark.parametrize("stack", STACKS)
def test_no_mandatory_violations(stack: str) -> None:
    mandatory = plan_of(stack).mandatory
    assert not mandatory, "\n" + _lines(mandatory)


@pytest.mark.parametrize("stack", [s for s in STACKS if s in STRICT])
def test_no_unwaived_advisories(stack: str) -> None:
    waived = set(load_config(stack, REPO).waivers)
    advisory = [v for v in plan_of(stack).violations if v["enforcement"] == "advisory" and v["policy"] not in waived]
    assert not advisory, "\n" + _lines(advisory)


@pytest.mark.parametrize("stack", STACKS)
def test_the_pack_actually_looked_at_the_stack(stack: str) -> None:
    """Guard against a vacuous pass: the plan has resources the rules are written for."""
    from policies.pack import ALL_POLICIES

    types = {r.type for r in plan_of(stack).capture.resources if r.custom}
    covered = set()
    for policy in ALL_POLICIES:
        applies = getattr(policy, "applies", None)
        covered |= {t for t in types if (applies(t) if applies else t in policy.info.types)}
    assert len(covered) >= 5, sorted(types)


@pytest.mark.parametrize("stack", [s for s in STACKS if s in STRICT])
def test_the_smoke_test_finds_a_url_for_every_routed_service(stack: str) -> None:
    """deploy-lane.yml smoke-tests a staging stack from its `urls` output (.github/scripts/smoke.py):
    every cloud stack exports one https URL per routed service."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("smoke", REPO / ".github" / "scripts" / "smoke.py")
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)  # type: ignore[union-attr]
    urls = plan_of(stack).capture.outputs["urls"]
    checks = smoke.health_checks(stack, urls)
    assert checks and all(url.startswith("https://") for _, url in checks)
