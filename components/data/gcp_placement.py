"""Where and how the GCP data services are placed, decided once from config, and the rules that
keep those decisions from replacing data later.

Some inputs of the fixed-name stateful resources cannot change in place: the provider replaces
the resource, and with it the data (ForceNew: Memorystore `tier`, Firestore `location_id`, the
backup bucket's `location`, every resource's region). So none of them may follow an ordinary key
whose change looks harmless. Each is either derived only from a key whose reference text says
"changing this replaces ..." (`regions.primary`, `regions.secondary`) or is a pinned key of its
own (`gcp.firestoreLocation`, `gcp.backupLocation`, `gcp.redisTier`), with a default equal to what
existing stacks already run. Production stacks must set the pinned keys explicitly: a change is
then an edit of a line that says what it replaces, never the side effect of another key. An
ordinary key that disagrees with a pinned one (`data.redis.ha` against `gcp.redisTier`) is refused
with a problem (before anything is built) that says what would be replaced.

Where each stateful resource lives is pinned by role the same way, never by which region is
called primary: Cloud SQL's primary and replica (`gcp.cloudSql`: name and region of each),
Memorystore (`gcp.redisRegion`), the RabbitMQ VM with its disk, IP and snapshot schedule
(`gcp.rabbitmqZone`), the subnets' ranges (`gcp.networkCidrRegion`), the GKE cluster
(`gke.region`) and the Backup for GKE plans (`gke.backupLocation`). Production stacks set them
all, so the failover runbook can swap regions.primary/secondary (which only moves the Cloud Run
services' roles) and move no data; `tools/dr_adopt.py` rewrites `gcp.cloudSql` after a promotion.

The nightly export's schedule is decided here too: outside Cloud SQL's backup window and the
maintenance window, with a margin (`components/schedule_windows.py`).

SDK-free: the GCP adapters' `problems` run it before anything is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from components import schedule_windows as sw
from components.config.base import Problem
from components.gcp import firestore_multi_region_of, multi_region_of

if TYPE_CHECKING:
    from components.config import StackConfig

# The reference text that marks a key whose change replaces data (tests look for it).
REPLACES_MARK = "changing this replaces"
GCP_PLATFORMS = ("cloudrun", "gke")
# How long the export may keep Cloud SQL busy (serverless export of the app database).
EXPORT_MINUTES = 60


def firestore_location(config: "StackConfig") -> str:
    """`gcp.firestoreLocation`, else nam5/eur3 (the primary's continent) in prod, else the primary.
    Not derived from `regions.secondary`: adding a DR region must not replace the database."""
    if config.gcp.firestore_location:
        return config.gcp.firestore_location
    primary = config.regions.primary
    return firestore_multi_region_of(primary) if config.is_production else primary


def backup_location(config: "StackConfig") -> str:
    """`gcp.backupLocation`, else the multi-region (US/EU/ASIA) of the primary region."""
    if config.gcp.backup_location:
        return config.gcp.backup_location
    return multi_region_of(config.regions.primary)


def redis_tier(config: "StackConfig") -> str:
    """`gcp.redisTier`, else STANDARD_HA in prod and BASIC elsewhere (what `data.redis.ha` defaults to)."""
    return config.gcp.redis_tier or ("STANDARD_HA" if config.is_production else "BASIC")


@dataclass(frozen=True)
class SqlSlot:
    """A Cloud SQL instance of the stack: its name after `<prefix>-` and its region."""

    instance: str
    region: str


def cloud_sql_slots(config: "StackConfig") -> tuple[SqlSlot, Optional[SqlSlot]]:
    """(primary, replica or None): `gcp.cloudSql` when set (all of it: no replica there is none),
    else `postgres` in regions.primary and `postgres-<regions.secondary>` there."""
    pinned = config.gcp.cloud_sql
    if pinned is not None:
        replica = pinned.replica
        return (SqlSlot(pinned.primary.instance, pinned.primary.region),
                SqlSlot(replica.instance, replica.region) if replica else None)
    secondary = config.regions.secondary
    return (SqlSlot("postgres", config.regions.primary),
            SqlSlot(f"postgres-{secondary}", secondary) if secondary else None)


def redis_region(config: "StackConfig") -> str:
    """`gcp.redisRegion`, else regions.primary."""
    return config.gcp.redis_region or config.regions.primary


def rabbitmq_zone(config: "StackConfig") -> str:
    """`gcp.rabbitmqZone`, else `<regions.primary>-b` (the zone existing stacks run in)."""
    return config.gcp.rabbitmq_zone or f"{config.regions.primary}-b"


def region_of_zone(zone: str) -> str:
    """'us-central1-b' -> 'us-central1'."""
    return zone.rsplit("-", 1)[0]


def subnet_cidrs(config: "StackConfig", regions: "list[str]") -> dict[str, str]:
    """The VPC subnet of each region of `regions` (the first is listed first): `gcp.networkCidr` in
    `gcp.networkCidrRegion` (default regions.primary), `gcp.secondaryNetworkCidr` in the other one.
    By region, not by role: swapping regions.primary/secondary keeps every subnet's range."""
    anchor = config.gcp.network_cidr_region or config.regions.primary
    return {
        region: config.gcp.network_cidr if region == anchor else config.gcp.secondary_network_cidr
        for region in regions
    }


def gke_region(config: "StackConfig") -> str:
    """`gke.region`, else regions.primary: where the GKE cluster, its subnet and key ring live."""
    return config.gke.region or config.regions.primary


def gke_backup_location(config: "StackConfig") -> str:
    """`gke.backupLocation`, else regions.secondary, else regions.primary: the Backup for GKE plans."""
    return config.gke.backup_location or config.regions.secondary or config.regions.primary


def backup_start_time(cron: str) -> str:
    """'0 2 * * *' -> '02:00': Cloud SQL's automated backup start (it starts within 4 h of it)."""
    minute, hour = cron.split()[:2]
    hour_i = int(hour) if hour.isdigit() else 2
    minute_i = int(minute) if minute.isdigit() else 0
    return f"{hour_i:02d}:{minute_i:02d}"


def maintenance_day_hour(config: "StackConfig") -> tuple[int, int]:
    """`dr.maintenanceWindow` 'SUN:02:00-...' -> (7, 2): Cloud SQL's day (1 = Monday) and hour."""
    start = config.dr.maintenance_window.split("-")[0]
    day, hour = start.split(":")[:2]
    return sw.DAYS.index(day.upper()[:3]) + 1, int(hour)


def cloud_sql_windows(config: "StackConfig") -> list[sw.Window]:
    """Cloud SQL's busy periods: the automated backup (4 h from its start) and maintenance."""
    return [
        sw.daily_from("the Cloud SQL backup window", backup_start_time(config.dr.backup_schedule),
                      sw.CLOUD_SQL_BACKUP_WINDOW_MINUTES),
        sw.weekly_window("the maintenance window", config.dr.maintenance_window),
    ]


def export_schedule(config: "StackConfig") -> str:
    """`gcp.exportSchedule`, else daily at the first half hour after the backup window that clears
    both windows with the margin (07:00 for a 02:00 backup)."""
    if config.gcp.export_schedule:
        return config.gcp.export_schedule
    hour, minute = backup_start_time(config.dr.backup_schedule).split(":")
    after = int(hour) * 60 + int(minute) + sw.CLOUD_SQL_BACKUP_WINDOW_MINUTES
    slot = sw.first_free_daily_start(cloud_sql_windows(config), EXPORT_MINUTES, after=after)
    slot = after % 1440 if slot is None else slot  # no free slot: the check below reports it
    return f"{slot % 60} {slot // 60} * * *"


def _role_pins(config: "StackConfig") -> list[tuple[str, object, object, str]]:
    """(key, its value, the default it would take, what it holds) of the placement keys a swap of
    regions.primary/secondary must not move (full key paths)."""
    pins: list[tuple[str, object, object, str]] = []
    if config.data.postgres.enabled:
        primary, replica = cloud_sql_slots(config)
        default = {"primary": vars(primary), **({"replica": vars(replica)} if replica else {})}
        pins.append(("gcp.cloudSql", config.gcp.cloud_sql, default, "the Cloud SQL instances and its data"))
    if config.data.redis.enabled:
        pins.append(("gcp.redisRegion", config.gcp.redis_region, redis_region(config), "the Memorystore instance and its data"))
    if config.platform == "cloudrun":
        if config.data.rabbitmq.enabled:
            pins.append(("gcp.rabbitmqZone", config.gcp.rabbitmq_zone, rabbitmq_zone(config), "the RabbitMQ data disk and its data"))
        if config.regions.secondary:
            pins.append(("gcp.networkCidrRegion", config.gcp.network_cidr_region, config.regions.primary,
                         "the subnets and the RabbitMQ VM's fixed IP"))
    if config.platform == "gke":
        pins.append(("gke.region", config.gke.region, gke_region(config), "the GKE cluster and its volumes and its data"))
        pins.append(("gke.backupLocation", config.gke.backup_location, gke_backup_location(config),
                     "the Backup for GKE plans and its data"))
    return pins


def _pinned_region_problems(config: "StackConfig") -> list[Problem]:
    """Pinned regions that GCP does not have, or that the stack has no subnet in."""
    from components.regions import GCP_REGIONS

    found: list[Problem] = []
    primary, replica = cloud_sql_slots(config)
    regional = [
        ("gcp.cloudSql.primary.region", config.gcp.cloud_sql and primary.region),
        ("gcp.cloudSql.replica.region", config.gcp.cloud_sql and replica and replica.region),
        ("gcp.redisRegion", config.gcp.redis_region),
        ("gcp.rabbitmqZone", config.gcp.rabbitmq_zone and region_of_zone(config.gcp.rabbitmq_zone)),
        ("gcp.networkCidrRegion", config.gcp.network_cidr_region),
        ("gke.region", config.gke.region),
        ("gke.backupLocation", config.gke.backup_location),
    ]
    for key, region in regional:
        if region and region not in GCP_REGIONS:
            found.append(Problem(key, region, "is not a Google Cloud region (the list is components/regions.py)"))
    stack_regions = [r for r in (config.regions.primary, config.regions.secondary) if r]
    if config.platform == "cloudrun" and config.data.rabbitmq.enabled:
        region = region_of_zone(rabbitmq_zone(config))
        if region not in stack_regions:
            found.append(Problem("gcp.rabbitmqZone", rabbitmq_zone(config),
                                 f"is in {region}, where the stack has no subnet; pick a zone of {stack_regions}"))
    if config.gcp.network_cidr_region and config.gcp.network_cidr_region not in stack_regions:
        found.append(Problem("gcp.networkCidrRegion", config.gcp.network_cidr_region,
                             f"must be one of the stack's regions {stack_regions}"))
    return found


def placement_problems(config: "StackConfig") -> list[Problem]:
    """What a GCP stack's config gets wrong about pinned placement and the export schedule
    (part of the `cloudrun` and `gke` adapters' problems: `components.gcp.gcp_problems`)."""
    if config.platform not in GCP_PLATFORMS:
        return []
    problems: list[Problem] = []
    if config.is_production:
        pinned = []
        if config.data.redis.enabled:
            pinned.append(("redisTier", config.gcp.redis_tier, redis_tier(config), "the Memorystore instance and its data"))
        if config.data.mongodb.enabled and config.platform == "cloudrun":
            pinned.append(("firestoreLocation", config.gcp.firestore_location, firestore_location(config),
                           "the Firestore database and its data"))
        pinned.append(("backupLocation", config.gcp.backup_location, backup_location(config), "the backup bucket and its data"))
        pinned += _role_pins(config)
        for name, value, default, what in pinned:
            if value is None:
                problems.append(Problem(
                    name if "." in name else f"gcp.{name}", None,
                    f"production stacks pin it explicitly ({REPLACES_MARK} {what}; swapping "
                    f"regions.primary/secondary must move nothing that holds data); set it to what the stack "
                    f"runs today, e.g. {default!r}",
                ))
    problems += _pinned_region_problems(config)
    if config.data.redis.enabled:
        wanted = "STANDARD_HA" if config.data.redis.ha else "BASIC"
        if redis_tier(config) != wanted:
            problems.append(Problem(
                "data.redis.ha", config.data.redis.ha,
                f"asks for Memorystore {wanted}, but the tier is pinned to {redis_tier(config)} (gcp.redisTier); "
                f"{REPLACES_MARK} the Memorystore instance (cache and sessions are lost): set gcp.redisTier "
                "deliberately, or keep data.redis.ha",
            ))
    schedule = export_schedule(config)
    hits = sw.conflicts(sw.cron_schedule("the nightly export", schedule, EXPORT_MINUTES), cloud_sql_windows(config))
    if hits:
        problems.append(Problem(
            "gcp.exportSchedule", schedule,
            f"{hits[0]}; Cloud SQL runs one operation at a time, so pick a time at least "
            f"{sw.DEFAULT_MARGIN_MINUTES} min clear of both windows",
        ))
    return problems
