"""One service released by Argo Rollouts: its Rollout, AnalysisTemplate and extra Service.

The Rollout uses `workloadRef` to the service's Deployment instead of repeating the pod template:
- the Deployment stays the one definition of the pods (image, probes, hardening, secrets), so
  every guard that reads pod templates (NetworkPolicy flows, scrape targets, image rules, PSA)
  keeps seeing the real pods; the Rollout's pods carry the same labels, so the PDB, the
  NetworkPolicies and the ServiceMonitor select them unchanged;
- the Deployment keeps its replica count until the Rollout's pods are healthy, then the controller
  scales it to 0 (`scaleDown: onsuccess`): a new stack, or a running service switched from rolling
  to canary, never has a gap (Pulumi ignores `spec.replicas` of both, so it never scales the
  Deployment back up); the HPA targets the Rollout, which has the scale subresource: the HPA must
  scale what runs the pods;
- a change of the Deployment's template (a new image) is what starts a release.

Strategies (`services.<name>.release`):
- canary: `setWeight` + `pause: {duration: stepMinutes}` per `canarySteps` entry; a background
  analysis (analysis.py) from the first step on, measuring the `<name>-canary` Service's pods; its
  failure aborts the release: traffic goes back to the stable pods and the canary scales to 0
  (automatic rollback). Traffic: through ingress-nginx when the service has Ingresses
  (`trafficRouting.nginx.stableIngresses`; the controller adds a canary Ingress with
  `canary-weight`) and the stable Service then selects only stable pods; where the edge cannot
  split by weight (GKE Ingress) the weight is the share of canary replicas behind the one Service
  (replica-weighted). With traffic routing the old pods stay `stepMinutes` after promotion
  (`scaleDownDelaySeconds`): within that window `kubectl argo rollouts undo` is a traffic switch
  back, without new pods (seed 001 emergency rollback);
- blueGreen: the app Service is the active one, `<name>-preview` the preview; a pre-promotion
  analysis on the preview and a post-promotion one on the active pods (each `stepMinutes` of
  measurements); automatic promotion only with `rollback.automatic`; the old pods stay
  `stepMinutes` after the switch (`scaleDownDelaySeconds`) for an instant switch back;
- both: `rollbackWindow: {revisions: 1}` (`kubectl argo rollouts undo` to the previous revision
  goes straight to 100 %, skipping steps and analysis: seed 001's emergency rollback);
  `progressDeadlineSeconds` 600 with `progressDeadlineAbort` (new pods that never become ready, e.g.
  failing their readiness probe 3 times in a row, abort the release), `abortScaleDownDelaySeconds`
  30 (the aborted pods stay briefly for `kubectl logs`), `revisionHistoryLimit` 5.
With `rollback.automatic: false` every pause waits for `kubectl argo rollouts promote` and the
analyses only record (dry run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.config import ServiceConfig, StackContext
from components.kubernetes_objects import metadata
from components.release.analysis import SERVICE_ARG, analysis_template_spec

ROLLOUTS_API_VERSION = "argoproj.io/v1alpha1"
PROGRESS_DEADLINE_SECONDS = 600
ABORT_SCALE_DOWN_DELAY_SECONDS = 30


CANARY_MAX_SURGE_PERCENT = 25


def release_service_name(name: str, svc: ServiceConfig) -> str:
    """The extra Service a release measures: `<name>-canary` or `<name>-preview`."""
    return f"{name}-{'preview' if svc.release.strategy == 'blueGreen' else 'canary'}"


def analysis_template_name(name: str) -> str:
    return f"{name}-release-health"


@dataclass(frozen=True)
class ServiceRolloutArgs:
    context: StackContext
    service: str
    config: ServiceConfig
    namespace: pulumi.Input[str]
    labels: Mapping[str, str]  # the app Service's labels (the ServiceMonitor selects by them)
    pod_labels: Mapping[str, str]
    min_replicas: int
    stable_ingresses: Sequence[str] = ()  # ingress-nginx Ingresses of the service: traffic routing
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # the controller (its CRDs)


class ServiceRollout(PlatformComponent):
    """AnalysisTemplate + canary/preview Service + Rollout (see the module docstring)."""

    TYPE = "aiplatform:release:ServiceRollout"

    def __init__(self, name: str, args: ServiceRolloutArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        self.args = args
        svc = args.config
        release = svc.release
        crd_opts = self.child_opts(depends_on=list(args.depends_on) or None)
        count = release.step_minutes if release.strategy == "blueGreen" else None
        monitoring_namespace = self.config.kubernetes.monitoring_namespace
        self.template = k8s.apiextensions.CustomResource(
            self.child_name("analysis"),
            api_version=ROLLOUTS_API_VERSION,
            kind="AnalysisTemplate",
            metadata=metadata(analysis_template_name(args.service), args.namespace, args.labels),
            spec=pulumi.Output.from_input(args.namespace).apply(
                lambda ns: analysis_template_spec(svc, ns, monitoring_namespace, count)
            ),
            opts=crd_opts,
        )
        self.release_service = release_service_name(args.service, svc)
        k8s.core.v1.Service(
            self.child_name("service"),
            metadata=metadata(self.release_service, args.namespace, args.labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=dict(args.pod_labels),  # the controller adds the canary/preview pod hash
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=svc.port, target_port="http", protocol="TCP")],
            ),
            opts=self.child_opts(),
        )
        self.rollout = k8s.apiextensions.CustomResource(
            self.child_name("rollout"),
            api_version=ROLLOUTS_API_VERSION,
            kind="Rollout",
            metadata=metadata(args.service, args.namespace, args.labels),
            spec=self.spec(),
            # the HPA owns the replica count
            opts=self.child_opts(depends_on=[self.template, *args.depends_on], ignore_changes=["spec.replicas"]),
        )
        self.register_outputs({"strategy": release.strategy, "releaseService": self.release_service})

    def spec(self) -> dict[str, Any]:
        args = self.args
        strategy = args.config.release.strategy
        return {
            "replicas": args.min_replicas,
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": PROGRESS_DEADLINE_SECONDS,
            "progressDeadlineAbort": True,
            # `undo` to the last revision skips the steps and analysis: the emergency rollback
            "rollbackWindow": {"revisions": 1},
            "selector": {"matchLabels": dict(args.pod_labels)},
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": args.service, "scaleDown": "onsuccess"},
            "strategy": {"blueGreen": self._blue_green()} if strategy == "blueGreen" else {"canary": self._canary()},
        }

    def _analysis(self, service: str) -> dict[str, Any]:
        return {
            "templates": [{"templateName": analysis_template_name(self.args.service)}],
            "args": [{"name": SERVICE_ARG, "value": service}],
        }

    def _canary(self) -> dict[str, Any]:
        args = self.args
        release = args.config.release
        pause: dict[str, Any] = {"duration": f"{release.step_minutes}m"} if release.rollback.automatic else {}
        steps: list[dict[str, Any]] = []
        for weight in release.canary_steps:
            steps += [{"setWeight": weight}, {"pause": pause}]
        canary: dict[str, Any] = {
            "canaryService": self.release_service,
            "maxSurge": f"{CANARY_MAX_SURGE_PERCENT}%",
            "maxUnavailable": 0,
            "steps": steps,
            "analysis": {**self._analysis(self.release_service), "startingStep": 1},
        }
        if args.stable_ingresses:
            canary.update(
                stableService=args.service,
                trafficRouting={"nginx": {"stableIngresses": list(args.stable_ingresses)}},
                abortScaleDownDelaySeconds=ABORT_SCALE_DOWN_DELAY_SECONDS,
                scaleDownDelaySeconds=release.step_minutes * 60,
            )
        return canary

    def _blue_green(self) -> dict[str, Any]:
        release = self.args.config.release
        return {
            "activeService": self.args.service,
            "previewService": self.release_service,
            "autoPromotionEnabled": release.rollback.automatic,
            "prePromotionAnalysis": self._analysis(self.release_service),
            "postPromotionAnalysis": self._analysis(self.args.service),
            "scaleDownDelaySeconds": release.step_minutes * 60,
            "abortScaleDownDelaySeconds": ABORT_SCALE_DOWN_DELAY_SECONDS,
        }
