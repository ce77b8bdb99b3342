"""Plans with Argo Rollouts in them: the shipped stacks that have some (prod-gke, staging-gke) and
dev variants for what no shipped stack shows (an ingress-nginx canary, blue/green, manual rollback,
non-default steps and thresholds). Each is the whole platform program under mocks, computed once."""

from __future__ import annotations

import functools
from typing import Any

from components.config import StackConfig, parse_stack_config
from tests.helpers import k8s_objects, plan_of, run_component, stack_raw_config
from tools.harness import Registration

# dev variant -> overrides of Pulumi.dev.yaml
VARIANTS: dict[str, dict[str, Any]] = {
    "dev-canary": {"services": {name: {"release": {"strategy": "canary"}} for name in ("frontend", "api", "mcp")}},
    "dev-bluegreen": {
        "services": {
            "frontend": {"release": {"strategy": "blueGreen", "stepMinutes": 15}},
            "api": {"release": {"strategy": "canary", "rollback": {"automatic": False}}},
        }
    },
    "dev-tuned": {
        "services": {
            "api": {
                "release": {
                    "strategy": "canary",
                    "canarySteps": [20, 60, 100],
                    "stepMinutes": 7,
                    "rollback": {
                        "consecutiveHealthFailures": 5,
                        "errorRatePercent": 2.5,
                        "errorRateMinutes": 3,
                        "latencyP95Seconds": 1.5,
                        "latencyMinutes": 4,
                    },
                }
            }
        }
    },
}
SHIPPED = ("prod-gke", "staging-gke")
ROLLOUT_PLANS = SHIPPED + tuple(VARIANTS)


def _build_kubernetes(context) -> None:
    from components.platforms.kubernetes import build

    build(context)


@functools.lru_cache(maxsize=None)
def resources_of(name: str) -> list[Registration]:
    if name in VARIANTS:
        return run_component(_build_kubernetes, "dev", VARIANTS[name]).resources
    return plan_of(name).capture.resources


def objects_of(name: str) -> list[dict[str, Any]]:
    return k8s_objects(resources_of(name))


def config_of(name: str) -> StackConfig:
    stack, overrides = ("dev", VARIANTS[name]) if name in VARIANTS else (name, None)
    return parse_stack_config(stack_raw_config(stack, overrides), f"Pulumi.{stack}.yaml")
