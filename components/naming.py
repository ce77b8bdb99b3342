"""Physical names: derived from the full project and stack names, valid in every cloud, stable.

Every physical cloud name starts with the stack's *prefix* (`StackContext.prefix`):

- `aia-<stack>` when the stack name is already a clean name part (lowercase letters, digits and
  single inner hyphens) and the prefix fits `PREFIX_MAX` characters -- every stack whose name
  fits keeps exactly the prefix it always had (dev -> `aia-dev`, prod-aws -> `aia-prod-aws`);
- otherwise the stack name sanitised (lowercase; every run of other characters -> one hyphen),
  cut to leave room for `-` and 6 hex characters of the SHA-256 of `<project>/<stack>` as given
  (unsanitised): `staging-team-a` -> `aia-stagi-5f0d3e`, `Team_A.prod` -> `aia-team-a-1c9b7a`.
  Two stacks whose names differ anywhere -- in the part that is cut, in case, in `_` vs `.` --
  get different prefixes, and the same stack always gets the same one.

`PREFIX_MAX` is 16 because the tightest names the program builds leave that much to the stack:
Route 53 health-check reference names (27 characters) and GCP service-account ids (30) carry the
prefix, a hyphen and a suffix of up to 13 characters. Inside the prefix there are only lowercase
letters, digits and single hyphens and it starts with a letter, so it is valid in every name rule
of tests/naming_rules.py (RDS/ElastiCache `--`, GCS/S3 lowercase, RFC 1035, ...).

What the CLI allows in a stack name (letters, digits, `-`, `_`, `.`; up to 100 characters) and
what the clouds make of it:

| in the stack name | refused by | here |
|---|---|---|
| upper case | GCP (RFC 1035 names, buckets), S3, RDS/DocumentDB/ElastiCache ids (stored lower) | lowercased, + hash |
| `_` | RFC 1035 (GCP compute, Cloud Run, GKE, Memorystore, Cloud SQL, service accounts), S3, RDS ids | `-`, + hash |
| `.` | as `_`; a GCS bucket with a dot is a domain name (verification needed); S3 TLS hosts | `-`, + hash |
| `--`, a hyphen first or last | RDS, DocumentDB, ElastiCache ids (`--`, trailing `-`); RFC 1035 (trailing) | one inner `-`, + hash |
| a digit first | RFC 1035, service accounts, RDS ids (a letter first) | kept: `aia-` comes first |
| more than 12 characters | the prefix budget (16 with `aia-`) | cut, + hash |

The prefix depends on nothing but the project and stack names (and `namePrefix`, which pins it):
no other config change can rename anything. The stack's config may pin the prefix with
`namePrefix`; a stack created before this scheme whose name gave another prefix under the old
rule (`aia-<stack>` cut at 16 characters, which made `staging-team-a` and `staging-team-b` one
stack in the cloud) gets a warning that names both prefixes (`rename_notice`).

`bounded(name, limit)` keeps a name that fits as it is and shortens one that does not with a hash
of the whole name, so two long names that differ only at the end stay different. The limits are in
the tests' table of physical-name rules (tests/naming_rules.py), applied to every resource of
every stack, including stacks planned under long, similar and odd names.
"""

from __future__ import annotations

import hashlib
import re
from typing import Optional

HASH_LENGTH = 6
PROJECT_TOKEN = "aia"  # the short form of the project name in every physical name
PREFIX_MAX = 16
# a name part that needs no sanitising, and cannot be mistaken for a hashed one (`<head>-<6 hex>`)
CLEAN_PART = re.compile(r"(?![a-z0-9-]*-[0-9a-f]{6}$)[a-z0-9]+(-[a-z0-9]+)*")
PREFIX_RULE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PREFIX_KEY = "namePrefix"


def digest(text: str) -> str:
    """6 hex characters of the SHA-256 of `text`."""
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def bounded(name: str, limit: int, separator: str = "-") -> str:
    """`name` if it has at most `limit` characters, else its head + separator + 6 hex characters of
    its SHA-256; the head never ends with a separator, dot or underscore."""
    if len(name) <= limit:
        return name
    head = name[: limit - HASH_LENGTH - len(separator)].rstrip("-_./ ")
    return f"{head}{separator}{digest(name)}"


def sanitised(text: str) -> str:
    """Lowercase letters and digits; every run of other characters becomes one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def stack_token(project: str, stack: str, home_project: str) -> str:
    """The stack name as a name part: itself when it is clean (and the project is this one), else
    sanitised + `-` + the hash of `<project>/<stack>`. No length limit: callers bound the name."""
    if project == home_project and CLEAN_PART.fullmatch(stack):
        return stack
    return "-".join(p for p in (sanitised(stack), digest(f"{project}/{stack}")) if p)


def stack_prefix(project: str, stack: str, home_project: str) -> str:
    """`aia-<stack>` if the stack is clean and it fits PREFIX_MAX, else hash-shortened (see module)."""
    full = f"{PROJECT_TOKEN}-{stack}"
    if project == home_project and CLEAN_PART.fullmatch(stack) and len(full) <= PREFIX_MAX:
        return full
    head = f"{PROJECT_TOKEN}-{sanitised(stack)}"[: PREFIX_MAX - HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{digest(f'{project}/{stack}')}"


def legacy_prefix(stack: str) -> str:
    """The prefix of the scheme before this one: `aia-<stack>` sanitised and cut at 16 characters."""
    return re.sub(r"-+", "-", f"{PROJECT_TOKEN}-{re.sub(r'[^a-z0-9-]', '-', stack.lower())}")[:16].rstrip("-")


def prefix_problem(value: str) -> Optional[str]:
    """Why `value` cannot pin the prefix, or None."""
    if not 3 <= len(value) <= PREFIX_MAX or not PREFIX_RULE.fullmatch(value):
        return (
            f"must be 3-{PREFIX_MAX} lowercase letters, digits and single hyphens, a letter first and no "
            "hyphen last (it starts every physical name, and RDS, ElastiCache and GCP names refuse the rest)"
        )
    return None


def rename_notice(project: str, stack: str, home_project: str, pinned: Optional[str]) -> Optional[str]:
    """A warning for a stack whose prefix is not the one the old scheme gave it, unless pinned."""
    new, old = stack_prefix(project, stack, home_project), legacy_prefix(stack)
    if pinned is not None or new == old:
        return None
    return (
        f"stack {stack!r}: physical names now derive from the full stack name and start with {new!r}; "
        f"before, they started with {old!r}. If this stack was deployed with the old names, every named "
        f"resource (databases, caches, buckets, secrets) would be replaced and its data lost: set "
        f"`{PREFIX_KEY}: {old}` in Pulumi.{stack}.yaml to keep them. To take the new names (a new stack) "
        f"and silence this warning, set `{PREFIX_KEY}: {new}`."
    )
