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

`wait` (and `run` on cloudrun) follows every target at once, each in a thread of its own: a
service, on Cloud Run a service in one region (each its own loop of gcloud calls and metric reads).
So a stack's wait takes as long as its longest target (`wait_minutes`), not their sum: prod on
Cloud Run is 2 services x 2 regions of 4 steps x 30 min, 2 h at once, 8 h one after the other (the
deploy job has 5). When a target fails, that target is switched back to `stable` (its own trigger)
and the others are told: every other Cloud Run loop switches its traffic back to `stable` at its
next minute (the release is of one commit: what failed in one service or region is not sent to
more users elsewhere), and ECS and Argo waits go on until their platform has finished or rolled back
that release by itself. Targets that had already finished keep the new version. The run then fails
(exit 1), naming every target that did not finish. No target is left with split traffic, except a
service with `rollback.automatic: false`, which stops where it is for a person to decide
(`make release-rollback`).

Exit status: 0 done, 1 the release was rolled back or failed, 2 usage or an action the platform does
not have.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from components.app.cloudrun_release import (
    CANDIDATE_TAG,
    REQUEST_COUNT,
    REQUEST_LATENCIES,
    STABLE_TAG,
    Minute,
    breach,
    metric_filter,
    traffic_steps,
)
from components.config import (
    PROJECT, ServiceConfig, StackConfig, StackContext, _decode, parse_stack_config, split_project_config
)
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
        # one write per line: the release wait runs its targets on threads of their own
        sys.stdout.write(f"+ {line}\n")
        sys.stdout.flush()
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


def stack_file_config(stack: str) -> tuple[StackConfig, dict]:
    """The stack file's validated config (as the program loads it: components/config/loader.py) and
    its engine config (`gcp:project`, ...), read once per run."""
    _, engine, _, _ = read_stack_config(stack)
    structured, _ = split_project_config(engine)
    return parse_stack_config({k: _decode(v) for k, v in structured.items()}, f"Pulumi.{stack}.yaml"), engine


def routed_services(config: StackConfig) -> list[str]:
    """The services `all` means: every enabled web service with a public route (what has releases)."""
    return [n for n, s in config.enabled_services.items() if s.kind == "web" and s.route is not None]


def load_target(stack: str, service: str, config: StackConfig, engine: dict) -> Target:
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


def cloudrun(t: Target, action: str, run: Runner, minutes_source: Callable[..., list[Minute]],
             regions: Optional[Sequence[str]] = None, stop: Optional[threading.Event] = None) -> None:
    """One Cloud Run action on `t` in `regions` (default: every region of the stack), in order;
    `main` runs the release loop (`run`, `wait`) of each service and region in a thread of its own,
    `stop` telling a loop that another one failed."""
    if action not in ("status", "prepare", "run", "promote", "abort", "rollback", "wait"):
        raise Unsupported(f"{action!r} is not a Cloud Run action (status, prepare, run, promote, abort, rollback)")
    if action != "status" and not t.svc.shifts_traffic:
        if action in ("prepare", "run", "wait"):
            print(f"{t.service}: release {t.svc.release.strategy}: Cloud Run serves the latest revision; nothing to do")
            return
    for region in regions or _regions(t):
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
            _cloudrun_release(t, region, run, minutes_source, stop or threading.Event())


def _cloudrun_release(t: Target, region: str, run: Runner, minutes_source: Callable[..., list[Minute]],
                      stop: threading.Event) -> None:
    """The loop: tag the new revision, step its traffic, watch it, promote or switch back. When
    `stop` is set (another service or region of this release failed), it ends like a failed
    trigger of its own: all traffic back to `stable` (or, with `rollback.automatic` false, stopped
    where it is), so no target is left half-way without a reason in the log."""
    service = _describe(t, region, run)
    latest = service.get("status", {}).get("latestReadyRevisionName") or "<latest>"
    stable = _serving(service)
    if stable == latest and not run.dry_run:
        print(f"{t.service} ({region}): {latest} already serves all traffic; nothing to release")
        return
    release = t.svc.release

    def end(reason: str, percent: int) -> None:
        if release.rollback.automatic:
            _update_traffic(t, region, run, f"--to-tags={STABLE_TAG}=100")
            raise ReleaseError(f"{t.service} ({region}): {reason} at {percent}%: rolled back to {stable}")
        raise ReleaseError(f"{t.service} ({region}): {reason} at {percent}%: stopped (rollback.automatic "
                           f"is false; `make release-rollback` switches back)")

    _update_traffic(t, region, run, f"--update-tags={CANDIDATE_TAG}={latest}")
    window = max(release.rollback.error_rate_minutes, release.rollback.latency_minutes)
    for percent in traffic_steps(release):
        rest = [] if percent == 100 else [f"{STABLE_TAG}={100 - percent}"]
        _update_traffic(t, region, run, "--to-tags=" + ",".join([f"{CANDIDATE_TAG}={percent}", *rest]))
        for _minute in range(release.step_minutes):
            if run.dry_run:
                break
            run.sleep(60)
            if stop.is_set():
                end("another target of this release failed", percent)
            ready = _ready(t, region, run, latest)
            reason = breach(release.rollback, minutes_source(t, region, latest, window), ready)
            if reason:
                end(reason, percent)
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
    """How long a release of `svc` may take: every step's monitoring time, the bake, and slack (the
    deadline of its ECS/Argo wait; a Cloud Run loop takes the steps' minutes)."""
    steps = len(traffic_steps(svc.release)) if svc.release.strategy != "rolling" else 0
    return (steps + 1) * svc.release.step_minutes + ARGO_TIMEOUT_SLACK_MINUTES


def wait_minutes(config: StackConfig) -> int:
    """How long `all wait` may take for a stack: its targets (a service; on Cloud Run a service in
    one region) are waited for at once, so the longest one's `release_minutes`."""
    return max((release_minutes(config.enabled_services[n]) for n in routed_services(config)), default=0)


@dataclass(frozen=True)
class Unit:
    """One release a `wait` follows on its own thread: a service, on Cloud Run in one region."""

    target: Target
    region: Optional[str] = None


def release_units(targets: Sequence[Target]) -> list[Unit]:
    return [
        Unit(t, region)
        for t in targets
        for region in (_regions(t) if t.platform == "cloudrun" else [None])
    ]


def wait_all(units: Sequence[Unit], run: Runner, minutes_source: Callable[..., list[Minute]]) -> None:
    """Every unit's release at once (prod Cloud Run: 2 services x 2 regions of 2 h each; one after
    the other they would outlast the deploy job). On a failure the others are told (`stop`): a
    Cloud Run loop switches its traffic back to `stable` at its next minute, as on a trigger of its
    own; an ECS or Argo wait goes on watching (the platform finishes or rolls back that release by
    itself). The run fails with every unit's error once all have ended."""
    stop = threading.Event()

    def one(unit: Unit) -> None:
        t = unit.target
        try:
            if t.platform == "cloudrun":
                cloudrun(t, "run", run, minutes_source, regions=[unit.region], stop=stop)
            elif t.platform == "ecs":
                ecs(t, "wait", run, release_minutes(t.svc))
            else:
                argo(t, "wait", run, release_minutes(t.svc))
        except Exception:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=max(len(units), 1), thread_name_prefix="release") as pool:
        futures = [pool.submit(one, unit) for unit in units]
    errors = [f.exception() for f in futures if f.exception() is not None]
    unsupported = [e for e in errors if isinstance(e, Unsupported)]
    if unsupported:
        raise unsupported[0]
    for err in errors:
        if not isinstance(err, (ReleaseError, subprocess.CalledProcessError)):
            raise err
    if errors:
        raise ReleaseError("; ".join(str(e) for e in errors))


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
        config, engine = stack_file_config(args.stack)
        services = routed_services(config) if args.service == "all" else [args.service]
        targets = [load_target(args.stack, service, config, engine) for service in services]
        if any(t.platform not in ("ecs", "cloudrun", "kubernetes", "gke") for t in targets):
            raise Unsupported(f"platform {config.platform!r} has no release tool")
        if args.action == "wait" or (args.action == "run" and config.platform == "cloudrun"):
            wait_all(release_units(targets), run, minutes_source)
        else:
            for target in targets:
                timeout = release_minutes(target.svc)
                if target.platform == "ecs":
                    ecs(target, args.action, run, timeout)
                elif target.platform == "cloudrun":
                    cloudrun(target, args.action, run, minutes_source)
                else:
                    argo(target, args.action, run, timeout)
    except Unsupported as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ReleaseError, subprocess.CalledProcessError) as err:
        print(f"release failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
