"""No stack file gets past the loader wrongly: every bad one ends with exit 2 and one message that
names the stack file, the key path, the value and what is allowed, and nothing is registered.

Every case goes through the offline plan's command line (`tools.plan.main` with `--project-dir`),
so the stack file is read as the CLI would pass it and `__main__.py` runs under mocks with the same
loader (`load_stack_context`) a real `pulumi up` uses.
"""

from __future__ import annotations

import pytest

import tools.harness
from tests.helpers import project_copy
from tools import plan as plan_tool
from tools.plan import REPO

DEV = (REPO / "Pulumi.dev.yaml").read_text()
PROD_AWS = (REPO / "Pulumi.prod-aws.yaml").read_text()
NS = "ai-assistant-platform"


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def under_frontend(lines: str, text: str = DEV) -> str:
    """`lines` added to services.frontend of the dev stack file."""
    return edit(text, "      uses: [redis]\n", "      uses: [redis]\n" + lines)


def appended(section: str, body: str, text: str = DEV) -> str:
    return text + f"  {NS}:{section}:\n" + body


@pytest.fixture
def planned(tmp_path, monkeypatch, capsys):
    """plan(text) -> (exit code, stderr, registrations) of a project copy whose stack `bad` is `text`."""
    monitors: list[tools.harness.RecordingMonitor] = []

    class Recording(tools.harness.RecordingMonitor):
        def __init__(self, mocks):
            super().__init__(mocks)
            monitors.append(self)

    monkeypatch.setattr(tools.harness, "RecordingMonitor", Recording)

    def plan(text: str):
        project_copy(tmp_path, {"bad": text})
        code = plan_tool.main(["--stack", "bad", "--project-dir", str(tmp_path)])
        out, err = capsys.readouterr()
        registered = [r for m in monitors for r in m.registrations]
        monitors.clear()
        return code, err, registered

    return plan


def assert_refused(result, *fragments: str) -> str:
    code, err, registered = result
    assert code == plan_tool.EXIT_INVALID == 2, err
    assert "Traceback" not in err, err
    assert err.count("error:") == 1 and err.startswith("error: Pulumi.bad.yaml: "), err
    assert registered == [], [r.urn for r in registered]
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    return err


# --- 1. what the CLI itself refuses: not a mapping, YAML errors, duplicate keys ------------------

@pytest.mark.parametrize(
    "text, fragments",
    [
        ("just a string\n", ["a stack file is a mapping with a `config:` key", "not a str"]),
        ("- platform\n- kubernetes\n", ["a stack file is a mapping", "not a list"]),
        ("", [f"{NS}:platform: is required: one of kubernetes", f"{NS}:environment: is required: one of dev"]),
        ("config:\n  - a\n", ["`config` must be a mapping", "not a list"]),
        ("config: 5\n", ["`config` must be a mapping", "not a int"]),
        ("config:\n  1: kubernetes\n", ["config keys must be strings", "found 1"]),
        ("config:\n  a: [1, 2\n", ["not valid YAML at line 3, column 1", "expected ',' or ']'"]),
        ("config:\n\tb: 1\n", ["not valid YAML at line 2, column 1", "'\\t'"]),
        (
            edit(DEV, f"  {NS}:environment: dev\n", f"  {NS}:environment: dev\n  {NS}:environment: prod\n"),
            ["not valid YAML at line 9, column 3", f"mapping key '{NS}:environment' already defined at line 8"],
        ),
        (under_frontend("      uses: [postgres]\n"), ["line 25, column 7", "mapping key 'uses' already defined at line 24"]),
        (appended("edge", "    rateLimits: {globalPerMinute: 900, globalPerMinute: 100}\n"),
         ["line 42, column 40", "mapping key 'globalPerMinute' already defined at line 42"]),
    ],
    ids=["scalar", "list", "empty", "config-list", "config-scalar", "int-key", "yaml-error", "tab",
         "duplicate-environment", "duplicate-nested", "duplicate-flow"],
)
def test_files_the_cli_refuses(planned, text, fragments):
    assert_refused(planned(text), *fragments)


# --- 2. typos are named at every level, and only the typo -----------------------------------------

@pytest.mark.parametrize(
    "text, line",
    [
        (edit(DEV, f"{NS}:services:", f"{NS}:servces:"), f"{NS}:servces: unknown key `servces` (did you mean `services`?)"),
        (under_frontend("      imgae: ghcr.io/x/y:1\n"),
         f"{NS}:services.frontend.imgae = 'ghcr.io/x/y:1': unknown key `imgae` (did you mean `image`?)"),
        (under_frontend("      route: {subdomain: app, path: [/]}\n"),
         f"{NS}:services.frontend.route.path = ['/']: unknown key `path` (did you mean `paths`?)"),
        (under_frontend("      release: {rollback: {automatc: true}}\n"),
         f"{NS}:services.frontend.release.rollback.automatc = True: unknown key `automatc` (did you mean `automatic`?)"),
        (appended("data", "    postgres:\n      storageGB: 5\n"),
         f"{NS}:data.postgres.storageGB = 5: unknown key `storageGB` (did you mean `storageGi`?)"),
        (appended("edge", "    rateLimits:\n      perClientPerMinut: 50\n"),
         f"{NS}:edge.rateLimits.perClientPerMinut = 50: unknown key `perClientPerMinut` (did you mean `perClientPerMinute`?)"),
        (appended("monitoring", "    thresholds:\n      colour: red\n"),
         f"{NS}:monitoring.thresholds.colour = 'red': unknown key `colour`; allowed under `monitoring.thresholds`: "
         "backupMaxAgeHours, cpuPercent"),
        (appended("kubernetes", "    namespce: ai\n"),
         f"{NS}:kubernetes.namespce = 'ai': unknown key `namespce` (did you mean `namespace`?)"),
    ],
    ids=["top", "service", "route", "rollback", "data", "edge", "no-close-match", "platform-section"],
)
def test_a_typo_is_named_once_with_the_key_it_probably_means(planned, text, line):
    err = assert_refused(planned(text), line, "(1 problem(s))")
    assert "is required" not in err


# --- 3. strict types ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, line",
    [
        (under_frontend("      port: true\n"), f"{NS}:services.frontend.port = True: must be an integer, not a boolean"),
        (under_frontend('      minReplicas: "3"\n'),
         f"{NS}:services.frontend.minReplicas = '3': must be an integer, not a string (write it without quotes)"),
        (under_frontend("      maxReplicas: 2.5\n"), f"{NS}:services.frontend.maxReplicas = 2.5: must be an integer"),
        (appended("edge", '    cdn: "yes"\n'), f"{NS}:edge.cdn = 'yes': must be true or false, not a string"),
        (appended("edge", "    waf: 1\n"), f"{NS}:edge.waf = 1: must be true or false, not an integer"),
        (appended("data", "    postgres:\n      storageGi: 1.5\n"),
         f"{NS}:data.postgres.storageGi = 1.5: must be an integer, not a number"),
        (appended("monitoring", "    thresholds:\n      cpuPercent: true\n"),
         f"{NS}:monitoring.thresholds.cpuPercent = True: must be a number, not a boolean"),
        (edit(DEV, f"{NS}:domain: localtest.me", f"{NS}:domain: 5"), f"{NS}:domain = 5: must be a string, not an integer"),
        (edit(DEV, "      secrets: [SESSION_SECRET]\n", "      secrets: SESSION_SECRET\n"),
         f"{NS}:services.frontend.secrets = 'SESSION_SECRET': must be a list, not a string"),
        (edit(DEV, "      uses: [redis]\n", "      uses: redis\n"),
         f"{NS}:services.frontend.uses = 'redis': must be a list, not a string"),
        (appended("dr", "    retention: 30\n"), f"{NS}:dr.retention = 30: must be a mapping, not an integer"),
    ],
    ids=["port-bool", "quoted-int", "float-int", "cdn-yes", "bool-int", "storage-float", "float-bool",
         "domain-int", "list-scalar", "uses-scalar", "mapping-scalar"],
)
def test_a_value_of_the_wrong_type_is_refused_not_coerced(planned, text, line):
    assert_refused(planned(text), line)


# --- 4. any service name gets the defaults of its kind; the name rule is shown --------------------

def test_a_service_without_what_it_needs_says_which_keys(planned):
    text = edit(DEV, f"  {NS}:tags:", "    chat:\n      port: 9000\n" + f"  {NS}:tags:")
    err = assert_refused(planned(text), f"{NS}:services.chat.image: is required: every service needs `image`")
    assert "cpu" not in err and "minReplicas" not in err  # sizes come from the kind's defaults


def test_a_bad_service_name_shows_the_rule_and_why(planned):
    """Even when the badly named service has other problems (here: no image)."""
    text = edit(DEV, f"  {NS}:tags:", "    Chat_Service:\n      port: 9000\n" + f"  {NS}:tags:")
    assert_refused(planned(text), f"{NS}:services: service name(s) 'Chat_Service'", "DNS label of at most 20 characters",
                   "lowercase letters, digits and '-'", "named after it")


def test_a_stack_without_services_says_so_once(planned):
    text = f"config:\n  {NS}:platform: kubernetes\n  {NS}:environment: dev\n  {NS}:regions: {{primary: local}}\n  {NS}:domain: a.example.com\n"
    err = assert_refused(planned(text), f"{NS}:services: is required", "(1 problem(s))")
    assert "image" not in err


# --- 5. another platform's section ----------------------------------------------------------------

@pytest.mark.parametrize(
    "text, line",
    [
        (appended("aws", "    azCount: 3\n"), f"{NS}:aws: is read only by platform(s) ecs; this stack's platform is kubernetes"),
        (appended("gke", "    releaseChannel: REGULAR\n"), f"{NS}:gke: is read only by platform(s) gke; this stack's platform is kubernetes"),
        (appended("gcp", "    project: x\n", PROD_AWS), f"{NS}:gcp: is read only by platform(s) cloudrun, gke; this stack's platform is ecs"),
        (appended("kubernetes", "    namespace: ai\n", PROD_AWS), f"{NS}:kubernetes: is read only by platform(s) kubernetes, gke"),
    ],
    ids=["aws-on-kubernetes", "gke-on-kubernetes", "gcp-on-ecs", "kubernetes-on-ecs"],
)
def test_another_platforms_section_is_named(planned, text, line):
    assert_refused(planned(text), line)


# --- 6. rate limits that can never apply ----------------------------------------------------------

@pytest.mark.parametrize(
    "limits, line",
    [
        ("perClientPerMinute: 5000", "perClientPerMinute (5000) must not exceed globalPerMinute (1000)"),
        ("globalPerMinute: 50", "perClientPerMinute (60) must not exceed globalPerMinute (50)"),
        ("aiRoutesPerMinute: 100", "aiRoutesPerMinute (100) must not exceed perClientPerMinute (60)"),
    ],
)
def test_rate_limits_nest_global_client_ai(planned, limits, line):
    assert_refused(planned(appended("edge", f"    rateLimits: {{{limits}}}\n")), f"{NS}:edge.rateLimits: {line}")


# --- one round: the schema's and the secrets' problems together -----------------------------------

def test_schema_and_secret_problems_come_in_one_message(planned):
    text = under_frontend("      port: true\n") + f"  {NS}:openaiApiKey: sk-plain-DO-NOT-PRINT\n"
    err = assert_refused(planned(text), "(2 problem(s))", "services.frontend.port = True",
                         f"{NS}:openaiApiKey: is stored in plain text")
    assert "DO-NOT-PRINT" not in err


# --- 4. (the good side) a new service needs only what is its own ---------------------------------

def test_a_new_service_gets_its_kinds_defaults_and_a_seed_service_can_be_dropped(tmp_path):
    """Through the whole program: `chat` (kind web) with only image, port and a route, `jobs` (a
    worker) with only image and command; `mcp` left out and `worker` disabled are not deployed."""
    text = edit(DEV, "    mcp:\n      image: ghcr.io/ai-assistant-platform/mcp-server:1.0.0\n      uses: [postgres, redis]\n"
                     "      secrets: [OPENAI_API_KEY]\n", "")
    text = edit(text, "      command: [python, -m, app.worker]\n", "      command: [python, -m, app.worker]\n      enabled: false\n")
    text = edit(text, f"  {NS}:tags:", "    chat:\n      image: ghcr.io/x/chat:1.0.0\n      port: 9000\n"
                "      route: {subdomain: chat}\n    jobs:\n      kind: worker\n      image: ghcr.io/x/jobs:1.0.0\n"
                f"      command: [python, -m, jobs]\n  {NS}:tags:")
    project_copy(tmp_path, {"grown": text})
    plan = plan_tool.run_plan("grown", project_dir=tmp_path, evaluate_policies=False)
    deployments = {r.inputs["metadata"]["name"]: r.inputs for r in plan.capture.resources
                   if r.type == "kubernetes:apps/v1:Deployment" and r.inputs["metadata"]["name"] in
                   ("frontend", "api", "mcp", "worker", "chat", "jobs")}
    assert set(deployments) == {"frontend", "api", "chat", "jobs"}
    chat = deployments["chat"]["spec"]["template"]["spec"]["containers"][0]
    assert chat["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}  # the kind web defaults (dev)
    assert chat["livenessProbe"]["httpGet"]["path"] == "/health"
    jobs = deployments["jobs"]["spec"]["template"]["spec"]["containers"][0]
    assert jobs["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}  # the seed worker's (dev)
    assert "/tmp/worker-heartbeat" in " ".join(jobs["livenessProbe"]["exec"]["command"])
