"""Releases on Cloud Run: the release contract on every service of every cloudrun stack, Pulumi out
of the release loop's way (traffic), and the loop's triggers read from `services.<name>.release`
(components/app/cloudrun_release.py, tools/release.py)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from components.app.cloudrun_release import Minute, breach, release_labels
from components.config import RollbackConfig
from tests.helpers import make_context, plan_of
from tools.plan import available_stacks, read_stack_config
from tools.release import Runner, main

SERVICE = "gcp:cloudrunv2/service:Service"
RUN_STACKS = [s for s in available_stacks() if read_stack_config(s)[1].get("ai-assistant-platform:platform") == "cloudrun"]


def test_cloudrun_stacks_are_checked():
    assert {"staging", "prod"} <= set(RUN_STACKS)


@pytest.mark.parametrize("stack", RUN_STACKS)
def test_every_service_carries_its_release_and_pulumi_leaves_loop_traffic_alone(stack):
    config = make_context(stack).config
    prefix = f"{make_context(stack).prefix}-"
    services = [r for r in plan_of(stack).capture.resources if r.type == SERVICE]
    assert services
    for reg in services:
        name = reg.inputs["name"].removeprefix(prefix)
        svc = config.enabled_services[name]
        labels = reg.inputs["labels"]
        assert {k: labels[k] for k in ("release-strategy", "release-rollback")} == release_labels(svc), reg.urn
        # a label in the template would make every revision differ: the contract is service-level only
        assert "release-strategy" not in reg.inputs["template"].get("labels", {}), reg.urn
        owned = "traffics" in reg.ignore_changes
        assert owned is svc.shifts_traffic, reg.urn
        if svc.route is None:
            assert labels["release-strategy"] == "rolling" and not owned, reg.urn


def test_public_services_in_prod_are_canaries_with_automatic_rollback():
    config = make_context("prod").config
    for name, svc in config.enabled_services.items():
        if svc.kind == "web" and svc.route is not None:
            assert release_labels(svc) == {"release-strategy": "canary", "release-rollback": "automatic"}, name


SEED = RollbackConfig()  # 5 % for 5 min, p95 5 s for 10 min


def _minutes(n, requests=100.0, errors=0.0, p95=0.2):
    return [Minute(requests, errors, p95) for _ in range(n)]


def test_error_rate_must_hold_for_the_configured_minutes():
    assert breach(SEED, _minutes(5, errors=6)) == "5xx above 5.0% for 5 min"
    assert breach(SEED, _minutes(4, errors=6)) is None  # not for 5 minutes yet
    assert breach(SEED, _minutes(4, errors=6) + _minutes(1, errors=5)) is None  # 5 % is not above 5 %
    assert breach(SEED, _minutes(5, errors=6)[:4] + [Minute(0, 0, None)]) is None  # a minute without requests
    strict = RollbackConfig(error_rate_percent=1.0, error_rate_minutes=2)
    assert breach(strict, _minutes(2, errors=2)) == "5xx above 1.0% for 2 min"


def test_latency_must_hold_for_the_configured_minutes():
    assert breach(SEED, _minutes(10, p95=5.5)) == "p95 above 5.0s for 10 min"
    assert breach(SEED, _minutes(9, p95=5.5)) is None
    assert breach(RollbackConfig(latency_p95_seconds=1.0, latency_minutes=3), _minutes(3, p95=1.5)) is not None


def test_a_revision_that_is_not_ready_is_a_breach():
    assert "not Ready" in breach(SEED, [], ready=False)


class FakeCloud(Runner):
    """Answers the loop's gcloud reads from a script; records every command."""

    def __init__(self, **kwargs):
        super().__init__(dry_run=False, sleep=lambda _s: None)
        self.answers = kwargs

    def __call__(self, argv, capture=False):
        line = " ".join(argv)
        self.printed.append(line)
        if "services describe" in line:
            return json.dumps({"status": {"latestReadyRevisionName": "api-00002",
                                          "traffic": [{"revisionName": "api-00001", "percent": 100}]}})
        if "revisions describe" in line:
            return self.answers.get("ready", "True")
        if "list-service-deployments" in line:
            return "arn:aws:ecs:deployment/1"
        if "describe-service-deployments" in line:
            return self.answers["ecs_status"]
        return ""


def _stack_with(tmp_path, monkeypatch, overrides):
    """tools.release reads the stack file: point it at a copy of prod with `overrides` merged."""
    import tools.release as release
    from tests.helpers import stack_raw_config

    raw = stack_raw_config("prod", overrides)
    real = release.stack_file_config

    def patched(stack):
        config, engine = real("prod")
        from components.config import parse_stack_config

        return parse_stack_config(raw, "Pulumi.prod.yaml"), engine

    monkeypatch.setattr(release, "stack_file_config", patched)


def test_the_loop_switches_back_on_a_trigger_and_fails(tmp_path, monkeypatch):
    _stack_with(tmp_path, monkeypatch, {"services": {"api": {"release": {"stepMinutes": 6}}}})
    cloud = FakeCloud()
    code = main(["prod", "api", "run"], runner=cloud, minutes_source=lambda *a: _minutes(10, errors=50))
    assert code == 1
    shifts = [c for c in cloud.printed if "update-traffic" in c and "us-central1" in c]
    # candidate tagged, 10 % given, then the seed 001 emergency switch back to stable
    assert shifts[:3] == [
        "gcloud run services update-traffic aia-prod-api --update-tags=candidate=api-00002 --region us-central1 --project your-gcp-project-id",
        "gcloud run services update-traffic aia-prod-api --to-tags=candidate=10,stable=90 --region us-central1 --project your-gcp-project-id",
        "gcloud run services update-traffic aia-prod-api --to-tags=stable=100 --region us-central1 --project your-gcp-project-id",
    ]


def test_the_loop_promotes_through_every_step_and_pins_the_new_revision(tmp_path, monkeypatch):
    _stack_with(tmp_path, monkeypatch, {"services": {"api": {"release": {"stepMinutes": 2, "canarySteps": [20, 100]}}}})
    cloud = FakeCloud()
    assert main(["prod", "api", "run"], runner=cloud, minutes_source=lambda *a: _minutes(10)) == 0
    region = [c for c in cloud.printed if "update-traffic" in c and "us-central1" in c]
    assert [c.split()[5] for c in region] == [
        "--update-tags=candidate=api-00002", "--to-tags=candidate=20,stable=80", "--to-tags=candidate=100",
        "--to-revisions=api-00002=100",
    ]
    # two minutes watched per step: the readiness of the candidate is read each minute
    assert sum("revisions describe api-00002" in c and "us-central1" in c for c in cloud.printed) == 4


def _last_shift(printed):
    """(service, region) -> the last traffic command the loop sent there."""
    last = {}
    for line in printed:
        if "update-traffic" in line:
            words = line.split()
            last[(words[4], words[words.index("--region") + 1])] = words[5]
    return last


def test_every_service_and_region_is_released_at_once(tmp_path, monkeypatch):
    """prod: 2 services x 2 regions, each loop on its own thread. Every loop's minute waits for the
    other three (a barrier): one after the other, the first loop would wait alone and break it."""
    _stack_with(tmp_path, monkeypatch, {"services": {n: {"release": {"stepMinutes": 2, "canarySteps": [50, 100]}}
                                                     for n in ("api", "frontend")}})
    cloud = FakeCloud()
    barrier = threading.Barrier(4, timeout=20)
    cloud.sleep = lambda _s: barrier.wait()
    assert main(["prod", "all", "run"], runner=cloud, minutes_source=lambda *a: _minutes(10)) == 0
    assert sorted(_last_shift(cloud.printed).items()) == [
        (("aia-prod-api", "europe-west1"), "--to-revisions=api-00002=100"),
        (("aia-prod-api", "us-central1"), "--to-revisions=api-00002=100"),
        (("aia-prod-frontend", "europe-west1"), "--to-revisions=api-00002=100"),
        (("aia-prod-frontend", "us-central1"), "--to-revisions=api-00002=100"),
    ]


def test_a_failed_target_switches_every_target_back_and_fails_the_run(tmp_path, monkeypatch):
    """api in europe-west1 breaches at its first minute: it switches back, and so does every other
    service and region at its next minute; nothing is left with split traffic; exit 1."""
    _stack_with(tmp_path, monkeypatch, {"services": {n: {"release": {"stepMinutes": 30}} for n in ("api", "frontend")}})
    cloud = FakeCloud()
    cloud.sleep = lambda _s: time.sleep(0.02)

    def minutes(target, region, _revision, _window):
        bad = target.service == "api" and region == "europe-west1"
        return _minutes(10, errors=50 if bad else 0)

    assert main(["prod", "all", "run"], runner=cloud, minutes_source=minutes) == 1
    last = _last_shift(cloud.printed)
    assert len(last) == 4 and set(last.values()) == {"--to-tags=stable=100"}, last


def test_a_manual_rollback_policy_stops_without_switching(tmp_path, monkeypatch):
    _stack_with(tmp_path, monkeypatch, {"services": {"api": {"release": {"stepMinutes": 1, "rollback": {"automatic": False}}}}})
    cloud = FakeCloud(ready="False")
    assert main(["prod", "api", "run"], runner=cloud, minutes_source=lambda *a: []) == 1
    assert not [c for c in cloud.printed if "--to-tags=stable=100" in c]


@pytest.mark.parametrize(("status", "code"), [("SUCCESSFUL", 0), ("ROLLBACK_SUCCESSFUL", 1), ("STOPPED", 1)])
def test_ecs_wait_fails_when_the_release_was_rolled_back(status, code):
    assert main(["prod-aws", "api", "wait"], runner=FakeCloud(ecs_status=status)) == code


def test_ecs_promote_is_refused_not_faked():
    assert main(["prod-aws", "api", "promote"], runner=FakeCloud()) == 2


class FakeCluster(Runner):
    """Answers `kubectl get` of the release wait from a script of Rollout states; records commands."""

    def __init__(self, states, generation="7"):
        super().__init__(dry_run=False, sleep=lambda _s: None)
        self.states, self.generation = list(states), generation

    def __call__(self, argv, capture=False):
        line = " ".join(argv)
        self.printed.append(line)
        if "get deployment" in line:
            return self.generation
        if "get rollout" in line:
            phase, seen = self.states.pop(0) if len(self.states) > 1 else self.states[0]
            status = {"phase": phase, "observedGeneration": "3", "workloadObservedGeneration": seen}
            if phase == "Degraded":
                status["message"] = "RolloutAborted: metric error-rate assessed Failed"
            return json.dumps({"metadata": {"generation": 3}, "status": status})
        return ""


@pytest.mark.parametrize(
    ("states", "code"),
    [
        # the old status stays Healthy until the controller has seen the new Deployment template
        ([("Healthy", "6"), ("Progressing", "7"), ("Paused", "7"), ("Healthy", "7")], 0),
        ([("Progressing", "7"), ("Degraded", "7")], 1),
    ],
)
def test_gke_wait_follows_the_rollout_until_it_is_healthy_or_aborted(states, code):
    cluster = FakeCluster(states)
    assert main(["prod-gke", "api", "wait"], runner=cluster) == code
    polls = [c for c in cluster.printed if "get rollout api -n ai-assistant" in c]
    assert len(polls) == len(states)  # it did not stop at the stale Healthy
    assert not [c for c in cluster.printed if "argo rollouts" in c]  # plain kubectl: no plugin in CI
