"""Composes the platform a stack asks for.

`platform` in the stack config picks a module in `components/platforms/`; each wires
network -> secrets -> data -> app -> edge -> monitoring -> dr for its platform and returns the
stack outputs. Modules are imported lazily so that a Kubernetes stack never pays for importing
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


def config_problems(config: StackConfig, stack: str) -> list[Problem]:
    """Every problem the platform adapter (and the data backends it lists) finds in a config whose
    schema is valid, without registering anything. `load_stack_context` gathers these with the
    secrets' problems into one ConfigError before anything is built."""
    adapter = _adapter(config.platform, stack)
    check = getattr(adapter, "problems", None)
    return list(check(config)) if check is not None else []


def build_platform(context: StackContext) -> dict[str, Any]:
    """Build every component of the stack and return its outputs (secrets stay secret Outputs)."""
    adapter = _adapter(context.config.platform, context.stack)
    return adapter.build(context)
