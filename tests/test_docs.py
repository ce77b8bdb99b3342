"""The README stays true: its config reference is the schema's, its quick start is the Makefile's, its
layout is the code's and its outputs tables are the shipped stacks' outputs."""

from __future__ import annotations

import json
import re

import pytest

from components.config import PLATFORMS
from tests.helpers import plan_of
from tools.config_reference import END, START, reference
from tools.plan import REPO, available_stacks


def test_config_reference_matches_the_schema():
    readme = (REPO / "README.md").read_text()
    section = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert section == reference().strip(), "run `python -m tools.config_reference --write`"


def test_quick_start_commands_exist():
    readme = (REPO / "README.md").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert "make test" in readme and "make plan STACK=dev" in readme
    assert "\ntest:" in makefile and "\nplan:" in makefile
    assert "make test" in (REPO / ".ci" / "run").read_text()


# --- the layout section names the code as it is ------------------------------------------------

_ROOTS = ("components/", "policies/", "tools/", "tests/", "docs/", ".github/", ".ci/")


def _section(readme: str, title: str) -> str:
    """The text of `## <title>` up to the next second-level heading."""
    body = readme.split(f"\n## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def _expand(path: str) -> list[str]:
    """'components/config/{a,b}.py' -> ['components/config/a.py', 'components/config/b.py']."""
    match = re.search(r"\{([^{}]+)\}", path)
    if not match:
        return [path]
    return [p for part in match.group(1).split(",") for p in _expand(path[: match.start()] + part + path[match.end():])]


def layout_paths(readme: str) -> set[str]:
    """Every repository path the layout's code block names."""
    block = _section(readme, "Layout").split("```", 2)[1]
    paths = set()
    for token in re.findall(r"[\w.{},/<>-]+", block):
        token = token.rstrip(".,;:")
        if "<" in token or not (token.startswith(_ROOTS) or re.fullmatch(r"[\w-]+\.(py|yaml|yml|txt|ini)", token)):
            continue
        paths.update(_expand(token))
    return paths


def test_every_path_the_layout_names_exists():
    paths = layout_paths((REPO / "README.md").read_text())
    assert len(paths) > 20
    missing = sorted(p for p in paths if not (REPO / p).exists())
    assert not missing, f"the README's layout names paths the code does not have: {missing}"


def test_the_layout_names_every_component_directory_and_module():
    paths = layout_paths((REPO / "README.md").read_text())
    components = REPO / "components"
    expected = {f"components/{d.name}/" for d in components.iterdir() if (d / "__init__.py").exists()}
    expected |= {f"components/{f.name}" for f in components.glob("*.py") if f.name != "__init__.py"}
    expected |= {f"components/config/{f.name}" for f in (components / "config").glob("*.py") if f.name != "__init__.py"}
    expected |= {f"components/platforms/{f.name}" for f in (components / "platforms").glob("*.py") if f.name != "__init__.py"}
    unnamed = sorted(expected - paths)
    assert not unnamed, f"name these in the README's layout: {unnamed}"


@pytest.mark.parametrize(
    "block, expected",
    [("components/{a,b}.py  x", {"components/a.py", "components/b.py"}), ("CPU/memory tools/plan.py.", {"tools/plan.py"})],
)
def test_layout_paths_are_read_as_written(block, expected):
    assert layout_paths(f"intro\n## Layout\n\n```\n{block}\n```\n") == expected


# --- the outputs tables are the stacks' outputs ------------------------------------------------

# outputs that no shipped stack has, and a config under which one does: (stack, changes)
CONDITIONAL_OUTPUTS = {
    ("ecs", "dnsValidationRecords"): ("staging-aws", {"aws.hostedZoneId": None}),
    ("ecs", "dnsRecordsToCreate"): ("staging-aws", {"aws.hostedZoneId": None}),
}


def output_tables(readme: str) -> dict[str, dict[str, bool]]:
    """platform -> output name -> secret, from the README's `### `<platform>` outputs` tables."""
    tables: dict[str, dict[str, bool]] = {}
    section = _section(readme, "Outputs")
    for platform, body in re.findall(r"\n### `([a-z]+)` outputs\n(.*?)(?=\n### |\Z)", section, re.S):
        rows = [line for line in body.splitlines() if line.startswith("| `")]
        tables[platform] = {}
        for row in rows:
            cells = [c.strip() for c in row.strip().strip("|").split("|")]
            assert cells[-1] in ("yes", "no"), row
            tables[platform][cells[0].strip("`")] = cells[-1] == "yes"
    return tables


def _stack_outputs() -> dict[str, dict[str, bool]]:
    """platform -> output name -> secret in any shipped stack of the platform."""
    found: dict[str, dict[str, bool]] = {}
    for stack in available_stacks():
        plan = plan_of(stack)
        outputs = found.setdefault(plan.platform, {})
        for name, value in plan.capture.outputs.items():
            outputs[name] = outputs.get(name, False) or "[secret]" in json.dumps(value, default=str)
    return found


def test_the_outputs_tables_are_the_outputs_of_the_shipped_stacks():
    tables = output_tables((REPO / "README.md").read_text())
    actual = _stack_outputs()
    assert sorted(tables) == sorted(actual) == sorted(PLATFORMS)
    for platform, outputs in actual.items():
        documented = {k: v for k, v in tables[platform].items() if (platform, k) not in CONDITIONAL_OUTPUTS}
        undocumented, gone = sorted(set(outputs) - set(documented)), sorted(set(documented) - set(outputs))
        assert not undocumented and not gone, f"{platform}: document {undocumented}; no stack outputs {gone}"
        wrong = sorted(k for k, secret in outputs.items() if documented[k] != secret)
        assert not wrong, f"{platform}: the secret column is wrong for {wrong}"


@pytest.mark.parametrize("platform, output", sorted(CONDITIONAL_OUTPUTS))
def test_conditional_outputs_appear_under_their_condition(platform, output):
    from tests.gcp.test_replacement import plan_with

    stack, changes = CONDITIONAL_OUTPUTS[(platform, output)]
    assert output in output_tables((REPO / "README.md").read_text())[platform]
    assert output not in plan_of(stack).capture.outputs
    assert output in plan_with(stack, changes).outputs
