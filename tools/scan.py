"""Scan a stack with Checkov: the offline plan as a Terraform plan plus Kubernetes manifests.

    make scan STACK=prod                       # builds ./venv and ./venv-scan on first use
    python -m tools.scan --stack prod [--threshold 95] [--json]

Converts the stack (`tools.terraform_plan`), runs the pinned Checkov of `./venv-scan` over it with
the `terraform_plan` and `kubernetes` frameworks, leaving out the checks the reviewed skip file
(`.checkov-skips.yaml`) names for this stack, and prints the pass ratio of the applicable checks,
passed / (passed + failed), with the failing checks grouped by check id. Needs no network, cloud
account or credentials (Checkov runs with `--skip-download`).

Exit codes: 0 the ratio is at or above the threshold (95 % unless told); 1 below it; 2 error (the
stack cannot be planned, the skip file is invalid, Checkov is missing or did not answer).
When $GITHUB_STEP_SUMMARY is set, a markdown summary is appended to that file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from tools.plan import REPO, PlanError, available_stacks
from tools.terraform_plan import TerraformPlan, stack_plan, write_manifests

SKIP_FILE = REPO / ".checkov-skips.yaml"
DEFAULT_CHECKOV = REPO / "venv-scan" / "bin" / "checkov"
THRESHOLD = 95.0
FRAMEWORKS = ("terraform_plan", "kubernetes")
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")


class ScanError(Exception):
    """The scan could not run; the message says why."""


# --- the skip file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Skip:
    id: str
    reason: str
    stacks: tuple[str, ...] = ()  # empty: every stack

    def applies(self, stack: str) -> bool:
        return not self.stacks or stack in self.stacks


def load_skips(path: Path = SKIP_FILE, stacks: Optional[list[str]] = None) -> list[Skip]:
    """The reviewed skips. Each entry: `id` (a Checkov check id), `reason` (one line starting
    "not applicable because"), optional `stacks` (names of shipped stacks). Raises ScanError
    naming the entry and what is wrong."""
    known = stacks if stacks is not None else available_stacks()
    try:
        document = yaml.safe_load(path.read_text()) if path.exists() else {"skips": []}
    except yaml.YAMLError as err:
        raise ScanError(f"{path.name}: not valid YAML: {err}") from None
    entries = (document or {}).get("skips")
    if not isinstance(entries, list):
        raise ScanError(f"{path.name}: expected a top-level `skips:` list")
    result, seen = [], set()
    for index, entry in enumerate(entries):
        where = f"{path.name}: skips[{index}]"
        if not isinstance(entry, dict) or set(entry) - {"id", "reason", "stacks"}:
            raise ScanError(f"{where}: an entry has exactly the keys id, reason and optionally stacks")
        check_id, reason, only = entry.get("id"), entry.get("reason"), entry.get("stacks") or []
        if not isinstance(check_id, str) or not CHECK_ID.match(check_id):
            raise ScanError(f"{where}: id {check_id!r} is not a Checkov check id (CKV_..._N or CKV2_..._N)")
        if not isinstance(reason, str) or "\n" in reason.strip() or not reason.strip().lower().startswith(
            "not applicable because "
        ) or len(reason.split()) < 8:
            raise ScanError(
                f"{where} ({check_id}): the reason must be one line that starts \"not applicable because\" and "
                "says why (at least eight words)"
            )
        if not isinstance(only, list) or any(s not in known for s in only):
            raise ScanError(f"{where} ({check_id}): stacks must list shipped stacks ({', '.join(known)})")
        key = (check_id, tuple(sorted(only)))
        if key in seen or check_id in {s.id for s in result if not s.stacks or not only}:
            raise ScanError(f"{where}: {check_id} is skipped twice")
        seen.add(key)
        result.append(Skip(check_id, " ".join(reason.split()), tuple(only)))
    return result


# --- running Checkov -------------------------------------------------------------------------


@dataclass
class Finding:
    check_id: str
    name: str
    resource: str  # Terraform address or Kubernetes `Kind.namespace.name`
    framework: str
    urn: Optional[str] = None

    @property
    def resource_type(self) -> str:
        return self.resource.split(".")[0]


@dataclass
class Result:
    stack: str
    passed: int = 0
    failed: int = 0
    skipped: list[str] = field(default_factory=list)  # check ids the skip file leaves out for this stack
    by_framework: dict[str, tuple[int, int]] = field(default_factory=dict)
    failures: list[Finding] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        total = self.passed + self.failed
        return 100.0 * self.passed / total if total else 100.0


def checkov_command(checkov: Path, plan_file: Optional[Path], k8s_dir: Optional[Path], skip_ids: list[str]) -> list[str]:
    command = [str(checkov), "--skip-download", "--output", "json", "--compact", "--quiet"]
    frameworks = []
    if plan_file is not None:
        command += ["--file", str(plan_file)]
        frameworks.append("terraform_plan")
    if k8s_dir is not None:
        command += ["--directory", str(k8s_dir)]
        frameworks.append("kubernetes")
    command += ["--framework", *frameworks]
    if skip_ids:
        command += ["--skip-check", ",".join(sorted(skip_ids))]
    return command


def run_checkov(command: list[str]) -> list[dict[str, Any]]:
    """Run Checkov; its per-framework reports (exit 1 only means "some check failed")."""
    if not Path(command[0]).exists():
        raise ScanError(f"Checkov not found at {command[0]}: run `make venv-scan`")
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false",
               LOG_LEVEL="ERROR", PYTHONWARNINGS="ignore")
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode not in (0, 1):
        raise ScanError(f"Checkov exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    try:
        reports = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise ScanError(f"Checkov printed no JSON report: {(done.stderr or done.stdout).strip()[-2000:]}") from None
    reports = reports if isinstance(reports, list) else [reports]
    for report in reports:
        if report.get("summary", {}).get("parsing_errors"):
            raise ScanError(f"Checkov could not parse the {report.get('check_type')} input")
    return reports


def collect(stack: str, reports: list[dict[str, Any]], urns: dict[str, str]) -> Result:
    result = Result(stack)
    for report in reports:
        framework = report.get("check_type", "?")
        summary = report.get("summary", {})
        passed, failed = int(summary.get("passed", 0)), int(summary.get("failed", 0))
        result.passed += passed
        result.failed += failed
        result.by_framework[framework] = (passed, failed)
        for item in report.get("results", {}).get("failed_checks", []):
            resource = item.get("resource", "")
            result.failures.append(
                Finding(item["check_id"], item.get("check_name", ""), resource, framework, urns.get(resource))
            )
    return result


def scan(
    stack: str,
    checkov: Path = DEFAULT_CHECKOV,
    skips: Optional[list[Skip]] = None,
    plan: Optional[TerraformPlan] = None,
) -> Result:
    """Convert `stack` (or use `plan`), run Checkov over it, return the counts and failures."""
    skips = load_skips() if skips is None else skips
    plan = plan if plan is not None else stack_plan(stack)
    with tempfile.TemporaryDirectory(prefix=f"scan-{stack}-") as tmp:
        root = Path(tmp)
        plan_file = None
        if plan.document["planned_values"]["root_module"]["resources"]:
            plan_file = root / f"{stack}.tfplan.json"
            plan_file.write_text(json.dumps(plan.document))
        k8s_dir = None
        if plan.manifests:
            k8s_dir = root / "k8s"
            write_manifests(plan.manifests, k8s_dir)
        if plan_file is None and k8s_dir is None:
            return Result(stack)
        skip_ids = [s.id for s in skips if s.applies(stack)]
        reports = run_checkov(checkov_command(checkov, plan_file, k8s_dir, skip_ids))
    result = collect(stack, reports, plan.urns)
    result.skipped = sorted(skip_ids)
    return result


# --- reporting -------------------------------------------------------------------------------


def _component(urn: Optional[str]) -> str:
    """`aiplatform:edge:AwsLoadBalancer alb` from a child resource's URN (the component that owns it)."""
    if not urn:
        return "?"
    types = urn.split("::")[2].split("$")
    parents = [t for t in types[:-1] if t.startswith("aiplatform:")]
    return parents[-1] if parents else "(stack)"


def grouped_failures(result: Result) -> list[tuple[str, str, list[Finding]]]:
    """[(check id, check name, findings)] most frequent first."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.failures:
        groups[finding.check_id].append(finding)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(check_id, found[0].name, found) for check_id, found in ordered]


def text_report(result: Result, threshold: float) -> str:
    verdict = "PASS" if result.ratio >= threshold else "FAIL"
    lines = [
        f"Checkov scan of stack {result.stack}: {result.passed} passed, {result.failed} failed",
        f"  not applicable here (.checkov-skips.yaml): {', '.join(result.skipped) or 'none'}",
    ]
    for framework, (passed, failed) in sorted(result.by_framework.items()):
        lines.append(f"  {framework}: {passed} passed, {failed} failed")
    lines.append(f"Pass ratio {result.ratio:.1f} % (threshold {threshold:g} %): {verdict}")
    if result.failures:
        lines.append("")
        lines.append("Failing checks (count, id, name; resource types; components):")
        for check_id, name, found in grouped_failures(result):
            types = ", ".join(sorted({f.resource_type for f in found}))
            owners = ", ".join(sorted({_component(f.urn) for f in found}))
            lines.append(f"  {len(found):3d}  {check_id}  {name}")
            lines.append(f"       {types}  <-  {owners}")
    return "\n".join(lines)


def markdown_report(result: Result, threshold: float) -> str:
    verdict = ":white_check_mark: pass" if result.ratio >= threshold else ":x: below threshold"
    lines = [
        f"### Checkov scan: `{result.stack}`",
        "",
        f"**{result.ratio:.1f} %** of applicable checks pass (threshold {threshold:g} %): {verdict}. "
        f"{result.passed} passed, {result.failed} failed; not applicable (`.checkov-skips.yaml`): "
        f"{', '.join(f'`{i}`' for i in result.skipped) or 'none'}.",
        "",
    ]
    if result.failures:
        lines += ["| Check | Failures | Resource types | Components |", "| --- | ---: | --- | --- |"]
        for check_id, name, found in grouped_failures(result):
            types = ", ".join(sorted({f.resource_type for f in found}))
            owners = ", ".join(sorted({_component(f.urn) for f in found}))
            lines.append(f"| `{check_id}` {name} | {len(found)} | {types} | {owners} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.scan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: " + ", ".join(available_stacks()))
    parser.add_argument("--threshold", type=float, default=THRESHOLD, help="minimum pass ratio in percent")
    parser.add_argument("--checkov", type=Path, default=DEFAULT_CHECKOV, help="the Checkov executable")
    parser.add_argument("--skips", type=Path, default=SKIP_FILE, help="the reviewed skip file")
    parser.add_argument("--json", action="store_true", help="print the counts and failures as JSON")
    args = parser.parse_args(argv)
    try:
        result = scan(args.stack, args.checkov, load_skips(args.skips))
    except (PlanError, ScanError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        document = {
            "stack": result.stack, "passed": result.passed, "failed": result.failed, "skipped": result.skipped,
            "ratio": round(result.ratio, 2), "threshold": args.threshold,
            "failures": [f.__dict__ for f in result.failures],
        }
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        print(text_report(result, args.threshold))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(markdown_report(result, args.threshold))
    return 0 if result.ratio >= args.threshold else 1


if __name__ == "__main__":
    sys.exit(main())
