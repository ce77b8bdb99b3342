"""The offline plan: what a stack would create, and what the policy pack says about it.

    python -m tools.plan --stack dev            # readable summary
    python -m tools.plan --stack prod --json    # the JSON document of DESIGN.md
    python -m tools.plan --stack x --project-dir DIR   # a stack of another copy of the project

Runs the real program (`__main__.py`) for the stack under Pulumi mocks, with the config read from
`Pulumi.<stack>.yaml`. Encrypted (`secure:`) values, and provided secrets the file does not hold,
are replaced by placeholders that stay secret. Needs no cloud account, credentials or Pulumi CLI.

Exit codes (the CI job and docs/ci.md label them the same way):

    0  the stack plans and no mandatory policy is violated
    1  a mandatory policy is violated (the plan itself ran to the end)
    2  the stack or its config is invalid (unknown stack, bad stack file, config error)
    3  the plan crashed: an unexpected exception in the program, a policy rule or this tool; the
       traceback is on stderr. Never reported as a policy verdict.

Piped into a reader that stops early (`--json | head`), the plan stops writing quietly and keeps
its exit code. The text summary prints every output in full, long ones wrapped.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
import textwrap
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from tools.harness import Capture, run_mocked

REPO = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRET = "offline-plan-placeholder"
EXIT_OK, EXIT_MANDATORY, EXIT_INVALID, EXIT_CRASH = 0, 1, 2, 3
WIDTH = 100  # the text plan's line width for outputs (wrapped, never cut)


class PlanError(Exception):
    """The stack cannot be planned (unknown stack, invalid stack file). Message is complete."""


@dataclass
class Plan:
    stack: str
    project: str
    platform: str
    capture: Capture
    violations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def mandatory(self) -> list[dict[str, Any]]:
        return [v for v in self.violations if v["enforcement"] == "mandatory"]

    def as_document(self) -> dict[str, Any]:
        """The JSON contract. Resources are ordered by URN (registration order depends on asyncio
        scheduling, and two plans of the same code must diff clean); violations come ordered by level,
        policy and URN from the evaluator."""
        return {
            "stack": self.stack,
            "project": self.project,
            "platform": self.platform,
            "resources": [r.as_dict() for r in sorted(self.capture.resources, key=lambda r: r.urn)],
            "outputs": self.capture.outputs,
            "violations": self.violations,  # ordered by policies.offline.evaluate
        }


def available_stacks(project_dir: Path = REPO) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


class _StackFileLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate mapping keys at any level as the Pulumi CLI does
    (it reads stack files with Go's yaml.v3: "mapping key ... already defined at line N"); PyYAML
    alone keeps the last one, so a second `environment:` would silently turn dev into prod."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):  # the CLI's config keys are strings
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain string, not a list or mapping", key_node.start_mark
                )
            # yaml.v3 compares the keys' text, as here: `1` and "1" are the same key to the CLI
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"mapping key {key_node.value!r} already defined at line {seen[key_node.value]}",
                    key_node.start_mark,
                )
            seen[key_node.value] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _yaml_error(stack_file: str, err: yaml.YAMLError) -> PlanError:
    """One line: the stack file, where (line, column) and what is wrong; never a traceback."""
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    what = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    return PlanError(f"{stack_file}: not valid YAML{where}: {what}" + (f" ({context})" if context else ""))


def read_stack_document(stack_file: Path) -> dict[str, Any]:
    """The `config:` mapping of a stack file, or PlanError (file, what is wrong, where) for a file
    the Pulumi CLI would refuse: invalid YAML, duplicate keys, a document or `config:` that is not a
    mapping, config keys that are not strings."""
    name = stack_file.name
    try:
        document = yaml.load(stack_file.read_text(), Loader=_StackFileLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as err:
        raise _yaml_error(name, err) from None
    except UnicodeDecodeError as err:
        raise PlanError(f"{name}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if document is None:
        document = {}  # an empty stack file: no config (the schema then names what is required)
    if not isinstance(document, dict):
        raise PlanError(
            f"{name}: a stack file is a mapping with a `config:` key (config: {{{PROJECT_KEY_HINT}: ...}}), "
            f"not a {type(document).__name__}"
        )
    raw = document.get("config")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PlanError(f"{name}: `config` must be a mapping of `namespace:key: value`, not a {type(raw).__name__}")
    bad = [repr(k) for k in raw if not isinstance(k, str)]
    if bad:
        raise PlanError(f"{name}: config keys must be strings such as `{PROJECT_KEY_HINT}`; found {', '.join(bad)}")
    return raw


PROJECT_KEY_HINT = "ai-assistant-platform:platform"


def read_stack_config(stack: str, project_dir: Path = REPO) -> tuple[str, dict[str, str], list[str], list[str]]:
    """Return (project, engine config, secret keys, notes) as the CLI would pass them."""
    from components.config import declared_provided_secret_keys

    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise PlanError(
            f"unknown stack {stack!r}: there is no {stack_file.name}; "
            f"stacks: {', '.join(available_stacks(project_dir)) or 'none'}"
        )
    raw = read_stack_document(stack_file)

    config: dict[str, str] = {}
    secret_keys: list[str] = []
    notes: list[str] = []
    for key, value in raw.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full_key] = PLACEHOLDER_SECRET
            secret_keys.append(full_key)
        elif isinstance(value, (dict, list)) or value is None:
            config[full_key] = json.dumps(value, default=str)
        elif isinstance(value, bool):
            config[full_key] = "true" if value else "false"
        else:
            config[full_key] = str(value)

    structured = {k.partition(":")[2]: v for k, v in raw.items() if k.partition(":")[0] in ("", project)}
    for key in declared_provided_secret_keys(structured):
        full_key = f"{project}:{key}"
        if full_key not in config:
            config[full_key] = PLACEHOLDER_SECRET
            secret_keys.append(full_key)
            notes.append(f"secret {key} is not in {stack_file.name}; a placeholder stands in for it")
    return project, config, secret_keys, notes


def run_program(
    project: str, stack: str, config: dict[str, str], secret_keys: list[str], project_dir: Path = REPO
) -> Capture:
    """Run `__main__.py` under mocks as `stack` with the engine config `config`; no policies.

    The CLI's own config variables are hidden meanwhile, so only `config` reaches the program."""
    main = str(project_dir / "__main__.py")
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    saved_env = {k: os.environ.pop(k) for k in ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS") if k in os.environ}
    try:
        return run_mocked(
            lambda: runpy.run_path(main, run_name="__main__"),
            project=project, stack=stack, config=config, secret_keys=secret_keys,
        )
    finally:
        os.environ.update(saved_env)


def run_plan(stack: str, project_dir: Path = REPO, evaluate_policies: bool = True) -> Plan:
    """Run the program of `stack` under mocks and (optionally) the policy pack over the result."""
    from components.config import ConfigError

    project, config, secret_keys, notes = read_stack_config(stack, project_dir)
    try:
        capture = run_program(project, stack, config, secret_keys, project_dir)
    except ConfigError as err:
        raise PlanError(str(err)) from None
    except Exception as err:  # pulumi.RunError carries the ConfigError text
        if type(err).__name__ == "RunError":
            raise PlanError(str(err)) from None
        raise
    platform = config.get(f"{project}:platform", "unknown")
    plan = Plan(stack=stack, project=project, platform=platform, capture=capture, notes=notes)
    if evaluate_policies:
        environment = config.get(f"{project}:environment")
        plan.violations, note = _evaluate_policies(stack, capture, project_dir, environment)
        plan.notes += [note] if note else []
    return plan


def _evaluate_policies(
    stack: str, capture: Capture, project_dir: Path, environment: Optional[str]
) -> tuple[list[dict[str, Any]], Optional[str]]:
    """The violations, and a note when the stack has no policy config and got its environment's defaults."""
    try:
        from policies.config_file import config_path, defaults_note
        from policies.offline import evaluate
    except ModuleNotFoundError as err:
        if err.name not in ("policies", "policies.offline", "policies.config_file"):
            raise
        return [], None
    violations = evaluate(stack, [r.as_dict() for r in capture.resources], project_dir=project_dir, environment=environment)
    missing = environment and not config_path(stack, project_dir).exists()
    return violations, defaults_note(stack, environment) if missing else None


def _component_label(urn: Optional[str], by_urn: dict[str, Any]) -> str:
    if urn is None or urn not in by_urn:
        return "(stack)"
    reg = by_urn[urn]
    return f"{reg.type} {reg.name}"


def _wrap(text: str, width: int) -> list[str]:
    """`text` wrapped at word boundaries (URLs and names never broken), its own line breaks kept."""
    return [
        line
        for paragraph in text.splitlines() or [""]
        for line in textwrap.wrap(paragraph, width, break_long_words=False, break_on_hyphens=False) or [""]
    ]


def _render_output(key: Optional[str], value: Any, indent: str) -> list[str]:
    """One output (or a part of one, `key` None for a list item) in full: on one line when it fits
    in WIDTH, else a mapping or list item by item and text wrapped. Nothing is cut: the text plan is
    what people read the DR runbook from."""
    head = f"{indent}{key}:" if key is not None else f"{indent}-"
    text = value if isinstance(value, str) else json.dumps(value)
    if "\n" not in text and len(head) + 1 + len(text) <= WIDTH:
        return [f"{head} {text}"]
    inner = indent + "    "
    if isinstance(value, dict) and value:
        return [head] + [line for k, v in value.items() for line in _render_output(str(k), v, inner)]
    if isinstance(value, list) and value:
        return [head] + [line for item in value for line in _render_output(None, item, inner)]
    if key is None:  # a list item's text starts on the dash line and continues under it
        first, *rest = _wrap(text, WIDTH - len(indent) - 2)
        return [f"{head} {first}"] + [f"{indent}  {line}" for line in rest]
    return [head] + [inner + line for line in _wrap(text, WIDTH - len(inner))]


def summary(plan: Plan) -> str:
    resources = plan.capture.resources
    by_urn = {r.urn: r for r in resources}
    custom = sorted((r for r in resources if r.custom), key=lambda r: r.urn)
    lines = [
        f"Stack {plan.stack} ({plan.project}), platform {plan.platform}: "
        f"{len(custom)} resources in {len(resources) - len(custom)} components",
        "",
    ]
    grouped: dict[str, Counter] = defaultdict(Counter)
    order: list[str] = []
    for r in custom:
        label = _component_label(r.parent, by_urn)
        if label not in grouped:
            order.append(label)
        grouped[label][r.type + (" [protected]" if r.protect else "")] += 1
    for label in order:
        lines.append(f"  {label}")
        for type_token, count in sorted(grouped[label].items()):
            lines.append(f"      {count:3d} x {type_token}")
    lines.append("")
    lines.append("Outputs:")
    for key, value in sorted(plan.capture.outputs.items()):
        lines += _render_output(key, value, "  ")
    for note in plan.notes:
        lines.append(f"Note: {note}")
    lines.append("")
    for level in ("mandatory", "advisory"):
        found = [v for v in plan.violations if v["enforcement"] == level]
        lines.append(f"Policy violations ({level}): {len(found)}")
        for v in found:
            lines.append(f"  [{v['policy']}] {v['message']}" + (f"\n      at {v['urn']}" if v.get("urn") else ""))
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: " + ", ".join(available_stacks()))
    parser.add_argument("--json", action="store_true", help="print the plan as one JSON document")
    parser.add_argument("--project-dir", type=Path, default=REPO, help="the Pulumi project (default: this repository)")
    args = parser.parse_args(argv)
    try:
        plan = run_plan(args.stack, args.project_dir)
        text = json.dumps(plan.as_document(), indent=2, sort_keys=True) if args.json else summary(plan)
    except PlanError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INVALID
    except Exception:  # noqa: BLE001 -- a crash must not look like a policy verdict (exit 1)
        print(f"error: the offline plan of {args.stack} crashed (exit {EXIT_CRASH}); this is a bug, not a policy verdict:", file=sys.stderr)
        traceback.print_exc()
        return EXIT_CRASH
    verdict = EXIT_MANDATORY if plan.mandatory else EXIT_OK
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `... --json | head`: the reader has what it wanted; stop quietly
        _silence_stdout()
    return verdict


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that the interpreter's final flush does not
    raise again (the Python docs' recipe for SIGPIPE); the exit code stays the plan's verdict."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
