"""Adopt a promoted Cloud SQL replica into a GCP stack after a failover, replacing nothing.

    python -m tools.dr_adopt --stack prod [--recreate-redis] [--rebuild-rabbitmq SNAPSHOT] [--run]  # adopt
    python -m tools.dr_adopt --stack prod --phase replica [--replica-instance NAME] [--run]
    python -m tools.dr_adopt rewrite-state --stack prod --in BEFORE.json --out AFTER.json [--recreate-redis]

After `gcloud sql instances promote-replica`, the promoted replica is the new primary, but the
stack still calls the lost instance `postgres-primary` and the promoted one `postgres-replica`
(with a `masterInstanceName`, which the provider can only change by replacing it). Phase 1 prints
(with `--run`: runs, stopping at the first failure) the steps that make the stack say what is true
without replacing any protected resource:

1. `pulumi stack export` (kept as the backup of the state before the surgery);
2. `rewrite-state` (this module, offline, on the exported file): forget the lost primary (it stays
   in GCP, out of the stack, until you delete it), move the promoted instance to the primary role's
   URN (in the primary's place, so dependencies still come first), point the application database
   and user at it (they were replicated with it) and every dependency on the replica at the primary
   role; with `--recreate-redis` also forget the Memorystore instance of the lost region, with
   `--rebuild-rabbitmq SNAPSHOT` the RabbitMQ VM's regional disk, IP, group and snapshot schedule;
3. `pulumi stack import` of the rewritten state;
4. config: `gcp.cloudSql.primary` = the promoted instance, no `gcp.cloudSql.replica`,
   `regions.primary`/`regions.secondary` swapped (the Cloud Run roles), with `--recreate-redis`
   `gcp.redisRegion` = the new primary region (a new, empty cache: sessions are lost), with
   `--rebuild-rabbitmq` `gcp.rabbitmqZone` = `<new primary>-b` and `gcp.rabbitmqRestoreSnapshot`
   (the new disk is created from the snapshot; the broker gets a new IP and certificate, which the
   same `up` writes into its secrets);
5. `pulumi preview` (no refresh: it would read the lost region; the rewritten state already says
   the instance was promoted), which must show no replacement of a protected resource, then
   `pulumi up --continue-on-error` (what sits in the lost region fails and is retried once the
   region is back, with `pulumi up --refresh`).

Phase `replica` (once the old region is back): a new cross-region replica there, under a name no
instance of the stack had (a deleted Cloud SQL name is blocked for about a week, and the lost
primary still holds its own), then `pulumi up`. Deleting the lost primary is printed, never run:
it may hold the last writes that did not replicate; look before you delete.

What is printed for the shipped prod stack is tested under mocks (tests/gcp/test_dr_adopt.py),
including that the stack after these config changes plans the promoted instance as the primary
role with no replacement of a protected resource.
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

PROJECT_KEY = "ai-assistant-platform"
INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
ON_INSTANCE = ("gcp:sql/database:Database", "gcp:sql/user:User")  # the objects the primary holds
REDIS = "gcp:redis/instance:Instance"
RABBITMQ_COMPONENT = "aiplatform:data:RabbitMqVm"
# what of the RabbitMQ VM sits in its region (the rest, template, health check, firewall, secrets, is global)
RABBITMQ_REGIONAL = (
    "gcp:compute/address:Address", "gcp:compute/resourcePolicy:ResourcePolicy", "gcp:compute/regionDisk:RegionDisk",
    "gcp:compute/regionDiskResourcePolicyAttachment:RegionDiskResourcePolicyAttachment",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
    "gcp:compute/regionPerInstanceConfig:RegionPerInstanceConfig",
)


@dataclass(frozen=True)
class Step:
    """One step of the runbook: a command (`argv`), or with `manual` a command a human runs after
    looking (never run by `--run`); `why` says what it is for."""

    why: str
    argv: tuple[str, ...]
    manual: bool = False

    def line(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True)
class StackFacts:
    """What the steps need to know about the stack, read from its stack file and offline plan."""

    stack: str
    project_id: str
    prefix: str
    primary_region: str
    secondary_region: Optional[str]
    primary_instance: str  # names after `<prefix>-`
    primary_sql_region: str
    replica_instance: Optional[str]
    replica_sql_region: Optional[str]
    redis_region: Optional[str]
    rabbitmq_disk: Optional[str]  # the RabbitMQ VM's data disk (cloudrun), whose snapshots a rebuild restores
    urns: dict[str, str]  # role -> URN: primary, replica, redis
    rabbitmq_urns: tuple[str, ...] = ()  # the RabbitMQ VM's regional resources

    def full(self, instance: str) -> str:
        return f"{self.prefix}-{instance}"


def stack_facts(stack: str) -> StackFacts:
    """The stack's Cloud SQL slots, regions and URNs, from its stack file and offline plan."""
    from components.config import PROJECT, TOP_LEVEL_KEYS, StackContext, _decode, parse_stack_config
    from components.data.gcp_placement import cloud_sql_slots, redis_region
    from tools.plan import read_stack_config, run_program

    project, engine, secret_keys, _ = read_stack_config(stack)
    raw = {
        key.partition(":")[2]: _decode(value)
        for key, value in engine.items()
        if key.partition(":")[0] == PROJECT and key.partition(":")[2] in TOP_LEVEL_KEYS
    }
    config = parse_stack_config(raw, f"Pulumi.{stack}.yaml")
    if config.platform not in ("cloudrun", "gke"):
        raise SystemExit(f"{stack} runs on {config.platform}: this tool adopts a promoted Cloud SQL replica (GCP)")
    if not config.data.postgres.enabled:
        raise SystemExit(f"{stack} has no Cloud SQL (data.postgres is off): nothing to adopt")
    primary, replica = cloud_sql_slots(config)
    capture = run_program(project, stack, engine, secret_keys)
    urns: dict[str, str] = {}
    rabbitmq: list[str] = []
    disk = None
    for reg in capture.resources:
        if f"{RABBITMQ_COMPONENT}$" in reg.urn and reg.type in RABBITMQ_REGIONAL:
            rabbitmq.append(reg.urn)
            disk = reg.inputs["name"] if reg.type == "gcp:compute/regionDisk:RegionDisk" else disk
        if reg.type == INSTANCE:
            urns["replica" if reg.inputs.get("masterInstanceName") else "primary"] = reg.urn
        elif reg.type == REDIS:
            urns["redis"] = reg.urn
    return StackFacts(
        stack=stack,
        project_id=config.gcp.project or engine.get("gcp:project", ""),
        prefix=StackContext(project=project, stack=stack, config=config, provided_secrets={}).prefix,
        primary_region=config.regions.primary,
        secondary_region=config.regions.secondary,
        primary_instance=primary.instance,
        primary_sql_region=primary.region,
        replica_instance=replica.instance if replica else None,
        replica_sql_region=replica.region if replica else None,
        redis_region=redis_region(config) if config.data.redis.enabled else None,
        rabbitmq_disk=disk,
        urns=urns,
        rabbitmq_urns=tuple(rabbitmq),
    )


def new_replica_instance(region: str, taken: Sequence[str]) -> str:
    """`postgres-<region>`, or with the first suffix -2, -3, ... that no instance in `taken` has:
    a Cloud SQL name cannot be reused for about a week after its instance is deleted."""
    name, n = f"postgres-{region}", 2
    while name in taken:
        name, n = f"postgres-{region}-{n}", n + 1
    return name


def _pulumi(facts: StackFacts, *args: str) -> tuple[str, ...]:
    return ("pulumi", *args, "--stack", facts.stack)


def _set(facts: StackFacts, path: str, value: str) -> tuple[str, ...]:
    return _pulumi(facts, "config", "set", "--path", f"{PROJECT_KEY}:{path}", value)


def config_changes(facts: StackFacts, recreate_redis: bool = False,
                   rabbitmq_snapshot: Optional[str] = None) -> list[tuple[str, Optional[str]]]:
    """(key path, new value or None to remove) of the adoption, in the order they are set."""
    assert facts.replica_instance and facts.replica_sql_region and facts.secondary_region
    changes: list[tuple[str, Optional[str]]] = [
        ("gcp.cloudSql.primary.instance", facts.replica_instance),
        ("gcp.cloudSql.primary.region", facts.replica_sql_region),
        ("gcp.cloudSql.replica", None),
        ("regions.primary", facts.secondary_region),
        ("regions.secondary", facts.primary_region),
    ]
    if recreate_redis and facts.redis_region:
        changes.append(("gcp.redisRegion", facts.replica_sql_region))
    if rabbitmq_snapshot and facts.rabbitmq_disk:
        changes += [("gcp.rabbitmqZone", f"{facts.secondary_region}-b"), ("gcp.rabbitmqRestoreSnapshot", rabbitmq_snapshot)]
    return changes


def adopt_steps(facts: StackFacts, *, recreate_redis: bool = False, rabbitmq_snapshot: Optional[str] = None,
                directory: str = ".") -> list[Step]:
    """Phase 1: make the promoted replica the stack's primary (see the module doc)."""
    if not facts.replica_instance or "replica" not in facts.urns:
        raise SystemExit(
            f"{facts.stack} has no Cloud SQL replica in gcp.cloudSql: nothing was promoted (already adopted? "
            "then run --phase replica once the old region is back)"
        )
    promoted, lost = facts.full(facts.replica_instance), facts.full(facts.primary_instance)
    before = str(Path(directory) / f"{facts.stack}-before-adopt.json")
    after = str(Path(directory) / f"{facts.stack}-adopted.json")
    rewrite = ["python", "-m", "tools.dr_adopt", "rewrite-state", "--stack", facts.stack, "--in", before, "--out", after]
    if recreate_redis:
        rewrite.append("--recreate-redis")
    if rabbitmq_snapshot:
        if not facts.rabbitmq_disk:
            raise SystemExit(f"{facts.stack} has no RabbitMQ VM (cloudrun) to rebuild")
        rewrite += ["--rebuild-rabbitmq", rabbitmq_snapshot]
    steps = [
        Step(f"(done first, by you: the RTO clock) promote the replica {promoted}; it stops replicating from {lost}",
             ("gcloud", "sql", "instances", "promote-replica", promoted, "--project", facts.project_id), manual=True),
        Step("check it is a primary now: prints CLOUD_SQL_INSTANCE",
             ("gcloud", "sql", "instances", "describe", promoted, "--project", facts.project_id,
              "--format", "value(instanceType)")),
        *([Step(f"the latest snapshot of {facts.rabbitmq_disk} (pass its name to --rebuild-rabbitmq)",
                ("gcloud", "compute", "snapshots", "list", "--project", facts.project_id,
                 "--filter", f"sourceDisk~/{facts.rabbitmq_disk}$", "--sort-by", "~creationTimestamp",
                 "--limit", "1", "--format", "value(name,creationTimestamp)"))] if facts.rabbitmq_disk else []),
        Step("back up the stack's state before the surgery", _pulumi(facts, "stack", "export", "--file", before)),
        Step(f"rewrite the state offline: {promoted} takes the primary role's URN, {lost} is forgotten "
             "(it stays in GCP)" + (", the Memorystore instance of the lost region too" if recreate_redis else "")
             + (", the RabbitMQ disk, IP and group of the lost region too" if rabbitmq_snapshot else ""),
             tuple(rewrite)),
        Step("load the rewritten state", _pulumi(facts, "stack", "import", "--file", after)),
    ]
    for path, value in config_changes(facts, recreate_redis, rabbitmq_snapshot):
        if value is None:
            steps.append(Step(f"{path}: none until the old region is back",
                              _pulumi(facts, "config", "rm", "--path", f"{PROJECT_KEY}:{path}")))
        else:
            steps.append(Step(f"{path} = {value}", _set(facts, path, value)))
    steps += [
        Step("the preview must replace nothing protected (no refresh: it would read the lost region; the "
             "rewritten state already says the instance was promoted)", _pulumi(facts, "preview", "--diff")),
        Step("apply: new secret versions with the promoted instance's address, the services redeployed with them, "
             "backups and PITR on the promoted instance; what sits in the lost region fails and is retried later",
             _pulumi(facts, "up", "--continue-on-error", "--yes")),
        Step("once the lost region is back: read everything as it is and converge",
             _pulumi(facts, "up", "--refresh", "--yes"), manual=True),
    ]
    replica = new_replica_instance(facts.primary_region, [facts.primary_instance, facts.replica_instance])
    steps.append(Step(
        "later, once the old region is back: a new replica there (phase replica)",
        ("python", "-m", "tools.dr_adopt", "--stack", facts.stack, "--phase", "replica", "--replica-instance", replica,
         "--lost-instance", facts.primary_instance),
        manual=True,
    ))
    return steps


def replica_steps(facts: StackFacts, *, replica_instance: Optional[str] = None,
                  lost_instance: Optional[str] = None) -> list[Step]:
    """Phase replica: a new cross-region replica in regions.secondary (the old primary region)."""
    if facts.replica_instance:
        raise SystemExit(f"{facts.stack} already has a replica ({facts.full(facts.replica_instance)})")
    if not facts.secondary_region:
        raise SystemExit(f"{facts.stack} has no regions.secondary to put a replica in")
    region = facts.secondary_region
    taken = [facts.primary_instance, *([lost_instance] if lost_instance else [])]
    name = replica_instance or new_replica_instance(region, taken)
    if name in taken:
        raise SystemExit(f"{name} is taken (the primary's or the lost primary's name); pick another --replica-instance")
    steps = [
        Step("see which instances exist: the new replica's name must not be one of them nor one deleted this week",
             ("gcloud", "sql", "instances", "list", "--project", facts.project_id, "--format", "value(name,region)")),
        Step(f"gcp.cloudSql.replica.instance = {name}", _set(facts, "gcp.cloudSql.replica.instance", name)),
        Step(f"gcp.cloudSql.replica.region = {region}", _set(facts, "gcp.cloudSql.replica.region", region)),
        Step(f"create the replica {facts.full(name)} (it copies the primary, then streams)", _pulumi(facts, "up", "--yes")),
    ]
    if lost_instance:
        lost = facts.full(lost_instance)
        steps += [
            Step(f"only after checking that nothing on {lost} is needed (writes after the last replicated "
                 "transaction live only there): lift its deletion protection",
                 ("gcloud", "sql", "instances", "patch", lost, "--no-deletion-protection", "--project", facts.project_id),
                 manual=True),
            Step(f"delete {lost} (its automated backups are kept: retain_backups_on_delete)",
                 ("gcloud", "sql", "instances", "delete", lost, "--project", facts.project_id), manual=True),
        ]
    return steps


# ---------------------------------------------------------------------------------------------
# The state surgery (offline, on a `pulumi stack export` document)
# ---------------------------------------------------------------------------------------------

def _rename_segments(value: Any, old: str, new: str) -> Any:
    """Every string of `value` with its '/'-separated segments equal to `old` set to `new` (ids and
    self links name the instance as one segment: never a substring replace, `old` may prefix `new`)."""
    if isinstance(value, str):
        return "/".join(new if part == old else part for part in value.split("/"))
    if isinstance(value, list):
        return [_rename_segments(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _rename_segments(v, old, new) for k, v in value.items()}
    return value


def _retarget(resource: dict[str, Any], mapping: dict[str, Optional[str]]) -> None:
    """Rewrite the URN references of `resource` by `mapping` (None: drop the reference)."""
    def one(urn: str) -> Optional[str]:
        return mapping.get(urn, urn) if urn in mapping else urn

    if resource.get("parent") in mapping and mapping[resource["parent"]] is not None:
        resource["parent"] = mapping[resource["parent"]]
    if resource.get("deletedWith") in mapping:
        resource["deletedWith"] = mapping[resource["deletedWith"]] or ""
    if "dependencies" in resource:
        resource["dependencies"] = list(dict.fromkeys(u for u in map(one, resource["dependencies"]) if u))
    for prop, urns in list((resource.get("propertyDependencies") or {}).items()):
        resource["propertyDependencies"][prop] = list(dict.fromkeys(u for u in map(one, urns) if u))


def rewrite_state(state: dict[str, Any], facts: StackFacts, *, recreate_redis: bool = False,
                  rebuild_rabbitmq: bool = False) -> dict[str, Any]:
    """The exported state with the promoted replica as the primary role (see the module doc)."""
    out = copy.deepcopy(state)
    resources: list[dict[str, Any]] = out["deployment"]["resources"]
    by_urn = {r["urn"]: r for r in resources}
    primary_urn, replica_urn = facts.urns["primary"], facts.urns["replica"]
    missing = [u for u in (primary_urn, replica_urn) if u not in by_urn]
    if missing:
        raise SystemExit(f"the exported state has no {missing}: adopted already, or not this stack's export")
    lost, promoted = facts.full(facts.primary_instance), facts.full(facts.replica_instance or "")
    replica = by_urn[replica_urn]
    replica["urn"] = primary_urn
    # promoted: no master any more (the refresh reads the same; without it the diff would replace it)
    replica.get("inputs", {}).pop("masterInstanceName", None)
    outputs = replica.get("outputs", {})
    if "masterInstanceName" in outputs:
        outputs["masterInstanceName"] = ""
    if "instanceType" in outputs:
        outputs["instanceType"] = "CLOUD_SQL_INSTANCE"
    mapping: dict[str, Optional[str]] = {replica_urn: primary_urn}
    dropped = {primary_urn}
    if recreate_redis and "redis" in facts.urns and facts.urns["redis"] in by_urn:
        dropped.add(facts.urns["redis"])
        mapping[facts.urns["redis"]] = None
    if rebuild_rabbitmq:
        for urn in facts.rabbitmq_urns:
            dropped.add(urn)
            mapping[urn] = None
    kept: list[dict[str, Any]] = []
    for resource in resources:
        if resource is replica:
            continue
        if resource["urn"] in dropped:
            if resource["urn"] == primary_urn:
                kept.append(replica)  # in the primary's place: its dependents come after it
            continue
        if resource.get("type") in ON_INSTANCE and resource.get("inputs", {}).get("instance") == lost:
            for key in ("id", "inputs", "outputs"):
                if key in resource:
                    resource[key] = _rename_segments(resource[key], lost, promoted)
        _retarget(resource, mapping)
        kept.append(resource)
    # it depended on its master (masterInstanceName), which it now is: no reference to itself
    _retarget(replica, {**mapping, primary_urn: None})
    out["deployment"]["resources"] = kept
    return out


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def _print(steps: Sequence[Step]) -> None:
    for i, step in enumerate(steps, 1):
        mark = "  (by hand, never run by --run)" if step.manual else ""
        print(f"# {i}. {step.why}{mark}")
        print(("# " if step.manual else "") + step.line())


def _run(steps: Sequence[Step], facts: StackFacts) -> int:
    for step in steps:
        if step.manual:
            print(f"skipped (by hand): {step.line()}")
            continue
        print(f"+ {step.line()}", flush=True)
        if step.argv[:4] == ("python", "-m", "tools.dr_adopt", "rewrite-state"):
            args = _parser().parse_args(list(step.argv[3:]))
            _rewrite_files(args, facts)
            continue
        if subprocess.run(list(step.argv)).returncode != 0:
            print(f"stopped: `{step.line()}` failed; fix it and run the remaining steps", file=sys.stderr)
            return 1
    return 0


def _rewrite_files(args: argparse.Namespace, facts: StackFacts) -> None:
    state = json.loads(Path(args.input).read_text())
    rewritten = rewrite_state(state, facts, recreate_redis=args.recreate_redis,
                              rebuild_rabbitmq=bool(args.rebuild_rabbitmq))
    Path(args.output).write_text(json.dumps(rewritten, indent=2))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.dr_adopt", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=["steps", "rewrite-state"], default="steps")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--phase", choices=["adopt", "replica"], default="adopt")
    parser.add_argument("--recreate-redis", action="store_true",
                        help="also move Memorystore to the promoted region (a new, empty cache)")
    parser.add_argument("--rebuild-rabbitmq", metavar="SNAPSHOT",
                        help="also rebuild the RabbitMQ VM in the promoted region from this disk snapshot (cloudrun)")
    parser.add_argument("--replica-instance", help="phase replica: the new replica's name after the prefix")
    parser.add_argument("--lost-instance", help="phase replica: the lost primary's name after the prefix (to delete it)")
    parser.add_argument("--in", dest="input", help="rewrite-state: the `pulumi stack export` file")
    parser.add_argument("--out", dest="output", help="rewrite-state: where to write the rewritten state")
    parser.add_argument("--run", action="store_true", help="run the steps (never the by-hand ones)")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    facts = stack_facts(args.stack)
    if args.command == "rewrite-state":
        if not (args.input and args.output):
            raise SystemExit("rewrite-state needs --in and --out")
        _rewrite_files(args, facts)
        return 0
    if args.phase == "adopt":
        steps = adopt_steps(facts, recreate_redis=args.recreate_redis, rabbitmq_snapshot=args.rebuild_rabbitmq)
    else:
        steps = replica_steps(facts, replica_instance=args.replica_instance, lost_instance=args.lost_instance)
    if args.run:
        return _run(steps, facts)
    _print(steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
