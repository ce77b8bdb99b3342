"""The conversion feeds Checkov: flip one security setting of a real stack resource and the matching
Checkov check goes from PASSED (the shipped resource) to FAILED (the flipped copy).

All flips share one Checkov run (terraform_plan + kubernetes, only the checks named here)."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.scan.support import checkov, configuration, pair, planned, terraform_plan_of
from tools.scan import checkov_command, collect, run_checkov
from tools.terraform_plan import assemble, manifest_id, write_manifests


def _first(stack: str, tf_type: str, where: Callable[[dict], bool] = lambda v: True) -> str:
    return next(r["address"] for r in planned(stack) if r["type"] == tf_type and where(r["values"]))


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """values[a][0][b] = value for path "a.b" (blocks are lists of one)."""
    def mutate(values: dict) -> None:
        node = values
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[part][0] if isinstance(node[part], list) else node[part]
        node[parts[-1]] = value
    return mutate


def _open_ssh(values: dict) -> None:
    values["allow"] = [{"protocol": "tcp", "ports": ["22"]}]
    values["source_ranges"] = ["0.0.0.0/0"]
    values["direction"] = "INGRESS"


def _open_ingress_rule(values: dict) -> None:
    values.update(cidr_ipv4="0.0.0.0/0", from_port=22, to_port=22, ip_protocol="tcp")
    values.pop("referenced_security_group_id", None)
    values.pop("prefix_list_id", None)


#: check id, stack, Terraform type (and filter) of the shipped resource, the flip
FLIPS: list[tuple[str, str, str, Callable[[dict], bool], Callable[[dict], None]]] = [
    ("CKV_GCP_60", "prod", "google_sql_database_instance", lambda v: True,
     _set("settings.ip_configuration.ipv4_enabled", True)),                       # Cloud SQL public IP
    ("CKV_GCP_114", "prod", "google_storage_bucket", lambda v: True,
     _set("public_access_prevention", "inherited")),                              # bucket public access prevention
    ("CKV_GCP_97", "prod", "google_redis_instance", lambda v: True,
     _set("transit_encryption_mode", "DISABLED")),                                # Memorystore in-transit TLS
    ("CKV_GCP_2", "prod", "google_compute_firewall", lambda v: v.get("direction", "INGRESS") == "INGRESS",
     _open_ssh),                                                                  # firewall SSH from anywhere
    ("CKV_AWS_16", "prod-aws", "aws_db_instance", lambda v: True, _set("storage_encrypted", False)),   # RDS at rest
    ("CKV_AWS_30", "prod-aws", "aws_elasticache_replication_group", lambda v: True,
     _set("transit_encryption_enabled", False)),                                  # ElastiCache in transit
    ("CKV_AWS_174", "prod-aws", "aws_cloudfront_distribution", lambda v: True,
     _set("viewer_certificate.minimum_protocol_version", "TLSv1")),               # CloudFront minimum TLS
    ("CKV_AWS_2", "prod-aws", "aws_lb_listener", lambda v: v.get("protocol") == "HTTPS",
     _set("protocol", "HTTP")),                                                   # ALB listener HTTPS
    ("CKV_AWS_7", "prod-aws", "aws_kms_key", lambda v: True, _set("enable_key_rotation", False)),     # KMS rotation
    ("CKV_AWS_74", "prod-aws", "aws_docdb_cluster", lambda v: True, _set("storage_encrypted", False)),  # DocumentDB
    ("CKV_AWS_53", "prod-aws", "aws_s3_bucket_public_access_block", lambda v: True,
     _set("block_public_acls", False)),                                           # S3 public ACLs
    ("CKV_AWS_24", "prod-aws", "aws_vpc_security_group_ingress_rule", lambda v: True,
     _open_ingress_rule),                                                         # SSH from 0.0.0.0/0
]
#: graph check: the shipped bucket is linked to its public access block by reference; a copy of it is not
GRAPH_FLIP = ("CKV2_AWS_6", "prod-aws", "aws_s3_bucket")
#: Kubernetes: a privileged container in a copy of a dev Deployment
K8S_FLIP = ("CKV_K8S_16", "dev", "Deployment")


def _k8s_manifests() -> tuple[list[dict], str, str]:
    shipped = next(m for m in terraform_plan_of("dev").manifests if m["kind"] == K8S_FLIP[2])
    flipped = copy.deepcopy(shipped)
    flipped["metadata"]["name"] = "flipped-" + flipped["metadata"]["name"]
    for container in flipped["spec"]["template"]["spec"]["containers"]:
        container.setdefault("securityContext", {})["privileged"] = True
    return [shipped, flipped], manifest_id(shipped), manifest_id(flipped)


@functools.lru_cache(maxsize=None)
def _results() -> tuple[dict[tuple[str, str], str], list[tuple[str, str, str]]]:
    """{(check id, resource): PASSED|FAILED} of one Checkov run, and [(check id, shipped, flipped)]."""
    pairs, cases = [], []
    for check_id, stack, tf_type, where, mutate in FLIPS:
        address = _first(stack, tf_type, where)
        name = address.split(".", 1)[1]
        pairs.append(pair(stack, address))
        pairs.append(pair(stack, address, rename=f"flipped-{name}", mutate=mutate))
        cases.append((check_id, address, f"{tf_type}.flipped-{name}"))
    check_id, stack, tf_type = GRAPH_FLIP
    # not the block the CKV_AWS_53 flip copies: its flipped copy still points at that bucket
    block = [r for r in planned(stack) if r["type"] == "aws_s3_bucket_public_access_block"][-1]
    bucket = configuration(stack, block["address"])["expressions"]["bucket"]["references"][1]
    pairs += [pair(stack, block["address"]), pair(stack, bucket), pair(stack, bucket, rename="flipped-bucket")]
    cases.append((check_id, bucket, f"{tf_type}.flipped-bucket"))
    manifests, shipped, flipped = _k8s_manifests()
    cases.append((K8S_FLIP[0], shipped, flipped))

    with tempfile.TemporaryDirectory() as tmp:
        plan_file = Path(tmp) / "flips.tfplan.json"
        plan_file.write_text(json.dumps(assemble(pairs)))
        write_manifests(manifests, Path(tmp) / "k8s")
        command = checkov_command(checkov(), plan_file, Path(tmp) / "k8s", [])
        command += ["--check", ",".join(sorted({c[0] for c in cases}))]
        command.remove("--quiet")  # passed checks too
        reports = run_checkov(command)
    outcome = {}
    for report in reports:
        for key, verdict in (("passed_checks", "PASSED"), ("failed_checks", "FAILED")):
            for item in report["results"][key]:
                outcome[(item["check_id"], item["resource"])] = verdict
    return outcome, cases


def test_at_least_eight_settings_are_flipped():
    assert len(FLIPS) + 2 >= 8


@pytest.mark.parametrize("check_id", [f[0] for f in FLIPS] + [GRAPH_FLIP[0], K8S_FLIP[0]])
def test_flip_turns_the_check_from_passed_to_failed(check_id):
    outcome, cases = _results()
    _, shipped, flipped = next(c for c in cases if c[0] == check_id)
    assert outcome.get((check_id, shipped)) == "PASSED", f"{check_id} on the shipped {shipped}: {outcome.get((check_id, shipped))}"
    assert outcome.get((check_id, flipped)) == "FAILED", f"{check_id} on the flipped {flipped}: {outcome.get((check_id, flipped))}"
