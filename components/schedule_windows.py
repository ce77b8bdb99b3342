"""When scheduled jobs run and when the services they touch are busy, on one weekly clock.

Cloud SQL runs one admin operation at a time, AWS Backup skips or fails jobs that start inside an
RDS/DocumentDB maintenance window, and a maintenance restart in the middle of an export loses it.
So every scheduled job (Cloud Scheduler and Kubernetes cron, AWS Backup `cron(...)`) must start
outside every backup and maintenance window of what it touches, with a margin. This module
parses both cron dialects and the windows the providers declare into minutes of a UTC week
(Monday 00:00 = 0) and answers whether a job overlaps a window. It imports no provider SDK: config
validation uses it, and the stack tests apply it to every job of every stack.

Window shapes it reads:
- `SUN:02:00-SUN:04:00` (`dr.maintenanceWindow`, RDS/DocumentDB/ElastiCache, lower case too);
- `00:00-01:00` (RDS/DocumentDB backup and ElastiCache snapshot windows: daily);
- Cloud SQL maintenance `day` (1 = Monday ... 7 = Sunday) + `hour`: one hour;
- Cloud SQL backup `startTime` `HH:MM`: Cloud SQL starts the backup within four hours of it;
- Memorystore weekly window (`SUNDAY`, 02:00): one hour;
- Amazon MQ start time (`SUNDAY`, `02:00`): two hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

WEEK = 7 * 1440
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
# Cloud SQL: "backups start within a 4-hour window from the start time"
CLOUD_SQL_BACKUP_WINDOW_MINUTES = 240
CLOUD_SQL_MAINTENANCE_MINUTES = 60
MEMORYSTORE_MAINTENANCE_MINUTES = 60
AMAZON_MQ_MAINTENANCE_MINUTES = 120
# A job must start this long after a window ends and end this long before one starts.
DEFAULT_MARGIN_MINUTES = 60


@dataclass(frozen=True)
class Window:
    """A recurring busy period: starts at each of `starts` (minutes of the week), lasts `minutes`."""

    label: str
    starts: frozenset[int]
    minutes: int

    def intervals(self) -> list[tuple[int, int]]:
        return [(s, s + self.minutes) for s in sorted(self.starts)]


def _day_index(token: str) -> int:
    return DAYS.index(token.strip().upper()[:3])


def _hhmm(text: str) -> int:
    hour, minute = text.split(":")[:2]
    return int(hour) * 60 + int(minute)


def weekly_window(label: str, spec: str) -> Window:
    """'SUN:02:00-SUN:04:00' (any case) -> Sunday 02:00 for 120 minutes."""
    start, end = spec.split("-")
    sday, stime = start.split(":", 1)
    eday, etime = end.split(":", 1)
    begin = _day_index(sday) * 1440 + _hhmm(stime)
    finish = _day_index(eday) * 1440 + _hhmm(etime)
    return Window(label, frozenset({begin}), (finish - begin) % WEEK or WEEK)


def daily_window(label: str, spec: str) -> Window:
    """'00:00-01:00' every day."""
    start, end = spec.split("-")
    begin, finish = _hhmm(start), _hhmm(end)
    return Window(label, frozenset(d * 1440 + begin for d in range(7)), (finish - begin) % 1440 or 1440)


def daily_from(label: str, start: str, minutes: int) -> Window:
    """`minutes` from `HH:MM` every day (Cloud SQL backup start time)."""
    begin = _hhmm(start)
    return Window(label, frozenset(d * 1440 + begin for d in range(7)), minutes)


def weekday_at(label: str, day: str | int, minute_of_day: int, minutes: int) -> Window:
    """`day`: a name ('SUNDAY', 'sun') or Cloud SQL's number (1 = Monday ... 7 = Sunday)."""
    index = (int(day) - 1) if isinstance(day, int) or str(day).isdigit() else _day_index(str(day))
    return Window(label, frozenset({index * 1440 + minute_of_day}), minutes)


# ---------------------------------------------------------------------------------------------
# cron
# ---------------------------------------------------------------------------------------------

_NAMES = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


def _field(text: str, low: int, high: int, names: Optional[dict[str, int]] = None) -> Optional[set[int]]:
    """The values a cron field allows; None for 'any' (`*`, `?`, or what this parser cannot narrow:
    `L`, `W`, `#`, which only make the job rarer)."""
    if names:  # day names first: 'WED' is not the 'W' (nearest weekday) flag
        text = re.sub(r"[A-Za-z]{3}", lambda m: str(names.get(m.group(0).upper(), m.group(0))), text)
    if text in ("*", "?") or any(c in text.upper() for c in "LW#"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        part, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if part == "*":
            first, last = low, high
        else:
            first_text, _, last_text = part.partition("-")

            first = int(first_text)
            last = int(last_text) if last_text else (high if step_text else first)
        values.update(range(first, last + 1, step))
    return values


@dataclass(frozen=True)
class Schedule:
    """When a job starts (minutes of the week) and how long it may keep its target busy."""

    label: str
    starts: frozenset[int]
    minutes: int


def _schedule(label: str, minute: str, hour: str, dom: str, dow: Optional[set[int]], minutes: int) -> Schedule:
    """`dow`: weekdays with Monday = 0, or None for every day."""
    minutes_of_day = sorted(_field(minute, 0, 59) or range(60))
    hours = sorted(_field(hour, 0, 23) or range(24))
    # A day-of-month job can fall on any weekday; a weekday restriction narrows only without one.
    days = sorted(dow) if dow is not None and dom in ("*", "?") else range(7)
    return Schedule(label, frozenset(d * 1440 + h * 60 + m for d in days for h in hours for m in minutes_of_day), minutes)


def cron_schedule(label: str, expression: str, minutes: int) -> Schedule:
    """A 5-field cron (`m h dom mon dow`, 0/7 = Sunday; Cloud Scheduler, Kubernetes CronJob, GKE)."""
    minute, hour, dom, _month, dow = expression.split()
    days = _field(dow, 0, 7, _NAMES)
    weekdays = None if days is None else {(d - 1) % 7 for d in days}  # cron 0 = Sunday -> 6
    return Schedule(label, _schedule(label, minute, hour, dom, weekdays, minutes).starts, minutes)


_AWS_CRON = re.compile(r"^cron\((.+)\)$")


def aws_cron_schedule(label: str, expression: str, minutes: int) -> Schedule:
    """An AWS `cron(m h dom mon dow year)` expression (dow 1 = Sunday ... 7 = Saturday)."""
    match = _AWS_CRON.match(expression.strip())
    if not match:
        raise ValueError(f"{expression!r} is not an AWS cron(...) expression")
    minute, hour, dom, _month, dow, _year = match.group(1).split()
    days = _field(dow, 1, 7, {k: v + 1 for k, v in _NAMES.items()})
    weekdays = None if days is None else {(d - 2) % 7 for d in days}  # AWS 1 = Sunday -> 6
    return Schedule(label, _schedule(label, minute, hour, dom, weekdays, minutes).starts, minutes)


# ---------------------------------------------------------------------------------------------
# overlap
# ---------------------------------------------------------------------------------------------


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Half-open intervals on the weekly circle."""
    for shift in (-WEEK, 0, WEEK):
        if a[0] < b[1] + shift and b[0] + shift < a[1]:
            return True
    return False


def conflicts(
    schedule: Schedule, windows: Iterable[Window], margin: int = DEFAULT_MARGIN_MINUTES
) -> list[str]:
    """Human-readable conflicts: each window the job (widened by `margin` both sides) runs into."""
    found = []
    for window in windows:
        for start in sorted(schedule.starts):
            job = (start - margin, start + schedule.minutes + margin)
            hit = next((w for w in window.intervals() if _overlaps(job, w)), None)
            if hit is not None:
                found.append(
                    f"{schedule.label} starting {describe(start)} (busy {schedule.minutes} min, margin {margin} min) "
                    f"overlaps {window.label} {describe(hit[0])}-{describe(hit[1] % WEEK)}"
                )
                break
    return found


def describe(minute_of_week: int) -> str:
    day, minute = divmod(minute_of_week % WEEK, 1440)
    return f"{DAYS[day]} {minute // 60:02d}:{minute % 60:02d}"


def clear_after(window: Window, margin: int = DEFAULT_MARGIN_MINUTES) -> tuple[int, int, int]:
    """(weekday with Monday = 0, hour, minute) `margin` minutes after the window's first end."""
    end = (min(window.starts) + window.minutes + margin) % WEEK
    day, minute = divmod(end, 1440)
    return day, minute // 60, minute % 60


def first_free_daily_start(
    windows: Iterable[Window], minutes: int, margin: int = DEFAULT_MARGIN_MINUTES, after: int = 0
) -> Optional[int]:
    """The earliest minute of the day (from `after`, in 30-minute steps) at which a daily job of
    `minutes` clears every window with `margin`; None when the day has no such slot."""
    windows = list(windows)
    for offset in range(0, 1440, 30):
        minute = (after + offset) % 1440
        candidate = Schedule("job", frozenset(d * 1440 + minute for d in range(7)), minutes)
        if not conflicts(candidate, windows, margin):
            return minute
    return None
