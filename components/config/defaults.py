"""Per-environment defaults from the seeds (000, 002, 003, 004), in stack-file shape.

They are merged under what the stack file says, so a stack file states only what differs.
"""

from __future__ import annotations

import copy
from typing import Any

from components.config.release import RELEASE_DEFAULTS
from components.data.registry import REGISTRY


_SERVICE_SHAPES: dict[str, dict[str, Any]] = {
    # seed 000 ports/health, seed 004 readiness
    "frontend": {"kind": "web", "port": 3000, "healthPath": "/api/health", "route": {"subdomain": "app"}},
    "api": {"kind": "web", "port": 8080, "healthPath": "/health", "readinessPath": "/ready",
            "route": {"subdomain": "api"}},
    "mcp": {"kind": "web", "port": 8001, "healthPath": "/health"},
    # the worker touches /tmp/worker-heartbeat after each poll of the queue; stale for 2 min = stuck
    "worker": {"kind": "worker", "healthPath": None, "healthCommand": [
        "sh", "-c", "test $(( $(date +%s) - $(stat -c %Y /tmp/worker-heartbeat) )) -lt 120"]},
}

# seed 000 sizes (frontend/api), seed 003 worker and HPA ranges
_SERVICE_SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "dev": {
        "frontend": {"cpu": "0.5", "memory": "1Gi", "minReplicas": 1, "maxReplicas": 2},
        "api": {"cpu": "1", "memory": "2Gi", "minReplicas": 1, "maxReplicas": 2},
        "mcp": {"cpu": "250m", "memory": "512Mi", "minReplicas": 1, "maxReplicas": 2},
        "worker": {"cpu": "100m", "memory": "256Mi", "cpuLimit": "200m", "memoryLimit": "512Mi",
                   "minReplicas": 1, "maxReplicas": 2},
    },
    "staging": {
        "frontend": {"cpu": "1", "memory": "2Gi", "minReplicas": 1, "maxReplicas": 4},
        "api": {"cpu": "2", "memory": "4Gi", "minReplicas": 1, "maxReplicas": 3},
        "mcp": {"cpu": "1", "memory": "1Gi", "minReplicas": 1, "maxReplicas": 3},
        "worker": {"cpu": "1", "memory": "512Mi", "minReplicas": 1, "maxReplicas": 3},
    },
    "prod": {
        "frontend": {"cpu": "2", "memory": "4Gi", "minReplicas": 2, "maxReplicas": 10},
        "api": {"cpu": "4", "memory": "8Gi", "minReplicas": 2, "maxReplicas": 5},
        "mcp": {"cpu": "1", "memory": "2Gi", "minReplicas": 2, "maxReplicas": 6},
        "worker": {"cpu": "1", "memory": "1Gi", "minReplicas": 2, "maxReplicas": 6},
    },
}

# seed 003 resource table (prod), scaled down for dev and staging: declared per data service in
# the registry (components/data/registry.py)
_DATA_SIZES: dict[str, dict[str, dict[str, Any]]] = {
    environment: {name: dict(service.sizes[environment]) for name, service in REGISTRY.items()}
    for environment in ("dev", "staging", "prod")
}


# The recovery objectives (issue 14). prod: the seeds' RPO 1 h / RTO 4 h (seeds 000/001). dev and
# staging run one region (dev: one cluster) and state what that design achieves, so their `dr`
# output is honest and their config is not refused (components/dr/objectives.py): a daily dump or
# export loses up to a day (RPO 24 h); a rebuild from backups takes about 4 h.
_DR_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"rpoMinutes": 1440, "rtoMinutes": 240},
    "staging": {"rpoMinutes": 1440, "rtoMinutes": 240},
    "prod": {"rpoMinutes": 60, "rtoMinutes": 240},
}


# A service of another name gets the defaults of its kind: a web service those of the seed's
# smallest web service (mcp: /health, its sizes and replicas), a worker those of the seed worker
# (sizes, the heartbeat health command).
_KIND_SEED = {"web": "mcp", "worker": "worker"}


def service_defaults(environment: str, name: str, kind: Any = None) -> dict[str, Any]:
    """The seed defaults of one service: its own when `name` is a seed service of that kind, else
    those of its kind (`kind` as the stack file says; default web, or the seed service's kind)."""
    seed_kind = _SERVICE_SHAPES[name]["kind"] if name in _SERVICE_SHAPES else None
    kind = kind if kind is not None else (seed_kind or "web")
    if not isinstance(kind, str) or kind not in _KIND_SEED:
        kind = "web"  # the schema names the bad kind; web defaults keep its other messages quiet
    seed = name if seed_kind == kind else _KIND_SEED[kind]
    shape = _SERVICE_SHAPES[seed] if seed == name else {
        k: v for k, v in _SERVICE_SHAPES[seed].items() if k not in ("port", "route")}
    return {**copy.deepcopy(shape), **_SERVICE_SIZES[environment][seed],
            "release": copy.deepcopy(RELEASE_DEFAULTS[environment][kind])}


def _without_stale_limits(defaults: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """A stack file that sizes a service's request (`cpu`, `memory`) without its limit gets the
    default limit of 2x its request, not the seed's limit for the seed's request (the dev worker's
    200m limit is for its 100m request; under a stack's 500m it would be refused)."""
    for request, limit in (("cpu", "cpuLimit"), ("memory", "memoryLimit")):
        if request in raw and limit not in raw:
            defaults.pop(limit, None)
    return defaults


def environment_defaults(environment: str, services: Any = None) -> dict[str, Any]:
    """The seed defaults for an environment, in stack-file shape (camelCase).

    `services`: the stack file's services (name -> raw settings); each gets the defaults of its
    name or kind (`service_defaults`), and a seed service it leaves out is not added. None: the
    four seed services (the config reference lists them)."""
    if services is None:
        services = {name: {} for name in _SERVICE_SHAPES}
    services = {
        name: _without_stale_limits(service_defaults(environment, name, raw.get("kind")), raw)
        for name, raw in (services.items() if isinstance(services, dict) else ())
        if isinstance(raw, dict)
    }
    return {
        "services": services,
        "data": copy.deepcopy(_DATA_SIZES[environment]),
        "monitoring": {"prometheusStack": {"install": True}},
        "dr": dict(_DR_DEFAULTS[environment]),
        "edge": {"ingressNginx": {"install": environment == "dev"}},
        # seeds 001/002: TLS 1.3 in production (the API allows it only with the RESTRICTED profile)
        "gcp": {"minTlsVersion": "TLS_1_3", "sslPolicyProfile": "RESTRICTED"} if environment == "prod" else {},
    }


def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base.get(key), value) if key in base else value
        return merged
    return override
