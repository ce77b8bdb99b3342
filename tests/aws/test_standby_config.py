"""`aws.standby`: which stacks run a standby in regions.secondary, by default and when set."""

from __future__ import annotations

import pytest

from tests.helpers import make_context  # loads components.config first (it imports the platform settings)
from components.platforms.aws_settings import standby_mode  # noqa: E402


@pytest.mark.parametrize("stack, overrides, mode", [
    ("prod-aws", None, "warm"),  # prod with a secondary region: the seeds' RTO needs a running standby
    ("prod-aws", {"aws": {"standby": {"mode": "pilotLight"}}}, "pilotLight"),
    ("prod-aws", {"regions": {"secondary": None}}, "off"),  # nowhere to stand by
    ("staging-aws", None, "off"),  # no secondary region in staging
])
def test_the_standby_mode_follows_the_environment_and_the_secondary_region(stack, overrides, mode):
    assert standby_mode(make_context(stack, overrides).config) == mode
