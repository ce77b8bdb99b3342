"""Physical names that fit the cloud's limits.

`bounded(name, limit)` keeps a name that fits as it is and shortens one that does not with a hash
of the whole name, so two long names that differ only at the end stay different, and the same
input always gives the same name (a name never changes for an existing stack by accident). The
limits themselves are in the tests' table of physical-name rules (tests/naming_rules.py), which is
applied to every resource of every stack.
"""

from __future__ import annotations

import hashlib

HASH_LENGTH = 6


def bounded(name: str, limit: int, separator: str = "-") -> str:
    """`name` if it has at most `limit` characters, else its head + separator + 6 hex characters of
    its SHA-256; the head never ends with a separator, dot or underscore."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_LENGTH]
    head = name[: limit - HASH_LENGTH - len(separator)].rstrip("-_./ ")
    return f"{head}{separator}{digest}"
