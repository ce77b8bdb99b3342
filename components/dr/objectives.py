"""The recovery objectives a stack's deployed design achieves, from its config alone (issue 14).

Check, then build: nothing here registers a resource or needs a provider. For every enabled data
service of the registry (`components/data/registry.py`) on the stack's platform, `objectives`
says how it is recovered (the mechanism), the RPO (the most data lost) and the RTO (the time until
it serves again) that mechanism gives, and from what it recovers:

- `REGION`: the loss of `regions.primary` (the copy lives in `regions.secondary` or in a
  multi-region location);
- `IN_PLACE`: the loss of the data service itself, its region or cluster still up (a lost volume,
  a corrupted database, an operator's mistake): the design keeps no copy outside the
  region/cluster, so a regional loss waits for the region.

The figures are estimates from what is deployed (replication mode, the backup schedules as
configured, documented provider figures); each names its source in `mechanism`. How each backend
recovers, and the assumptions (constants, each with its source), are in `components/dr/recovery.py`;
the tests move every config input and watch the figures move.

`objective_problems(config)` (gathered by `components/platform.py: config_problems`) refuses a
config whose design cannot meet `dr.rpoMinutes` / `dr.rtoMinutes` for a durable service (a system
of record: `DataService.durable`), naming the service, the mechanism, the achievable figure and
what would meet the target. A cache or a queue is reported with what its loss costs, never refused.

`dr_output(config, runbook=...)` is the `dr` stack output of every platform, one shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from components.config.base import Problem
from components.dr.recovery import AppRecovery, Recovery, app_recovery, recovery_of


@dataclass(frozen=True)
class Objectives:
    platform: str
    scenario: str
    services: Mapping[str, Recovery]
    app: AppRecovery

    @property
    def durable(self) -> dict[str, Recovery]:
        return {n: r for n, r in self.services.items() if r.durable}

    @property
    def systems_of_record_rpo(self) -> int:
        return max((r.rpo_minutes for r in self.durable.values() if r.rpo_minutes is not None), default=0)

    @property
    def full_rto(self) -> float:
        return max([self.app.rto_minutes, *(r.rto_minutes for r in self.durable.values())])


def _scenario(config: Any) -> str:
    if config.platform == "kubernetes":
        return "the loss of a data service's volume or database on the cluster (the cluster itself stays)"
    if config.regions.secondary:
        return f"the loss of {config.regions.primary}, recovered in {config.regions.secondary}"
    return (f"the loss of {config.regions.primary} where a copy lives elsewhere (recoversFrom: region), "
            "else the loss of the data service in its region (recoversFrom: in-place)")


def objectives(config: Any) -> Objectives:
    """What the stack's design achieves, per enabled data service and for its stateless services."""
    return Objectives(
        platform=config.platform,
        scenario=_scenario(config),
        services={name: recovery_of(config, name) for name in config.data.enabled()},
        app=app_recovery(config),
    )


# ---------------------------------------------------------------------------------------------
# the check and the output
# ---------------------------------------------------------------------------------------------


def _too_slow(subject: str, platform: str, mechanism: str, figure: Optional[float], key: str, remedy: str,
              target: int, meets: Optional[float] = None) -> Problem:
    """`meets`: the lowest target the design meets (default: the figure itself)."""
    what = "RPO" if key == "rpoMinutes" else "RTO"
    if figure is None:  # a durable service of which nothing is kept: no target is met
        return Problem(f"dr.{key}", target, f"{subject} on {platform} {mechanism} (nothing is kept); {remedy}")
    shown = math.ceil(figure)
    raise_to = math.ceil(meets if meets is not None else figure)
    fix = f"{remedy}, or raise dr.{key} to {raise_to}" if remedy else f"raise dr.{key} to {raise_to}"
    return Problem(f"dr.{key}", target, f"{subject} on {platform} {mechanism} ({what} {shown} min); {fix}")


def objective_problems(config: Any) -> list[Problem]:
    """A durable service (or the stateless services) whose recovery cannot meet dr.rpoMinutes /
    dr.rtoMinutes; caches and queues are never refused."""
    found = []
    result = objectives(config)
    rpo, rto = config.dr.rpo_minutes, config.dr.rto_minutes
    for name, recovery in result.durable.items():
        if recovery.rpo_minutes is None or recovery.rpo_minutes > rpo:
            found.append(_too_slow(name, config.platform, recovery.mechanism, recovery.rpo_minutes,
                                   "rpoMinutes", recovery.remedy, rpo, recovery.lowest_target))
        if recovery.rto_minutes > rto:
            found.append(_too_slow(name, config.platform, recovery.mechanism, recovery.rto_minutes, "rtoMinutes",
                                   recovery.rto_remedy, rto))
    if result.app.rto_minutes > rto:
        found.append(_too_slow("the services", config.platform, result.app.mechanism, result.app.rto_minutes,
                               "rtoMinutes", result.app.remedy, rto))
    return found


RUNBOOK_DOCS = {
    "kubernetes": "docs/deploy-gke.md, section Backups and restore (the same dumps and restore commands; on "
                  "kubernetes they stay on the backups-<service> volumes)",
    "gke": "docs/deploy-gke.md, sections Backups and restore, Failover (us-central1 is lost), Failback (once us-central1 is back)",
    "cloudrun": "docs/deploy-gcp.md, sections Failover (prod: us-central1 is lost), Failback (once us-central1 is back)",
    "ecs": "the failoverRunbook output; docs/deploy-aws.md, sections Failover, Failback, Data failover and failback",
}


def dr_output(config: Any, runbook: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """The `dr` stack output, the same shape on every platform: the targets, per data service the
    achieved RPO/RTO and mechanism, the systems of record's worst RPO, the transient data and what
    its loss costs, whether the targets are met, and where the failover/failback steps are."""
    result = objectives(config)
    durable = result.durable
    return {
        "scenario": result.scenario,
        "targetRpoMinutes": config.dr.rpo_minutes,
        "targetRtoMinutes": config.dr.rto_minutes,
        "services": {name: r.as_output() for name, r in result.services.items()},
        "achievedRpoMinutes": {**{n: r.rpo_minutes for n, r in durable.items()},
                               "systemsOfRecord": result.systems_of_record_rpo},
        "achievedRtoMinutes": {
            "statelessServices": result.app.rto_minutes,
            **{n: r.rto_minutes for n, r in durable.items()},
            "full": result.full_rto,
        },
        "transientData": {n: r.lost for n, r in result.services.items() if not r.durable},
        "meetsTargets": not objective_problems(config),
        "runbook": list(runbook) if runbook is not None else [f"see {RUNBOOK_DOCS[config.platform]}"],
        "runbookDocs": RUNBOOK_DOCS[config.platform],
    }
