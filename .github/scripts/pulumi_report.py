"""Report one `pulumi preview`/`up` of pulumi-stack.yml: job summary and pull request comment.

    python3 .github/scripts/pulumi_report.py --command preview --stack prod --log pulumi.log \
        --exit-code 255 [--pr 12 --repo owner/name]

Runs after the Pulumi step whatever its outcome (`if: !cancelled()`), because the report matters
most when the command failed: the verdict (succeeded / failed with its exit code / did not run),
the policy violations (the CLI's `Policies:` section, mandatory ones marked), the errors
(`Diagnostics:` and `error:` lines), the resource summary, and the end of the log. The text goes
to $GITHUB_STEP_SUMMARY and, with --pr, replaces this stack's previous comment on the pull request
(found by a hidden marker), so a stale green comment never outlives a red run. Comments go through
the `gh` CLI with GH_TOKEN (the job's token; `pull-requests: write`). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Optional

SECTIONS = ("Policies", "Policy Violations", "Diagnostics", "Resources", "Outputs", "Duration")
_HEADING = re.compile(r"^([A-Z][A-Za-z ]+):\s*$")
MAX_COMMENT = 60_000  # GitHub refuses comment bodies over 65536 characters
TAIL_LINES = 150


def marker(stack: str) -> str:
    return f"<!-- pulumi-stack-report:{stack} -->"


def sections(log: str) -> dict[str, list[str]]:
    """The CLI's top-level sections (a heading at column 0, its indented lines), and `error:` lines."""
    found: dict[str, list[str]] = {}
    current: Optional[str] = None
    for line in log.splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = heading.group(1) if heading.group(1) in SECTIONS else None
            if current:
                found.setdefault(current, [])
            continue
        if line.startswith("error:"):
            found.setdefault("Errors", []).append(line)
            current = None
        elif current and (line.startswith((" ", "\t")) or not line.strip()):
            found[current].append(line)
        else:
            current = None
    return {k: [l for l in v if l.strip()] for k, v in found.items() if any(l.strip() for l in v)}


def render(command: str, stack: str, exit_code: Optional[int], log: Optional[str], run_url: str) -> str:
    if exit_code is None:
        verdict = "⚠️ did not run (a step before it failed: see the job log)"
    elif exit_code == 0:
        verdict = "✅ succeeded"
    else:
        verdict = f"❌ failed (exit {exit_code})"
    parts = [marker(stack), f"### `pulumi {command}` of `{stack}`: {verdict}", ""]
    if run_url:
        parts += [f"[Workflow run]({run_url})", ""]
    found = sections(log or "")
    policies = found.get("Policies", []) + found.get("Policy Violations", [])
    mandatory = [l for l in policies if "[mandatory]" in l]
    if policies:
        title = f"Policy violations ({len(mandatory)} mandatory)" if mandatory else "Policies"
        parts += [f"#### {title}", "", "```text", *policies, "```", ""]
    errors = found.get("Errors", []) + found.get("Diagnostics", [])
    if errors:
        parts += ["#### Errors and diagnostics", "", "```text", *errors[:200], "```", ""]
    if found.get("Resources"):
        parts += ["#### Resources", "", "```text", *found["Resources"], "```", ""]
    if log:
        tail = log.splitlines()[-TAIL_LINES:]
        parts += [f"<details><summary>Last {len(tail)} lines of the log</summary>", "", "```text", *tail, "```", "", "</details>", ""]
    body = "\n".join(parts)
    if len(body) > MAX_COMMENT:
        body = body[: MAX_COMMENT - 200] + "\n```\n\n(truncated: the full output is in the job log)\n"
    return body


def upsert_comment(repo: str, pr: int, stack: str, body: str) -> None:
    """Replace this stack's previous report on the pull request, or add the first one."""
    listing = subprocess.run(
        ["gh", "api", "--paginate", f"repos/{repo}/issues/{pr}/comments", "--jq",
         f'.[] | select(.body | startswith("{marker(stack)}")) | .id'],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    payload = json.dumps({"body": body})
    if listing:
        command = ["gh", "api", "--method", "PATCH", f"repos/{repo}/issues/comments/{listing[-1]}", "--input", "-"]
    else:
        command = ["gh", "api", "--method", "POST", f"repos/{repo}/issues/{pr}/comments", "--input", "-"]
    subprocess.run(command, check=True, input=payload, capture_output=True, text=True)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--command", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--exit-code", default="", help="the Pulumi step's exit code; empty when it did not run")
    parser.add_argument("--pr", type=int, default=None)
    parser.add_argument("--repo", default=os.environ.get("GITHUB_REPOSITORY", ""))
    args = parser.parse_args(argv)
    log = args.log.read_text(errors="replace") if args.log.exists() else None
    exit_code = int(args.exit_code) if args.exit_code.strip() else None
    server, repo, run_id = (os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    run_url = f"{server}/{repo}/actions/runs/{run_id}" if server and repo and run_id else ""
    body = render(args.command, args.stack, exit_code, log, run_url)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(body + "\n")
    else:
        print(body)
    if args.pr:
        upsert_comment(args.repo, args.pr, args.stack, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
