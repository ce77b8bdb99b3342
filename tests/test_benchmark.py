"""`make bench` (tools/benchmark.py): survives invalid stacks, shows progress, explains its columns."""

from __future__ import annotations

from tests.helpers import project_copy
from tools import benchmark
from tools.plan import REPO


def test_bench_reports_an_invalid_stack_and_measures_the_others(tmp_path, capsys):
    dev = (REPO / "Pulumi.dev.yaml").read_text()
    project_copy(tmp_path, {
        "a-broken": "config: [unclosed\n",  # not YAML
        "b-bad": dev.replace("environment: dev", "environment: qa"),  # a config error
        "c-dev": dev,
    })
    assert benchmark.main(["--runs", "1", "--project-dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in ("a-broken", "b-bad", "c-dev")}
    assert "skipped: invalid stack file: Pulumi.a-broken.yaml: not valid YAML" in rows["a-broken"]
    assert "skipped: invalid stack (exit 2)" in rows["b-bad"] and "environment" in rows["b-bad"]
    assert rows["c-dev"].split()[1] == "kubernetes" and "skipped" not in rows["c-dev"]
    assert float(rows["c-dev"].split()[2]) > 0
    assert [line.split(":")[0] for line in err.splitlines() if line.startswith("[")] == ["[1/3] a-broken", "[2/3] b-bad", "[3/3] c-dev"]
    for name, _ in benchmark.COLUMNS:
        assert f"  {name} " in out.split("\n\n")[0]
