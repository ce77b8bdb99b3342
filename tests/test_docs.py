"""The README stays true: its config reference is the schema's, its quick start is the Makefile's."""

from __future__ import annotations

from tools.config_reference import END, START, reference
from tools.plan import REPO


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
