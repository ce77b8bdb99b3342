"""The backup CronJobs' failure alert follows the CronJob's last run, not its Job history: a failed
Job stays listed (3 kept) after a later run succeeds, and an alert on it would never clear."""

from __future__ import annotations

import json
import shutil
import subprocess

from tests.helpers import k8s_objects, make_context, plan_of


def test_a_failed_backup_alerts_until_a_later_run_succeeds(tmp_path):
    assert shutil.which("promtool"), "promtool is installed (Debian package prometheus)"
    ns = make_context("dev").config.kubernetes.namespace
    (rule,) = [o for o in k8s_objects(plan_of("dev").capture.resources) if o["kind"] == "PrometheusRule"]
    (tmp_path / "rules.yaml").write_text(json.dumps(rule["spec"]))
    (alert,) = [r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "BackupJobFailed"]

    def series(metric: str, cronjob: str, values: str) -> dict:
        return {"series": f'{metric}{{namespace="{ns}",cronjob="{cronjob}"}}', "values": values}

    def firing(cronjob: str) -> list[dict]:
        annotations = {k: v.replace("{{ $labels.cronjob }}", cronjob) for k, v in alert["annotations"].items()}
        return [{"exp_labels": {"severity": "warning", "namespace": ns, "cronjob": cronjob},
                 "exp_annotations": annotations}]

    # backup-postgres fails its 02:00 run (scheduled 1000, last success 500), then succeeds at minute 30;
    # backup-mongodb runs fine; a third is failing but its retry is still running
    cases = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                series("kube_cronjob_status_last_schedule_time", "backup-postgres", "1000x60"),
                series("kube_cronjob_status_last_successful_time", "backup-postgres", "500x29 2000x30"),
                series("kube_cronjob_status_active", "backup-postgres", "0x60"),
                series("kube_cronjob_status_last_schedule_time", "backup-mongodb", "1000x60"),
                series("kube_cronjob_status_last_successful_time", "backup-mongodb", "1500x60"),
                series("kube_cronjob_status_active", "backup-mongodb", "0x60"),
                series("kube_cronjob_status_last_schedule_time", "backup-vectordb", "1000x60"),
                series("kube_cronjob_status_last_successful_time", "backup-vectordb", "500x60"),
                series("kube_cronjob_status_active", "backup-vectordb", "1x60"),
            ],
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": "BackupJobFailed", "exp_alerts": firing("backup-postgres")},
                {"eval_time": "45m", "alertname": "BackupJobFailed", "exp_alerts": []},  # healed: it clears
            ],
        }],
    }
    (tmp_path / "cases.yaml").write_text(json.dumps(cases))
    for command in (["check", "rules", "rules.yaml"], ["test", "rules", "cases.yaml"]):
        result = subprocess.run(["promtool", *command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
