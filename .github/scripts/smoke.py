"""Smoke test of a deployed stack's public URLs and health paths (deploy-lane.yml, before prod).

    URLS='{"frontend": "https://app.staging.example.com", "api": "https://api.staging.example.com"}' \
        ./venv/bin/python .github/scripts/smoke.py --stack staging [--wait 900]

`URLS` is the stack's `urls` output (`pulumi stack output urls --json`, passed on by
pulumi-stack.yml). Which services must answer, and on which path, comes from the stack file: every
service with a `route` answers `GET <url><healthPath>` with HTTP 200 (the frontend `/api/health`,
the API `/health`, per components/config/defaults.py). A fresh edge (DNS, a managed certificate) may take
minutes, so each URL is retried every `--interval` seconds until `--wait` seconds have passed.
Writes a table to $GITHUB_STEP_SUMMARY when set. Exit 0 all healthy, 1 a check failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[2]


def health_checks(stack: str, urls: dict[str, Any]) -> list[tuple[str, str]]:
    """(service, URL to GET) for every routed service of the stack; ValueError on a missing URL."""
    sys.path.insert(0, str(REPO))
    from tools.release import stack_file_config

    parsed = stack_file_config(stack)[0]
    checks = []
    for name, service in sorted(parsed.services.items()):
        if service.route is None:
            continue
        base = urls.get(name)
        if not isinstance(base, str) or not base.startswith(("https://", "http://")):
            raise ValueError(f"stack output `urls` has no URL for routed service {name!r}: {sorted(urls)}")
        checks.append((name, base.rstrip("/") + (service.health_path or "/")))
    if not checks:
        raise ValueError(f"stack {stack} routes no service: nothing to smoke-test")
    return checks


def probe(url: str, timeout: float) -> tuple[Optional[int], str]:
    request = urllib.request.Request(url, headers={"User-Agent": "ai-assistant-platform-smoke/1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https/http only)
            return response.status, ""
    except urllib.error.HTTPError as err:
        return err.code, ""
    except (urllib.error.URLError, OSError) as err:
        return None, str(getattr(err, "reason", err))


def run(checks: list[tuple[str, str]], wait: float, interval: float, timeout: float) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + wait
    results: dict[str, tuple[str, str, str]] = {}
    pending = list(checks)
    while True:
        still = []
        for name, url in pending:
            status, error = probe(url, timeout)
            verdict = "ok" if status == 200 else (f"HTTP {status}" if status else f"unreachable ({error})")
            results[name] = (name, url, verdict)
            if status != 200:
                still.append((name, url))
        pending = still
        if not pending or time.monotonic() + interval > deadline:
            return [results[name] for name, _ in checks]
        time.sleep(interval)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--wait", type=float, default=900, help="seconds to keep retrying (default 900)")
    parser.add_argument("--interval", type=float, default=15)
    parser.add_argument("--timeout", type=float, default=10, help="seconds per request")
    args = parser.parse_args(argv)
    try:
        urls = json.loads(os.environ.get("URLS") or "null")
        if not isinstance(urls, dict):
            raise ValueError("URLS must be the stack's `urls` output, a JSON object of service -> URL")
        checks = health_checks(args.stack, urls)
    except Exception as err:  # noqa: BLE001 -- bad input is exit 2, with the reason
        print(f"::error title=Smoke test of {args.stack}::{err}")
        return 2
    results = run(checks, args.wait, args.interval, args.timeout)
    failed = [r for r in results if r[2] != "ok"]
    lines = [f"## Smoke test of `{args.stack}`: {'passed' if not failed else 'FAILED'}", "", "| service | URL | result |", "|---|---|---|"]
    lines += [f"| {name} | {url} | {'✅' if verdict == 'ok' else '❌'} {verdict} |" for name, url, verdict in results]
    text = "\n".join(lines) + "\n"
    print(text)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(text)
    for name, url, verdict in failed:
        print(f"::error title=Smoke test of {args.stack}::{name} {url}: {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
