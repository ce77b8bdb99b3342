"""Benchmark: the offline plan time of each shipped stack next to the import floor.

    python -m tools.benchmark [--runs 3]

Each measurement is a fresh `python` process (what a person or CI pays), best of N runs. The
import floor is `python -c "import <every SDK module that stack's plan loaded>"` (the provider
SDKs load their submodules lazily, and each large one costs up to a second to import): the part
of the plan time the program cannot do anything about.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from tools.plan import REPO, available_stacks, read_stack_config

SDK_PACKAGES = ("pulumi", "pulumi_kubernetes", "pulumi_gcp", "pulumi_aws", "pulumi_random", "pydantic", "yaml")
TARGET_SECONDS = 3.0

_LIST_MODULES = """
import contextlib, io, sys
from tools.plan import run_plan
with contextlib.redirect_stdout(io.StringIO()):
    run_plan(sys.argv[1], evaluate_policies=False)
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in {packages!r})))
"""


def sdk_modules(stack: str) -> str:
    """Every SDK module a stack's plan imports."""
    result = subprocess.run(
        [sys.executable, "-c", _LIST_MODULES.format(packages=set(SDK_PACKAGES)), stack],
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    return result.stdout.strip().splitlines()[-1]


def _best_of(command: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'stack':<10} {'platform':<11} {'plan (s)':>9} {'import floor (s)':>17} {'program (s)':>12}  target")
    for stack in available_stacks():
        project, config, _, _ = read_stack_config(stack)
        platform = config.get(f"{project}:platform", "?")
        plan = _best_of([sys.executable, "-m", "tools.plan", "--stack", stack, "--json"], args.runs)
        # imports only, with the collector off as the program keeps it while loading SDKs
        floor = _best_of([sys.executable, "-c", f"import gc; gc.disable(); import {sdk_modules(stack)}"], args.runs)
        verdict = "ok" if plan < TARGET_SECONDS else f"over {TARGET_SECONDS:.0f} s"
        print(f"{stack:<10} {platform:<11} {plan:9.2f} {floor:17.2f} {plan - floor:12.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
