"""Releases on Cloud Run (`cloudrun`): tagged revisions, stepped traffic, and rollback on Cloud
Monitoring metrics of the candidate revision.

The design, and why: Pulumi owns the service's desired state (image, env, resources, probes); the
release -- which revision gets how much traffic -- is owned by the deploy workflow's release loop
(`tools/release.py`), driven by the same `services.<name>.release` config. So that the two never
fight:

- a routed web service whose release is `canary` or `blueGreen` has `ignore_changes` on `traffics`:
  Pulumi sets 100 % to the latest revision when it creates the service, and never touches traffic
  again. Each later `pulumi up` that changes the template creates a new revision which gets **no
  traffic**, because the loop leaves traffic pinned to named revisions (`prepare` pins it to the
  serving revision before `up`; `promote` pins it to the new one), so there is no drift to undo and
  a manual `pulumi up` never exposes an untested revision;
- the loop tags the new revision `candidate` (its own URL), moves traffic through `canarySteps`
  (blueGreen: 0 -> 100 %), and after each step watches the candidate revision for `stepMinutes`
  against the seed 002 triggers read from the config: 5xx share of `run.googleapis.com/request_count`
  above `errorRatePercent` for `errorRateMinutes`, p95 of `run.googleapis.com/request_latencies`
  above `latencyP95Seconds` for `latencyMinutes`, and the revision not Ready (its startup/liveness
  probes failed `dr.failureThreshold` times in a row). A breach switches 100 % back to the stable
  revision (seed 001's emergency rollback by traffic switch) and fails the workflow;
- the service's labels carry the contract (`release-strategy`, `release-rollback`), which the
  policy `automatic-rollback-in-production` checks in the plan.

Cloud Deploy's canary with automation was the alternative: it creates the revisions itself from a
rendered manifest, so either Pulumi stops owning the template (the image and every setting move to a
Skaffold manifest) or both write the same service and drift on every release. Rolling services (and
`rollback.automatic: false`) keep Cloud Run's default: 100 % to the latest Ready revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from components.config import ReleaseConfig, ServiceConfig

STRATEGY_LABEL = "release-strategy"
ROLLBACK_LABEL = "release-rollback"
CANDIDATE_TAG = "candidate"
STABLE_TAG = "stable"
REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"


def release_labels(svc: ServiceConfig) -> dict[str, str]:
    """The release contract as service labels (lowercase: label values allow no capitals)."""
    automatic = svc.shifts_traffic and svc.release.rollback.automatic
    strategy = svc.release.strategy if svc.route is not None else "rolling"
    return {STRATEGY_LABEL: strategy.lower(), ROLLBACK_LABEL: "automatic" if automatic else "manual"}


def traffic_steps(release: ReleaseConfig) -> tuple[int, ...]:
    """The candidate's traffic percentages, in order: the canary steps, or 100 for blue/green."""
    return (100,) if release.strategy == "blueGreen" else release.canary_steps


def metric_filter(project: str, service: str, region: str, revision: str, metric: str, extra: str = "") -> str:
    """A Cloud Monitoring filter for one revision's metric (resource type cloud_run_revision)."""
    parts = [
        f'metric.type = "{metric}"',
        'resource.type = "cloud_run_revision"',
        f'resource.labels.project_id = "{project}"',
        f'resource.labels.service_name = "{service}"',
        f'resource.labels.location = "{region}"',
        f'resource.labels.revision_name = "{revision}"',
    ]
    if extra:
        parts.append(extra)
    return " AND ".join(parts)


@dataclass(frozen=True)
class Minute:
    """One minute of the candidate revision: requests, 5xx responses, p95 latency (seconds)."""

    requests: float
    errors: float
    p95_seconds: Optional[float]


def breach(rollback, minutes: Sequence[Minute], ready: bool = True) -> Optional[str]:
    """The seed 002 trigger that holds over the newest `minutes` (oldest first), or None.

    Like the CloudWatch alarms on ECS: a trigger holds when every one of its last N one-minute
    points breaches (N = errorRateMinutes / latencyMinutes); a minute without requests does not."""
    if not ready:
        return "the candidate revision is not Ready (its health probes fail)"
    errors = minutes[-rollback.error_rate_minutes:]
    if len(errors) == rollback.error_rate_minutes and all(
        m.requests > 0 and 100 * m.errors / m.requests > rollback.error_rate_percent for m in errors
    ):
        return f"5xx above {rollback.error_rate_percent}% for {rollback.error_rate_minutes} min"
    latency = minutes[-rollback.latency_minutes:]
    if len(latency) == rollback.latency_minutes and all(
        m.p95_seconds is not None and m.p95_seconds > rollback.latency_p95_seconds for m in latency
    ):
        return f"p95 above {rollback.latency_p95_seconds}s for {rollback.latency_minutes} min"
    return None
