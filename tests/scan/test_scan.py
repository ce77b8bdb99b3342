"""`make scan` / `python -m tools.scan`: the skip file, the pass ratio, exit codes and the job summary."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from tools import scan as scan_tool
from tools.scan import SKIP_FILE, ScanError, Result, load_skips, main
from tools.terraform_plan import TerraformPlan, assemble
from tests.scan.support import pair, planned


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "skips.yaml"
    path.write_text(text)
    return path


def test_the_shipped_skip_file_is_valid_short_and_justified():
    skips = load_skips(SKIP_FILE)
    assert len(skips) <= 10
    for skip in skips:
        assert skip.reason.lower().startswith("not applicable because ")
        assert "too hard" not in skip.reason.lower()


@pytest.mark.parametrize(
    "entry, complaint",
    [
        ("- id: CKV_AWS_1\n", "reason"),
        ("- id: CKV_AWS_1\n  reason: too hard to fix right now, later\n", "reason"),
        ("- id: CKV_AWS_1\n  reason: not applicable because\n", "reason"),
        ("- id: AWS_1\n  reason: not applicable because nothing here ever runs that way at all\n", "check id"),
        ("- id: CKV_AWS_1\n  reason: not applicable because nothing here ever runs that way at all\n"
         "  stacks: [nope]\n", "stacks"),
        ("- id: CKV_AWS_1\n  reason: not applicable because nothing here ever runs that way at all\n"
         "- id: CKV_AWS_1\n  reason: not applicable because nothing here ever runs that way at all\n", "twice"),
    ],
)
def test_a_skip_without_a_real_reason_is_rejected(tmp_path, entry, complaint):
    with pytest.raises(ScanError, match=complaint):
        load_skips(_write(tmp_path, "skips:\n" + entry))


def test_a_skip_can_be_limited_to_stacks(tmp_path):
    path = _write(tmp_path, "skips:\n- id: CKV_AWS_1\n  reason: not applicable because nothing here ever runs that way at all\n"
                            "  stacks: [prod-aws]\n")
    (skip,) = load_skips(path)
    assert skip.applies("prod-aws") and not skip.applies("prod")


def test_ratio_counts_applicable_checks_only():
    assert Result("s", passed=95, failed=5, skipped=["CKV_AWS_374"]).ratio == 95.0
    assert Result("s").ratio == 100.0


def _fake_checkov(tmp_path: Path, passed: int, failed: int, code: int = 1, stdout: str | None = None) -> Path:
    """A stand-in for the Checkov executable that prints a report with the given counts."""
    report = {
        "check_type": "terraform_plan",
        "summary": {"passed": passed, "failed": failed, "skipped": 0, "parsing_errors": 0},
        "results": {"failed_checks": [
            {"check_id": "CKV_AWS_16", "check_name": "RDS encrypted", "resource": "aws_db_instance.db"}
        ] * failed},
    }
    script = tmp_path / "checkov"
    text = stdout if stdout is not None else json.dumps(report)
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write({text!r})\nsys.exit({code})\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.fixture
def small_plan(monkeypatch):
    address = next(r["address"] for r in planned("prod-aws") if r["type"] == "aws_db_instance")
    plan = TerraformPlan(assemble([pair("prod-aws", address)]))
    monkeypatch.setattr(scan_tool, "stack_plan", lambda stack: plan)
    return plan


@pytest.mark.parametrize("passed, failed, expected", [(95, 5, 0), (94, 6, 1)])
def test_exit_code_follows_the_threshold_and_the_summary_is_appended(tmp_path, monkeypatch, capsys, small_plan,
                                                                     passed, failed, expected):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    checkov = _fake_checkov(tmp_path, passed, failed)
    assert main(["--stack", "prod-aws", "--checkov", str(checkov)]) == expected
    out = capsys.readouterr().out
    assert f"Pass ratio {100.0 * passed / (passed + failed):.1f} %" in out and "CKV_AWS_16" in out
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "### Checkov scan: `prod-aws`" in text and "`CKV_AWS_16`" in text


def test_errors_exit_2(tmp_path, monkeypatch, capsys, small_plan):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert main(["--stack", "prod-aws", "--checkov", str(tmp_path / "missing")]) == 2
    assert main(["--stack", "prod-aws", "--checkov", str(_fake_checkov(tmp_path, 0, 0, code=3))]) == 2
    assert main(["--stack", "prod-aws", "--checkov", str(_fake_checkov(tmp_path, 0, 0, stdout="oops"))]) == 2
    bad = _write(tmp_path, "skips:\n- id: CKV_AWS_1\n")
    assert main(["--stack", "prod-aws", "--skips", str(bad), "--checkov", str(_fake_checkov(tmp_path, 1, 0))]) == 2
    assert "error:" in capsys.readouterr().err


def test_unknown_stack_exits_2(capsys):
    assert main(["--stack", "nope"]) == 2


def test_make_scan_and_ci_build_the_scan_venv_from_its_own_pins():
    """`make scan STACK=...` and `make test` build ./venv and ./venv-scan first; .ci/run rebuilds them;
    requirements-scan.txt pins every package exactly (installed with --no-deps: nothing floats)."""
    repo = SKIP_FILE.parent
    makefile = (repo / "Makefile").read_text()
    assert "scan: $(VENV)/.installed $(SCAN_VENV)/.installed" in makefile
    assert "-m tools.scan --stack $(STACK) --checkov $(SCAN_VENV)/bin/checkov" in makefile
    assert "-r requirements-scan.txt" in makefile
    # the README's test command builds it too, and CI starts from none (rebuilt from the pins)
    test_target = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert "$(SCAN_VENV)/.installed" in test_target
    ci = (repo / ".ci" / "run").read_text()
    assert "venv-scan" in ci.split("\nmake test")[0].split("rm -rf", 1)[1].splitlines()[0]
    pins = [line for line in (repo / "requirements-scan.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins)
    assert any(line.startswith("checkov==") for line in pins)
    # without the slash: a worktree's venv-scan symlink is ignored too (tests/test_repository.py)
    assert "venv-scan" in (repo / ".gitignore").read_text().splitlines()
