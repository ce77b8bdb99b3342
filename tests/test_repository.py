"""What the repository tracks: a fresh clone must stand on its own."""

from __future__ import annotations

import subprocess

from tools.plan import REPO


def test_no_symlink_is_tracked():
    """A tracked symlink (a worktree's link to another checkout's venv or node_modules) points at a
    path that exists on one machine only, and a checkout replaces the real directory with it."""
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    links = [line.split("\t", 1)[1] for line in listed.splitlines() if line.startswith("120000 ")]
    assert not links, f"tracked symlinks: {links}"
