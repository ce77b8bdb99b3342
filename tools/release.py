"""See, promote, abort, roll back and wait for a release, per platform, with the native CLI.

    python -m tools.release STACK SERVICE ACTION [--dry-run]

SERVICE: a service of the stack, or `all` (every routed web service, what the deploy workflow uses).
ACTION: status | promote | abort | rollback | wait, and on cloudrun also prepare | run (`wait` on
cloudrun is `run`: the release loop).
Every command is printed before it runs (`--dry-run`: printed only). The stack file says which
platform, names and thresholds apply (`services.<name>.release`), so the commands and the loop use
the same config as the Pulumi program.

| platform | status | promote | abort / rollback | wait (deploy workflow) |
|---|---|---|---|---|
| ecs | `aws ecs describe-services`, `list-service-deployments` | ECS promotes by itself after the bake time (no API skips it) | `aws ecs stop-service-deployment --stop-type ROLLBACK` (traffic goes back to the old tasks at once) | polls `describe-service-deployments`; fails unless SUCCESSFUL |
| cloudrun | `gcloud run services describe` (traffic, tags) | `update-traffic --to-tags candidate=100` | `update-traffic --to-tags stable=100` (the seed 001 traffic switch) | `prepare` before `pulumi up` pins traffic and tags `stable`; `run` after it steps the canary and rolls back on a trigger |
| kubernetes, gke | `kubectl argo rollouts get rollout` | `kubectl argo rollouts promote` | `kubectl argo rollouts abort` / `undo` | polls the Rollout with plain `kubectl get` (no plugin needed in CI); fails when it is aborted or degraded |

Exit status: 0 done, 1 the release was rolled back or failed, 2 usage or an action the platform does
not have.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from components.app.cloudrun_release import (
    CANDIDATE_TAG,
    REQUEST_COUNT,
    REQUEST_LATENCIES,
    STABLE_TAG,
    Minute,
    breach,
    loop_owns_traffic,
    metric_filter,
    traffic_steps,
)
from components.config import PROJECT, TOP_LEVEL_KEYS, ServiceConfig, StackConfig, StackContext, _decode, parse_stack_config
from tools.plan import read_stack_config

ECS_DONE = {"SUCCESSFUL"}
ECS_FAILED = {"ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"}
ARGO_TIMEOUT_SLACK_MINUTES = 30
MONITORING_API = "https://monitoring.googleapis.com/v3/projects/{project}/timeSeries"


class ReleaseError(Exception):
    """A release that was rolled back or cannot proceed (exit 1)."""


class Unsupported(Exception):
    """An action the platform does not have (exit 2)."""


@dataclass
class Runner:
    """Prints each command and runs it (unless `dry_run`); `run` returns its stdout."""

    dry_run: bool = False
    printed: list[str] = field(default_factory=list)
    sleep: Callable[[float], None] = time.sleep

    def __call__(self, argv: Sequence[str], capture: bool = False) -> str:
        line = shlex.join(argv)
        self.printed.append(line)
        print(f"+ {line}", flush=True)
        if self.dry_run:
            return ""
        done = subprocess.run(list(argv), check=True, text=True, capture_output=capture)
        return done.stdout if capture else ""


@dataclass(frozen=True)
class Target:
    stack: str
    platform: str
    service: str
    svc: ServiceConfig
    config: StackConfig
    prefix: str
    project: Optional[str]


def routed_services(stack: str) -> list[str]:
    """The services `all` means: every enabled web service with a public route (what has releases)."""
    config = _stack_config(stack)[0]
    return [n for n, s in config.enabled_services.items() if s.kind == "web" and s.route is not None]


def _stack_config(stack: str) -> tuple[StackConfig, dict]:
    _, engine, _, _ = read_stack_config(stack)
    raw = {
        key.partition(":")[2]: _decode(value)
        for key, value in engine.items()
        if key.partition(":")[0] == PROJECT and key.partition(":")[2] in TOP_LEVEL_KEYS
    }
    return parse_stack_config(raw, f"Pulumi.{stack}.yaml"), engine


def load_target(stack: str, service: str) -> Target:
    config, engine = _stack_config(stack)
    if service not in config.enabled_services:
        raise Unsupported(f"{service!r} is not an enabled service of {stack} ({', '.join(config.enabled_services)})")
    prefix = StackContext(project=PROJECT, stack=stack, config=config, provided_secrets={}).prefix
    project = config.gcp.project or engine.get("gcp:project") if config.platform in ("cloudrun", "gke") else None
    return Target(stack, config.platform, service, config.enabled_services[service], config, prefix, project)


# --- ECS ------------------------------------------------------------------------------------------


def _ecs_base(t: Target) -> list[str]:
    return ["aws", "ecs", "--region", t.config.regions.primary]


def _ecs_deployment_arn(t: Target, run: Runner, statuses: Sequence[str]) -> Optional[str]:
    out = run(
        _ecs_base(t) + ["list-service-deployments", "--cluster", t.prefix, "--service", t.service,
                        "--status", *statuses, "--query", "serviceDeployments[0].serviceDeploymentArn", "--output", "text"],
        capture=True,
    ).strip()
    return out if out and out != "None" else None


def ecs(t: Target, action: str, run: Runner, timeout_minutes: int) -> None:
    base = _ecs_base(t)
    if action == "status":
        run(base + ["describe-services", "--cluster", t.prefix, "--services", t.service,
                    "--query", "services[0].{deployments: deployments, strategy: deploymentConfiguration.strategy}"])
        run(base + ["list-service-deployments", "--cluster", t.prefix, "--service", t.service, "--max-results", "5"])
    elif action == "promote":
        raise Unsupported("ECS shifts the rest of the traffic by itself after the canary/linear bake time; "
                          "no API skips it (docs/deploy-aws.md, Releases)")
    elif action in ("abort", "rollback"):
        arn = _ecs_deployment_arn(t, run, ["IN_PROGRESS", "PENDING"]) or ("<in-progress deployment arn>" if run.dry_run else None)
        if arn is None:
            raise Unsupported("no deployment in progress to roll back; to go back after a finished release, set "
                              "the previous image in the stack file and run the deploy (ECS releases it the same way)")
        run(base + ["stop-service-deployment", "--service-deployment-arn", arn, "--stop-type", "ROLLBACK"])
    elif action == "wait":
        _ecs_wait(t, run, timeout_minutes)
    else:
        raise Unsupported(f"{action!r} is not an ECS action (status, promote, abort, rollback, wait)")


def _ecs_wait(t: Target, run: Runner, timeout_minutes: int) -> None:
    arn = _ecs_deployment_arn(t, run, ["IN_PROGRESS", "PENDING", "SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL",
                                        "ROLLBACK_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_REQUESTED"])
    if run.dry_run:
        return
    if arn is None:
        print(f"{t.service}: no deployment", flush=True)
        return
    deadline = time.monotonic() + timeout_minutes * 60
    while True:
        status = run(_ecs_base(t) + ["describe-service-deployments", "--service-deployment-arns", arn,
                                     "--query", "serviceDeployments[0].status", "--output", "text"], capture=True).strip()
        if status in ECS_DONE:
            print(f"{t.service}: release {status}", flush=True)
            return
        if status in ECS_FAILED:
            raise ReleaseError(f"{t.service}: release {status} (rolled back or stopped)")
        if time.monotonic() > deadline:
            raise ReleaseError(f"{t.service}: release still {status} after {timeout_minutes} min")
        run.sleep(30)


# --- Cloud Run ------------------------------------------------------------------------------------


def _regions(t: Target) -> list[str]:
    return [t.config.regions.primary] + ([t.config.regions.secondary] if t.config.regions.secondary else [])


def _gcloud(t: Target, region: str, *args: str) -> list[str]:
    return ["gcloud", "run", "services", *args, "--region", region, "--project", str(t.project)]


def _describe(t: Target, region: str, run: Runner) -> dict:
    out = run(_gcloud(t, region, "describe", f"{t.prefix}-{t.service}", "--format", "json"), capture=True)
    return json.loads(out) if out else {"status": {"traffic": [], "latestReadyRevisionName": "<latest>"}}


def _serving(service: dict) -> Optional[str]:
    """The revision that takes all traffic (None while traffic is split)."""
    for entry in service.get("status", {}).get("traffic", []):
        if entry.get("percent") == 100:
            return entry.get("revisionName") or service["status"].get("latestReadyRevisionName")
    return None


def _update_traffic(t: Target, region: str, run: Runner, *args: str) -> None:
    run(_gcloud(t, region, "update-traffic", f"{t.prefix}-{t.service}", *args))


def cloudrun(t: Target, action: str, run: Runner, minutes_source: Callable[..., list[Minute]]) -> None:
    if action not in ("status", "prepare", "run", "promote", "abort", "rollback", "wait"):
        raise Unsupported(f"{action!r} is not a Cloud Run action (status, prepare, run, promote, abort, rollback)")
    if action != "status" and not loop_owns_traffic(t.svc):
        if action in ("prepare", "run", "wait"):
            print(f"{t.service}: release {t.svc.release.strategy}: Cloud Run serves the latest revision; nothing to do")
            return
    for region in _regions(t):
        if action == "status":
            run(_gcloud(t, region, "describe", f"{t.prefix}-{t.service}", "--format",
                        "yaml(status.traffic,status.latestReadyRevisionName)"))
        elif action == "prepare":
            try:
                service = _describe(t, region, run)
            except subprocess.CalledProcessError:
                print(f"{t.service} ({region}): no service yet; its first revision takes all traffic", flush=True)
                continue
            serving = _serving(service) or "<serving revision>"
            _update_traffic(t, region, run, f"--to-revisions={serving}=100")
            _update_traffic(t, region, run, f"--update-tags={STABLE_TAG}={serving}")
        elif action == "promote":
            _update_traffic(t, region, run, f"--to-tags={CANDIDATE_TAG}=100")
        elif action in ("abort", "rollback"):
            # seed 001: the emergency rollback is a traffic switch back to the stable revision
            _update_traffic(t, region, run, f"--to-tags={STABLE_TAG}=100")
        else:  # run, wait: the release loop
            _cloudrun_release(t, region, run, minutes_source)


def _cloudrun_release(t: Target, region: str, run: Runner, minutes_source: Callable[..., list[Minute]]) -> None:
    """The loop: tag the new revision, step its traffic, watch it, promote or switch back."""
    service = _describe(t, region, run)
    latest = service.get("status", {}).get("latestReadyRevisionName") or "<latest>"
    stable = _serving(service)
    if stable == latest and not run.dry_run:
        print(f"{t.service} ({region}): {latest} already serves all traffic; nothing to release")
        return
    release = t.svc.release
    _update_traffic(t, region, run, f"--update-tags={CANDIDATE_TAG}={latest}")
    for percent in traffic_steps(release):
        rest = [] if percent == 100 else [f"{STABLE_TAG}={100 - percent}"]
        _update_traffic(t, region, run, "--to-tags=" + ",".join([f"{CANDIDATE_TAG}={percent}", *rest]))
        for minute in range(release.step_minutes):
            if run.dry_run:
                break
            run.sleep(60)
            ready = _ready(t, region, run, latest)
            reason = breach(release.rollback, minutes_source(t, region, latest, max(release.rollback.error_rate_minutes,
                                                                                   release.rollback.latency_minutes)), ready)
            if reason:
                if release.rollback.automatic:
                    _update_traffic(t, region, run, f"--to-tags={STABLE_TAG}=100")
                    raise ReleaseError(f"{t.service} ({region}): {reason} at {percent}%: rolled back to {stable}")
                raise ReleaseError(f"{t.service} ({region}): {reason} at {percent}%: stopped (rollback.automatic "
                                   f"is false; `make release-rollback` switches back)")
    # pin the new revision by name, so the next `pulumi up` creates its revision without traffic
    _update_traffic(t, region, run, f"--to-revisions={latest}=100")


def _ready(t: Target, region: str, run: Runner, revision: str) -> bool:
    out = run(["gcloud", "run", "revisions", "describe", revision, "--region", region, "--project", str(t.project),
               "--format", "value(status.conditions[0].status)"], capture=True).strip()
    return out in ("True", "")


def monitoring_minutes(t: Target, region: str, revision: str, minutes: int) -> list[Minute]:
    """The candidate's last `minutes` one-minute points from the Cloud Monitoring API."""
    token = subprocess.run(["gcloud", "auth", "print-access-token"], check=True, text=True,
                           capture_output=True).stdout.strip()
    end = time.time()
    start = end - minutes * 60

    def series(metric: str, extra: str, aligner: str, reducer: str, group_by: Sequence[str] = ()) -> list[dict]:
        params = {
            "filter": metric_filter(str(t.project), f"{t.prefix}-{t.service}", region, revision, metric, extra),
            "interval.startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)),
            "interval.endTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end)),
            "aggregation.alignmentPeriod": "60s",
            "aggregation.perSeriesAligner": aligner,
            "aggregation.crossSeriesReducer": reducer,
        }
        query = urllib.parse.urlencode(params) + "".join(f"&aggregation.groupByFields={g}" for g in group_by)
        request = urllib.request.Request(MONITORING_API.format(project=t.project) + "?" + query,
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response).get("timeSeries", [])

    def points(found: list[dict]) -> dict[str, float]:
        values: dict[str, float] = {}
        for s in found:
            for p in s.get("points", []):
                v = p["value"]
                values[p["interval"]["endTime"]] = float(v.get("int64Value", v.get("doubleValue", 0)))
        return values

    everything = points(series(REQUEST_COUNT, "", "ALIGN_DELTA", "REDUCE_SUM"))
    errors = points(series(REQUEST_COUNT, 'metric.labels.response_code_class = "5xx"', "ALIGN_DELTA", "REDUCE_SUM"))
    latency = points(series(REQUEST_LATENCIES, "", "ALIGN_DELTA", "REDUCE_PERCENTILE_95"))
    return [
        Minute(everything.get(k, 0.0), errors.get(k, 0.0), latency[k] / 1000 if k in latency else None)
        for k in sorted(set(everything) | set(latency))
    ]


# --- Argo Rollouts (kubernetes, gke) --------------------------------------------------------------


def argo(t: Target, action: str, run: Runner, timeout_minutes: int) -> None:
    namespace = t.config.kubernetes.namespace
    verbs = {"status": ["get", "rollout"], "promote": ["promote"], "abort": ["abort"], "rollback": ["undo"]}
    if t.svc.release.strategy == "rolling":
        # no Rollout: a plain Deployment (seed 004: `rollout status` before the smoke test)
        if action == "wait":
            run(["kubectl", "rollout", "status", f"deployment/{t.service}", "-n", namespace, f"--timeout={timeout_minutes}m"])
        elif action == "status":
            run(["kubectl", "rollout", "history", f"deployment/{t.service}", "-n", namespace])
        elif action == "rollback":
            run(["kubectl", "rollout", "undo", f"deployment/{t.service}", "-n", namespace])
        else:
            raise Unsupported(f"{t.service} is released rolling (a Deployment): no {action!r}")
    elif action == "wait":
        _argo_wait(t, run, namespace, timeout_minutes)
    elif action in verbs:
        run(["kubectl", "argo", "rollouts", *verbs[action], t.service, "-n", namespace])
    else:
        raise Unsupported(f"{action!r} is not an Argo Rollouts action (status, promote, abort, rollback, wait)")


ARGO_POLL_SECONDS = 15


def argo_release_state(rollout: dict, deployment_generation: str) -> str:
    """`done`, `failed` or `running`, from a Rollout (`kubectl get rollout -o json`) that runs the
    pods of a Deployment (`workloadRef`): what `kubectl argo rollouts status` reports, read with
    plain kubectl. Done only once the controller has seen the Deployment's latest template (after
    `pulumi up` the old status stays Healthy until it has)."""
    status = rollout.get("status") or {}
    if status.get("abort") or status.get("phase") == "Degraded":
        return "failed"
    current = str(status.get("observedGeneration")) == str(rollout.get("metadata", {}).get("generation"))
    seen = str(status.get("workloadObservedGeneration")) == str(deployment_generation)
    return "done" if status.get("phase") == "Healthy" and current and seen else "running"


def _argo_wait(t: Target, run: Runner, namespace: str, timeout_minutes: int) -> None:
    if run.dry_run:
        run(["kubectl", "get", "rollout", t.service, "-n", namespace, "-o", "json"])
        return
    deadline = time.monotonic() + timeout_minutes * 60
    while True:
        generation = run(["kubectl", "get", "deployment", t.service, "-n", namespace, "-o",
                          "jsonpath={.metadata.generation}"], capture=True).strip()
        rollout = json.loads(run(["kubectl", "get", "rollout", t.service, "-n", namespace, "-o", "json"], capture=True))
        state = argo_release_state(rollout, generation)
        if state == "done":
            return
        if state == "failed":
            message = (rollout.get("status") or {}).get("message", "aborted")
            raise ReleaseError(f"{t.service}: the release was aborted and rolled back ({message})")
        if time.monotonic() > deadline:
            raise ReleaseError(f"{t.service}: the release did not finish in {timeout_minutes} min")
        run.sleep(ARGO_POLL_SECONDS)


def release_minutes(svc: ServiceConfig) -> int:
    """How long a release of `svc` may take: every step's monitoring time, the bake, and slack."""
    steps = len(traffic_steps(svc.release)) if svc.release.strategy != "rolling" else 0
    return (steps + 1) * svc.release.step_minutes + ARGO_TIMEOUT_SLACK_MINUTES


def main(argv: Optional[Sequence[str]] = None, runner: Optional[Runner] = None,
         minutes_source: Callable[..., list[Minute]] = monitoring_minutes) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.release", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack")
    parser.add_argument("service", help="a service of the stack, or `all` (every routed web service)")
    parser.add_argument("action", choices=("status", "prepare", "run", "promote", "abort", "rollback", "wait"))
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    run = runner or Runner(dry_run=args.dry_run)
    try:
        services = routed_services(args.stack) if args.service == "all" else [args.service]
        for service in services:
            target = load_target(args.stack, service)
            timeout = release_minutes(target.svc)
            if target.platform == "ecs":
                ecs(target, args.action, run, timeout)
            elif target.platform == "cloudrun":
                cloudrun(target, args.action, run, minutes_source)
            elif target.platform in ("kubernetes", "gke"):
                argo(target, args.action, run, timeout)
            else:
                raise Unsupported(f"platform {target.platform!r} has no release tool")
    except Unsupported as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ReleaseError, subprocess.CalledProcessError) as err:
        print(f"release failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
