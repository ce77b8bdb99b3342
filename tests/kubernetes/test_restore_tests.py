"""The in-cluster restore tests (components/dr/restore_test_kubernetes.py), applied to every stack
that runs on Kubernetes and its `+vectordb` variant, from the plan: one CronJob per data service
whose backend restore-tests by dump (read from the registry here, not from the module), a pod
that can start under Pod Security `restricted` and reach nothing, the same server image as the
StatefulSet, the dump volume read-only, a schedule that never shares the ReadWriteOnce volume
with a running dump, the data-age bound, and alerts that select exactly the restore tests.
"""

from __future__ import annotations

import pytest

from components import schedule_windows as sw
from components.data.registry import IN_CLUSTER, REGISTRY, backend
from tests.helpers import k8s_objects, make_context, plan_of
from tests.test_network_flows import KUBERNETES_STACKS

PREFIX = "restore-test-"


def _objects(stack: str) -> list[dict]:
    return k8s_objects(plan_of(stack).capture.resources)


def _of_kind(stack: str, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in _objects(stack) if o["kind"] == kind}


def _restore_tests(stack: str) -> dict[str, dict]:
    return {name: o for name, o in _of_kind(stack, "CronJob").items() if name.startswith(PREFIX)}


def _pod(cron_job: dict) -> dict:
    return cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def _config(stack: str):
    return make_context(stack).config


def test_every_dump_restore_test_has_a_dump_to_restore():
    """A backend that restore-tests by dump is in the cluster and its service is dumped there."""
    for service in REGISTRY.values():
        for platform, chosen in service.backends.items():
            if chosen.restore_test == "dump":
                assert chosen.kind == IN_CLUSTER and service.dumped_in_cluster, (service.name, platform)


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_restore_tested_data_service_has_its_restore_test(stack):
    cfg = _config(stack)
    expected = {s for s in cfg.data.enabled() if backend(s, cfg.platform).restore_test == "dump"}
    assert expected, "a Kubernetes stack with nothing to restore-test"
    assert set(_restore_tests(stack)) == {f"{PREFIX}{s}" for s in expected}


def test_the_variants_restore_test_the_vector_database():
    for stack in KUBERNETES_STACKS:
        if stack.endswith("+vectordb"):
            assert f"{PREFIX}vectordb" in _restore_tests(stack), stack


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_the_restore_pod_runs_restricted_and_alone(stack):
    """Pod Security `restricted` for every container (the sidecar too), no token, no service
    links, and NetworkPolicies that isolate it both ways (it only talks to 127.0.0.1)."""
    policies = list(_of_kind(stack, "NetworkPolicy").values())
    for name, cron_job in _restore_tests(stack).items():
        pod = _pod(cron_job)
        assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
        assert pod["enableServiceLinks"] is False and "serviceAccountName" not in pod
        assert pod["securityContext"]["runAsNonRoot"] is True
        containers = pod["containers"] + pod.get("initContainers", [])
        for c in containers:
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0, (name, c["name"])
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"] and sc["seccompProfile"]["type"] == "RuntimeDefault"
            assert c["resources"]["limits"]["cpu"] and c["resources"]["limits"]["memory"]
            assert "/tmp" in {m["mountPath"] for m in c["volumeMounts"]}
        labels = cron_job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
        selecting = [p for p in policies if p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()]
        isolating = [p for p in selecting if set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}]
        assert isolating, f"{name}: no policy isolates it"
        # namespace-wide rules (the GKE metadata server for every pod) are the flow model's to judge
        opened = [p["metadata"]["name"] for p in selecting if p["spec"]["podSelector"].get("matchLabels")
                  and (p["spec"].get("ingress") or p["spec"].get("egress"))]
        assert opened == [], f"{name}: policies open flows it never needs: {opened}"


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_the_throwaway_server_is_the_statefulset_s_image_on_its_own_volume(stack):
    statefulsets = _of_kind(stack, "StatefulSet")
    for name, cron_job in _restore_tests(stack).items():
        service = name.removeprefix(PREFIX)
        pod = _pod(cron_job)
        (server,) = pod["initContainers"]
        assert server["restartPolicy"] == "Always", "a native sidecar: the Job ends with the restore"
        assert "startupProbe" in server, "the restore would start before the server accepts connections"
        live = statefulsets[service]
        (data,) = [c for c in live["spec"]["template"]["spec"]["containers"] if c["name"] == service]
        assert server["image"] == data["image"]
        # every path the live server writes is writable here too (read-only root filesystem)
        written = {m["mountPath"] for m in data["volumeMounts"] if not m.get("readOnly")}
        assert written <= {m["mountPath"] for m in server["volumeMounts"]}, written
        volumes = {v["name"]: v for v in pod["volumes"]}
        (data_mount,) = [m for m in server["volumeMounts"] if m["name"] == "data"]
        claim = volumes["data"]["ephemeral"]["volumeClaimTemplate"]["spec"]
        (template,) = live["spec"]["volumeClaimTemplates"]
        assert claim["resources"]["requests"]["storage"] == template["spec"]["resources"]["requests"]["storage"]
        assert data_mount["mountPath"] in written
        # no credentials anywhere in the pod: nothing to leak, nothing but localhost reaches it
        for c in pod["containers"] + pod["initContainers"]:
            assert not any("valueFrom" in e for e in c.get("env", [])), c["name"]


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_the_dump_volume_is_read_only_and_shared_with_its_writer_s_node(stack):
    """The backup PVC is ReadWriteOnce: the restore pod mounts it read-only and prefers the node of
    a dump pod that may still hold it (a RWO volume mounts on one node, in any number of pods)."""
    claims = _of_kind(stack, "PersistentVolumeClaim")
    cron_jobs = _of_kind(stack, "CronJob")
    for name, cron_job in _restore_tests(stack).items():
        service = name.removeprefix(PREFIX)
        pod = _pod(cron_job)
        (backups,) = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
        source = backups["persistentVolumeClaim"]
        assert source["claimName"] == f"backups-{service}" and source["readOnly"] is True
        assert claims[source["claimName"]]["spec"]["accessModes"] == ["ReadWriteOnce"]
        (restore,) = pod["containers"]
        (mount,) = [m for m in restore["volumeMounts"] if m["name"] == backups["name"]]
        assert mount["readOnly"] is True
        writer = cron_jobs[f"backup-{service}"]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
        (term,) = pod["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
        assert term["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= writer.items()


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_schedule_daily_in_prod_weekly_elsewhere_never_beside_a_running_dump(stack):
    cfg = _config(stack)
    cron_jobs = _of_kind(stack, "CronJob")
    for name, cron_job in _restore_tests(stack).items():
        spec = cron_job["spec"]
        deadline = spec["jobTemplate"]["spec"]["activeDeadlineSeconds"]
        assert deadline == cfg.dr.rto_minutes * 60, "a restore slower than the RTO must fail"
        test = sw.cron_schedule(name, spec["schedule"], deadline // 60)
        assert len(test.starts) == (7 if cfg.environment == "prod" else 1), spec["schedule"]
        assert spec["timeZone"] == "Etc/UTC" and spec["concurrencyPolicy"] == "Forbid"
        dump = cron_jobs[f"backup-{name.removeprefix(PREFIX)}"]["spec"]
        running = sw.Window("dump", sw.cron_schedule("dump", dump["schedule"], 0).starts,
                            dump["jobTemplate"]["spec"]["activeDeadlineSeconds"] // 60)
        assert sw.conflicts(test, [running], margin=0) == []


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_it_fails_on_a_dump_older_than_the_dump_interval_plus_the_rpo(stack):
    cfg = _config(stack)
    cron_jobs = _of_kind(stack, "CronJob")
    for name, cron_job in _restore_tests(stack).items():
        dump_starts = sorted(sw.cron_schedule("d", cron_jobs[f"backup-{name.removeprefix(PREFIX)}"]["spec"]["schedule"], 0).starts)
        interval = max(b - a for a, b in zip(dump_starts, dump_starts[1:] + [dump_starts[0] + sw.WEEK]))
        (restore,) = _pod(cron_job)["containers"]
        env = {e["name"]: e.get("value") for e in restore["env"]}
        assert int(env["MAX_DATA_AGE_SECONDS"]) == (interval + cfg.dr.rpo_minutes) * 60
        assert env["SERVICE"] == name.removeprefix(PREFIX)


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_alerts_select_exactly_the_restore_tests(stack):
    import re

    (rule,) = [o for o in _objects(stack) if o["kind"] == "PrometheusRule"]
    rules = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"RestoreTestFailed", "RestoreTestOverdue"} <= set(rules)
    names = set(_restore_tests(stack))
    backups = {n for n in _of_kind(stack, "CronJob") if n.startswith("backup-")}
    for alert in ("RestoreTestFailed", "RestoreTestOverdue"):
        patterns = set(re.findall(r'cronjob=~"([^"]+)"', rules[alert]["expr"]))
        assert patterns and all(re.fullmatch(p, n) for p in patterns for n in names)
        assert not any(re.fullmatch(p, n) for p in patterns for n in backups)
    # and the backup alerts leave the restore tests alone
    for alert in ("BackupTooOld", "BackupNeverSucceeded"):
        for pattern in re.findall(r'cronjob=~"([^"]+)"', rules[alert]["expr"]):
            assert not any(re.fullmatch(pattern, n) for n in names), alert


def test_the_alerts_fire_under_promtool_as_documented(tmp_path):
    """dev's PrometheusRule as planned, on synthetic kube-state-metrics series: a last run that
    failed (and only once it is no longer running) and a test without a success within its
    interval + deadline + an hour alert; a fresh success does not."""
    import json
    import shutil
    import subprocess

    assert shutil.which("promtool"), "promtool is installed (Debian package prometheus)"
    cfg = _config("dev")
    ns = cfg.kubernetes.namespace
    (rule,) = [o for o in _objects("dev") if o["kind"] == "PrometheusRule"]
    (tmp_path / "rules.yaml").write_text(json.dumps(rule["spec"]))
    rules = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    overdue_hours = (7 * 1440 + cfg.dr.rto_minutes) // 60 + 1

    def expect(alert: str, cronjob: str) -> dict:
        annotations = {k: v.replace("{{ $labels.cronjob }}", cronjob) for k, v in rules[alert]["annotations"].items()}
        return {"exp_labels": {"severity": "warning", "namespace": ns, "cronjob": cronjob}, "exp_annotations": annotations}

    def series(metric: str, cronjob: str, values: str) -> dict:
        return {"series": f'{metric}{{namespace="{ns}",cronjob="{cronjob}"}}', "values": values}

    failed, fine, running, stale = (f"{PREFIX}{n}" for n in ("failed", "fine", "running", "stale"))
    failing = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    series("kube_cronjob_status_last_schedule_time", failed, "1000x40"),
                    series("kube_cronjob_status_last_successful_time", failed, "500x40"),
                    series("kube_cronjob_status_active", failed, "0x40"),
                    series("kube_cronjob_status_last_schedule_time", fine, "1000x40"),
                    series("kube_cronjob_status_last_successful_time", fine, "2000x40"),
                    series("kube_cronjob_status_active", fine, "0x40"),
                    series("kube_cronjob_status_last_schedule_time", running, "1000x40"),
                    series("kube_cronjob_status_last_successful_time", running, "500x40"),
                    series("kube_cronjob_status_active", running, "1x40"),
                ],
                "alert_rule_test": [
                    {"eval_time": "10m", "alertname": "RestoreTestFailed", "exp_alerts": []},
                    {"eval_time": "20m", "alertname": "RestoreTestFailed", "exp_alerts": [expect("RestoreTestFailed", failed)]},
                ],
            },
        ],
    }
    overdue = {  # a week and more, evaluated hourly
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1h",
        "tests": [
            {
                "interval": "1h",
                "input_series": [
                    series("kube_cronjob_created", stale, f"0x{overdue_hours + 5}"),
                    series("kube_cronjob_status_last_successful_time", stale, f"0x{overdue_hours + 5}"),
                    series("kube_cronjob_created", fine, f"0x{overdue_hours + 5}"),
                    series("kube_cronjob_status_last_successful_time", fine, f"0+3600x{overdue_hours + 5}"),
                ],
                "alert_rule_test": [
                    {"eval_time": f"{overdue_hours - 1}h", "alertname": "RestoreTestOverdue", "exp_alerts": []},
                    {"eval_time": f"{overdue_hours + 2}h", "alertname": "RestoreTestOverdue",
                     "exp_alerts": [expect("RestoreTestOverdue", stale)]},
                ],
            },
        ],
    }
    (tmp_path / "failing.yaml").write_text(json.dumps(failing))
    (tmp_path / "overdue.yaml").write_text(json.dumps(overdue))
    for command in (["check", "rules", "rules.yaml"], ["test", "rules", "failing.yaml", "overdue.yaml"]):
        result = subprocess.run(["promtool", *command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
