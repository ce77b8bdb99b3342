"""Composes the platform a stack asks for.

`platform` in the stack config picks a module in `components/platforms/`. Check, then build: the
loader first gathers every problem the config has for that platform (`config_problems`: the
adapter's `problems` and its data backends' problems from the registry) into one ConfigError; only a config
without any reaches `build_platform`, whose adapter wires network -> secrets -> data -> app -> edge
-> monitoring -> dr and returns the stack outputs. Modules are imported lazily so that a Kubernetes stack never pays for importing
the GCP or AWS SDKs.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from components.config import PLATFORMS, ConfigError, Problem, StackConfig, StackContext


def _adapter(platform: str, stack: str) -> Any:
    module_name = f"components.platforms.{platform}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        implemented = [p for p in PLATFORMS if importlib.util.find_spec(f"components.platforms.{p}")]
        raise ConfigError(
            f"Pulumi.{stack}.yaml: platform '{platform}' is part of the design but its adapter "
            f"(components/platforms/{platform}.py) is not implemented yet; "
            f"implemented platforms: {', '.join(implemented)}. Nothing was created."
        ) from None


def route_problems(config: StackConfig) -> list[Problem]:
    """Two enabled services on the same host and path: every platform's edge (Ingress, URL map,
    ALB rules, CloudFront) would send that path to only one of them."""
    owner: dict[tuple[str, str], str] = {}
    found = []
    for name, svc in config.enabled_services.items():
        if svc.route is None:
            continue
        host = config.host(svc.route)
        for path in svc.route.paths:
            key = (host, path.rstrip("/") or "/")
            if key in owner:
                found.append(Problem(
                    f"services.{name}.route.paths", path,
                    f"{host}{path} is already the route of services.{owner[key]}; give each service "
                    "its own subdomain or path",
                ))
            else:
                owner[key] = name
    return found


def env_problems(config: StackConfig) -> list[Problem]:
    """A name both a secret and a plain setting: Kubernetes keeps whichever comes last in the env list,
    ECS and Cloud Run refuse the container; on every platform it is one or the other."""
    found = []
    for name, svc in config.enabled_services.items():
        plain = set(config.settings) | set(svc.env)
        for env in sorted(set(svc.secrets) & plain):
            found.append(Problem(
                f"services.{name}.secrets", env, "is also a plain setting (settings or env); a name is one or the other"
            ))
    return found


def config_problems(config: StackConfig, stack: str) -> list[Problem]:
    """Every problem a config whose schema is valid has for its platform, without registering
    anything: the routes and the env names (all platforms), the adapter's `problems(config)`, for each enabled
    data service its backend's (`components.data.registry.data_problems`), and the recovery
    objectives the design cannot meet (`components.dr.objectives.objective_problems`).
    `load_stack_context` gathers these with the secrets' problems into one ConfigError before
    anything is built."""
    adapter = _adapter(config.platform, stack)
    found = route_problems(config) + env_problems(config) + list(adapter.problems(config))
    from components.data.registry import data_problems

    found += data_problems(config)
    from components.dr.objectives import objective_problems

    found += objective_problems(config)  # the design meets dr.rpoMinutes / dr.rtoMinutes
    return found


def build_platform(context: StackContext) -> dict[str, Any]:
    """Build every component of the stack and return its outputs (secrets stay secret Outputs)."""
    adapter = _adapter(context.config.platform, context.stack)
    return adapter.build(context)
