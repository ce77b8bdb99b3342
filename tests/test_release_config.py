"""services.<name>.release: seed 001/002 defaults per environment, and what is refused."""

from __future__ import annotations

import pytest

from tests.test_config import error_of, parse


@pytest.mark.parametrize(
    ("stack", "web", "minutes"),
    [("dev", "rolling", None), ("staging", "canary", 5), ("prod", "canary", 30), ("prod-aws", "canary", 30)],
)
def test_web_services_default_per_environment_and_workers_stay_rolling(stack, web, minutes):
    config = parse(stack=stack)
    for name, svc in config.enabled_services.items():
        release = svc.release
        if svc.kind == "worker":
            assert release.strategy == "rolling", name
            continue
        assert release.strategy == web, name
        if minutes is not None:
            assert release.step_minutes == minutes, name
        # seed 001 steps and seed 002 triggers
        assert release.canary_steps == (10, 25, 50, 100)
        rb = release.rollback
        assert (rb.automatic, rb.consecutive_health_failures) == (True, 3)
        assert (rb.error_rate_percent, rb.error_rate_minutes) == (5.0, 5)
        assert (rb.latency_p95_seconds, rb.latency_minutes) == (5.0, 10)


def test_a_stack_file_overrides_the_release():
    config = parse({"services": {"api": {"release": {"strategy": "blueGreen", "stepMinutes": 12}}}}, stack="prod")
    assert config.services["api"].release.strategy == "blueGreen"
    assert config.services["api"].release.step_minutes == 12
    assert config.services["frontend"].release.strategy == "canary"


@pytest.mark.parametrize(
    ("release", "fragment"),
    [
        ({"canarySteps": [10, 50]}, "end at 100"),
        ({"canarySteps": [50, 25, 100]}, "increasing"),
        ({"canarySteps": [0, 100]}, "from 1 to 100"),
        ({"strategy": "shadow"}, "rolling"),
        ({"rollback": {"errorRatePercent": 0}}, "greater than 0"),
    ],
)
def test_bad_release_settings_are_refused(release, fragment):
    message = error_of({"services": {"api": {"release": release}}}, stack="prod")
    assert "services.api.release" in message and fragment in message


def test_a_worker_cannot_be_a_canary():
    message = error_of({"services": {"worker": {"release": {"strategy": "canary"}}}}, stack="prod")
    assert "services.worker" in message and "workers are released rolling" in message
