"""The recovery objectives (issue 14): the `dr` output of every platform comes from the config, every
shipped stack meets its targets, and a design that cannot meet them is refused.

The figures are computed by `components/dr/objectives.py` from the config alone; these tests move
each input the figures come from (`dr.backupSchedule`, `dr.rpoMinutes`, `regions.secondary`,
`aws.standby.mode`, `gcp.firestoreLocation`, the failover checks) and watch figure and verdict move.
"""

from __future__ import annotations

from typing import Any, Optional

import pytest

from components.config import PLATFORMS
from components.config.loader import parse_stack_config
from components.data.registry import REGISTRY
from components.dr import objectives as obj
from components.dr import recovery as rec
from components.dr.gke_backup import FREQUENT_KEEP_DAYS, backup_tiers, frequent_interval
from tests.helpers import plan_of, problems_of, stack_raw_config
from tools.plan import available_stacks

PLAN = "gcp:gkebackup/backupPlan:BackupPlan"
OUTPUT_KEYS = {
    "scenario", "targetRpoMinutes", "targetRtoMinutes", "services", "achievedRpoMinutes", "achievedRtoMinutes",
    "transientData", "meetsTargets", "runbook", "runbookDocs",
}


def config_of(stack: str, overrides: Optional[dict[str, Any]] = None):
    return parse_stack_config(stack_raw_config(stack, overrides), f"Pulumi.{stack}.yaml")


def figures(stack: str, overrides: Optional[dict[str, Any]] = None) -> obj.Objectives:
    return obj.objectives(config_of(stack, overrides))


def lines(stack: str, overrides: Optional[dict[str, Any]] = None) -> list[str]:
    return [p.line() for p in problems_of(stack, overrides)]


# --- every shipped stack ------------------------------------------------------------------------


@pytest.mark.parametrize("stack", available_stacks())
def test_every_stack_outputs_its_objectives_in_one_shape_and_meets_them(stack):
    plan = plan_of(stack)
    dr = plan.capture.outputs["dr"]
    config = config_of(stack)
    assert OUTPUT_KEYS <= set(dr), sorted(OUTPUT_KEYS - set(dr))
    assert dr["meetsTargets"] is True
    assert (dr["targetRpoMinutes"], dr["targetRtoMinutes"]) == (config.dr.rpo_minutes, config.dr.rto_minutes)
    # every enabled data service, durable as the registry says, and the worst system of record
    assert set(dr["services"]) == set(config.data.enabled())
    for name, service in dr["services"].items():
        assert service["durable"] is REGISTRY[name].durable, name
        assert service["mechanism"] and service["recoversFrom"] in (rec.REGION, rec.IN_PLACE)
        if service["durable"]:
            assert service["rpoMinutes"] <= config.dr.rpo_minutes and service["rtoMinutes"] <= config.dr.rto_minutes
        else:
            assert name in dr["transientData"] and dr["transientData"][name], name
    durable = [s["rpoMinutes"] for s in dr["services"].values() if s["durable"]]
    assert dr["achievedRpoMinutes"]["systemsOfRecord"] == max(durable)
    assert dr["achievedRtoMinutes"]["full"] <= config.dr.rto_minutes
    assert dr["runbook"] and dr["runbookDocs"]
    # the output is the figures of the config, not of anything the build decided on its own
    computed = obj.dr_output(config)
    for key in ("services", "achievedRpoMinutes", "transientData", "meetsTargets"):
        assert dr[key] == computed[key], key


def test_every_platform_has_a_shipped_stack_with_a_dr_output():
    assert {plan_of(stack).platform for stack in available_stacks() if "dr" in plan_of(stack).capture.outputs} == set(
        PLATFORMS)


def test_production_stacks_meet_the_seed_targets_against_the_loss_of_a_region():
    for stack in ("prod", "prod-gke", "prod-aws"):
        result = figures(stack)
        assert (config_of(stack).dr.rpo_minutes, config_of(stack).dr.rto_minutes) == (60, 240)
        for name, recovery in result.durable.items():
            assert recovery.recovers_from == rec.REGION, (stack, name)
        assert result.systems_of_record_rpo <= 60 and result.full_rto <= 240


def test_the_cloudrun_output_keeps_the_runbook_steps():
    dr = plan_of("prod").capture.outputs["dr"]
    assert any("promote-replica" in step for step in dr["runbook"])
    assert dr["achievedRpoMinutes"] == {"postgres": 1, "mongodb": 0, "systemsOfRecord": 1}
    assert dr["achievedRtoMinutes"]["statelessServices"] == 1.5 and "rabbitmq" in dr["achievedRtoMinutes"]


# --- the figures follow the config --------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule, gap",
    [("0 2 * * *", 1440), ("0 */6 * * *", 360), ("30 1,13 * * *", 720), ("0 2,20 * * *", 1080),
     ("0 3 * * 0", 7 * 1440), ("0 3 * * 1-5", 3 * 1440), ("*/15 * * * *", 15), ("0 2 1 * *", 31 * 1440)],
)
def test_longest_gap_of_a_cron_schedule(schedule, gap):
    assert rec.longest_gap_minutes([schedule]) == gap


def test_dumps_on_kubernetes_lose_what_their_schedule_leaves_open():
    assert figures("dev").services["postgres"].rpo_minutes == 1440
    for schedule, gap in (("0 */6 * * *", 360), ("0 3 * * 0", 7 * 1440)):
        result = figures("dev", {"dr": {"backupSchedule": schedule, "rpoMinutes": 10080}})
        for name in result.durable:
            assert result.services[name].rpo_minutes == gap, (schedule, name)
            assert result.services[name].recovers_from == rec.IN_PLACE
    # hourly dumps meet an hourly RPO; daily ones are refused with what would meet it
    assert lines("dev", {"dr": {"rpoMinutes": 60, "backupSchedule": "0 * * * *"}}) == []
    refused = lines("dev", {"dr": {"rpoMinutes": 60}})
    assert {line.split(" on kubernetes")[0].rsplit(": ", 1)[-1] for line in refused} == {
        n for n in config_of("dev").data.enabled() if REGISTRY[n].durable}


def test_cloud_sql_and_firestore_follow_the_dr_region_and_the_pinned_location():
    assert figures("prod").services["postgres"].rpo_minutes == rec.REPLICA_LAG_MINUTES
    alone = figures("prod", {"regions": {"secondary": None}})
    assert alone.services["postgres"].rpo_minutes == 1440 and alone.app.rto_minutes == rec.REBUILD_MINUTES
    assert figures("prod").services["mongodb"].rpo_minutes == 0
    regional = figures("prod", {"gcp": {"firestoreLocation": "us-central1"}})
    assert regional.services["mongodb"].rpo_minutes == 1440
    # and the failover checks set how fast the services move
    assert figures("prod", {"dr": {"healthCheckIntervalSeconds": 60}}).app.rto_minutes == 3.0


def test_gke_in_cluster_data_gets_a_frequent_backup_plan_within_the_rpo():
    prod = config_of("prod-gke")
    assert frequent_interval(prod) == 60 and backup_tiers(prod)["frequent"] == ("0 * * * *", FREQUENT_KEEP_DAYS)
    assert figures("prod-gke").services["mongodb"].rpo_minutes == 60
    faster = config_of("prod-gke", {"dr": {"rpoMinutes": 30}})
    assert backup_tiers(faster)["frequent"][0] == "*/30 * * * *"
    assert obj.objectives(faster).services["mongodb"].rpo_minutes == 30
    # staging-gke's daily RPO: twice a day (the plan always exists: only its schedule follows the RPO)
    assert backup_tiers(config_of("staging-gke"))["frequent"][0] == "0 */12 * * *"
    assert figures("staging-gke").services["mongodb"].rpo_minutes == 720
    assert figures("staging-gke", {"dr": {"backupSchedule": "0 */8 * * *"}}).services["mongodb"].rpo_minutes == 480
    # below the plan's shortest interval the design cannot follow: refused, naming the floor
    refused = lines("prod-gke", {"dr": {"rpoMinutes": 10}})
    assert any("mongodb on gke" in line and "raise dr.rpoMinutes to 15" in line for line in refused), refused


def test_the_frequent_plan_is_built_as_computed():
    plans = {p.inputs["name"]: p for p in plan_of("prod-gke").capture.of_type(PLAN)}
    frequent = plans["aia-prod-gke-frequent"]
    assert frequent.inputs["backupSchedule"]["cronSchedule"] == backup_tiers(config_of("prod-gke"))["frequent"][0]
    assert frequent.inputs["retentionPolicy"]["backupRetainDays"] == FREQUENT_KEEP_DAYS
    assert frequent.inputs["location"] == "europe-west1" and frequent.protect
    staging = {p.inputs["name"]: p for p in plan_of("staging-gke").capture.of_type(PLAN)}
    assert staging["aia-staging-gke-frequent"].inputs["backupSchedule"]["cronSchedule"] == "0 */12 * * *"


def test_ecs_figures_follow_the_standby_mode():
    warm = figures("prod-aws")
    assert {warm.services[n].rpo_minutes for n in ("postgres", "mongodb")} == {rec.REPLICA_LAG_MINUTES}
    pilot = figures("prod-aws", {"aws": {"standby": {"mode": "pilotLight"}}})
    assert pilot.app.rto_minutes == warm.app.rto_minutes + rec.SCALE_UP_MINUTES
    off = figures("prod-aws", {"aws": {"standby": {"mode": "off"}}, "dr": {"rpoMinutes": 1620}})
    assert off.services["postgres"].rpo_minutes == rec.RDS_BACKUP_REPLICATION_MINUTES
    # the daily AWS Backup rule skips the maintenance day, the weekly rule runs after the window:
    # Saturday 02:00 to Sunday 05:00
    assert off.services["mongodb"].rpo_minutes == 27 * 60
    assert off.app.rto_minutes == rec.REBUILD_MINUTES
    later = figures("prod-aws", {"aws": {"standby": {"mode": "off"}}, "dr": {"rpoMinutes": 1620, "backupSchedule": "0 8 * * *"}})
    assert later.services["mongodb"].rpo_minutes == 1440  # 08:00 clears the window every day
    # one region: nothing leaves it, the figures are for the database's own loss
    single = figures("staging-aws")
    assert single.services["postgres"].rpo_minutes == rec.PITR_MINUTES
    assert single.services["postgres"].recovers_from == rec.IN_PLACE


def test_vectordb_hosted_in_postgres_has_postgres_figures():
    result = figures("prod-aws", {"data": {"vectordb": {"enabled": True}}})
    assert result.services["vectordb"].rpo_minutes == result.services["postgres"].rpo_minutes
    assert "PostgreSQL" in result.services["vectordb"].mechanism


# --- refusals -----------------------------------------------------------------------------------


def test_standby_off_in_prod_aws_is_refused_with_what_would_meet_the_rpo():
    refused = lines("prod-aws", {"aws": {"standby": {"mode": "off"}}})
    assert len(refused) == 1, refused
    line = refused[0]
    for fragment in ("dr.rpoMinutes = 60", "mongodb on ecs with aws.standby.mode off", "(RPO 1620 min)",
                     "set aws.standby.mode to warm or pilotLight (a DocumentDB global cluster: ~1 min)",
                     "raise dr.rpoMinutes to 1620"):
        assert fragment in line, (fragment, line)


def test_a_slow_failover_is_refused_against_the_rto():
    refused = lines("prod-aws", {"aws": {"standby": {"mode": "pilotLight"}}, "dr": {"rtoMinutes": 15}})
    assert any(line.startswith("  ai-assistant-platform:dr.rtoMinutes = 15: the services on ecs") for line in refused)
    assert any("postgres on ecs" in line and "(RTO 30 min)" in line for line in refused)


def test_caches_and_queues_are_reported_never_refused():
    result = figures("prod-aws")
    assert result.services["rabbitmq"].rpo_minutes is None and not result.services["rabbitmq"].durable
    assert "in-flight messages" in result.services["rabbitmq"].lost
    # an RPO of a minute: the replicas meet it, the broker (nothing kept) is not refused
    assert not any("rabbitmq" in line or "redis" in line for line in lines("prod-aws", {"dr": {"rpoMinutes": 1}}))
    for stack in available_stacks():
        transient = {n for n, r in figures(stack).services.items() if not r.durable}
        for line in lines(stack, {"dr": {"rpoMinutes": 1, "rtoMinutes": 1}}):
            assert not any(f": {name} on " in line for name in transient), line


@pytest.mark.parametrize("platform", sorted(obj.RUNBOOK_DOCS))
def test_the_runbook_docs_the_output_names_exist(platform):
    """The `dr` output sends a paged engineer to doc sections by name: each must be a heading of
    that file (a renamed section would send them nowhere)."""
    import re
    from pathlib import Path

    where = obj.RUNBOOK_DOCS[platform]
    doc, sections = re.search(r"(docs/[\w-]+\.md), sections? (.*)", where).groups()
    headings = {
        line.lstrip("#").strip()
        for line in (Path(__file__).resolve().parent.parent / doc).read_text().splitlines() if line.startswith("#")
    }
    named = [s.strip() for s in re.sub(r" \(the same dumps.*", "", sections, flags=re.S).split(", ")]
    missing = [s for s in named if s not in headings]
    assert not missing, f"{platform}: {doc} has no section {missing}"
