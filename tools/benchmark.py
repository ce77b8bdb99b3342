"""Benchmark: the offline plan time of each stack next to the import floor.

    python -m tools.benchmark [--runs 3] [--stack dev ...] [--project-dir DIR]

Each measurement is a fresh `python` process (what a person or CI pays), best of N runs. The
import floor is `python -c "import <every SDK module that stack's plan loaded>"` (the provider
SDKs load their submodules lazily, and each large one costs up to a second to import): the part
of the plan time the program cannot do anything about.

Progress goes to stderr, one line per stack as it starts; the table goes to stdout, a row per
stack as soon as it is measured. A stack whose file or config is invalid (the plan exits 2) or
whose plan crashes (exit 3) is reported with the plan's message and skipped; the others
are still measured, and the exit code is then 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from tools.plan import EXIT_CRASH, EXIT_INVALID, REPO, PlanError, available_stacks, read_stack_config

SDK_PACKAGES = ("pulumi", "pulumi_kubernetes", "pulumi_gcp", "pulumi_aws", "pulumi_random", "pydantic", "yaml")
TARGET_SECONDS = 3.0
COLUMNS = (
    ("stack", "the stack (Pulumi.<stack>.yaml)"),
    ("platform", "its `platform`"),
    ("plan (s)", "wall time of `python -m tools.plan --stack <stack> --json`, best of --runs fresh processes"),
    ("import floor (s)", "wall time of a fresh `python` that only imports the SDK modules that plan loads"),
    ("program (s)", "plan minus import floor: what the program, the mocks and the policies cost"),
    ("target", f"ok when the plan takes under {TARGET_SECONDS:.0f} s"),
)

_LIST_MODULES = """
import contextlib, io, sys
from pathlib import Path
from tools.plan import run_plan
with contextlib.redirect_stdout(io.StringIO()):
    run_plan(sys.argv[1], Path(sys.argv[2]), evaluate_policies=False)
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in {packages!r})))
"""


def sdk_modules(stack: str, project_dir: Path = REPO) -> str:
    """Every SDK module a stack's plan imports."""
    result = subprocess.run(
        [sys.executable, "-c", _LIST_MODULES.format(packages=set(SDK_PACKAGES)), stack, str(project_dir)],
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    return result.stdout.strip().splitlines()[-1]


def _best_of(command: list[str], runs: int) -> tuple[float, int, str]:
    """(best wall time, exit code, stderr) of `command`; stops at the first run that exits 2 or 3."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, cwd=REPO, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        best = min(best, time.perf_counter() - start)
        if result.returncode in (EXIT_INVALID, EXIT_CRASH):
            return best, result.returncode, result.stderr
    return best, 0, ""


def _error_text(stderr: str) -> str:
    """The plan's message on one line: the whole config error, or a crash's label and last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()] or ["(no message)"]
    if "Traceback (most recent call last):" in lines:
        lines = [lines[0], lines[-1]]
    return " ".join(lines).removeprefix("error: ")


def _measure(stack: str, project_dir: Path, runs: int) -> tuple[str, bool]:
    """The table row of `stack`, and whether it was measured (False: invalid or crashed, skipped)."""
    try:
        project, config, _, _ = read_stack_config(stack, project_dir)
    except PlanError as err:
        return f"{stack:<10} skipped: invalid stack file: {err}", False
    platform = config.get(f"{project}:platform", "?")
    command = [sys.executable, "-m", "tools.plan", "--stack", stack, "--json", "--project-dir", str(project_dir)]
    plan, code, stderr = _best_of(command, runs)
    if code:
        what = "invalid stack (exit 2)" if code == EXIT_INVALID else "plan crashed (exit 3)"
        return f"{stack:<10} {platform:<11} skipped: {what}: {_error_text(stderr)}", False
    # imports only, with the collector off as the program keeps it while loading SDKs
    floor, _, _ = _best_of([sys.executable, "-c", f"import gc; gc.disable(); import {sdk_modules(stack, project_dir)}"], runs)
    verdict = "ok" if plan < TARGET_SECONDS else f"over {TARGET_SECONDS:.0f} s"
    return f"{stack:<10} {platform:<11} {plan:9.2f} {floor:17.2f} {plan - floor:12.2f}  {verdict}", True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per measurement; the best counts")
    parser.add_argument("--stack", action="append", help="a stack to measure (repeatable; default: every stack)")
    parser.add_argument("--project-dir", type=Path, default=REPO, help="the Pulumi project (default: this repository)")
    args = parser.parse_args(argv)
    stacks = args.stack or available_stacks(args.project_dir)
    print("Columns:", *(f"  {name:<17} {meaning}" for name, meaning in COLUMNS), sep="\n")
    print(f"\n{'stack':<10} {'platform':<11} {'plan (s)':>9} {'import floor (s)':>17} {'program (s)':>12}  target", flush=True)
    all_measured = True
    for number, stack in enumerate(stacks, 1):
        print(f"[{number}/{len(stacks)}] {stack}: {args.runs} run(s) of the plan and of the import floor ...", file=sys.stderr, flush=True)
        row, measured = _measure(stack, args.project_dir, args.runs)
        print(row, flush=True)
        all_measured &= measured
    return 0 if all_measured else 1


if __name__ == "__main__":
    sys.exit(main())
