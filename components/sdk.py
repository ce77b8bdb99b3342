"""Loading the provider SDKs a platform uses, once, out of the garbage collector's way."""

from __future__ import annotations

import gc
import importlib
from typing import Iterable


def load_sdk(package: str, modules: Iterable[str]) -> None:
    """Import `package`'s submodules up front, then exclude them from garbage collection.

    The generated SDK modules are huge (`pulumi_gcp.compute` alone is ~190k lines of input/output
    types) and leave about a million long-lived objects behind. Without this, every full
    collection during the program walks all of them again: the offline plan of a cloud stack was
    ~40 % slower, and a real preview pays the same. The objects live as long as the process
    anyway, so moving them to the permanent generation (`gc.freeze`) changes nothing else.
    Collection is paused while the modules load for the same reason.
    """
    sdk = importlib.import_module(package)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name in modules:
            getattr(getattr(sdk, name), "__all__", None)  # a lazy module loads on first attribute access
    finally:
        if was_enabled:
            gc.enable()
    gc.freeze()
