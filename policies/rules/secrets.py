"""No secret in a plain environment variable (or a ConfigMap).

Secrets reach workloads only through the platform's secret store: Kubernetes `valueFrom.
secretKeyRef`/`envFrom.secretRef`, Cloud Run `valueSource.secretKeyRef` (Secret Manager), ECS
`secrets[].valueFrom` (Secrets Manager). A plain value is readable by anyone who can read the
workload definition (and in ECS by anyone with ecs:DescribeTaskDefinition).

Judged by names and structure, never by echoing values:
- the variable's *name* says it is a secret or a connection string (`secret_name_reason`);
- the value is a URL with credentials (`scheme://user:password@host`);
- offline, the value is a secret Output ("[secret]"): a secret flowed into a plain value.
Messages name the variable and the container, never the value.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from pulumi_policy import ResourceValidationArgs, Severity

from .base import Check, resource_policy
from .props import OFFLINE_SECRET, SECRET, get, is_unknown, items, seq
from .workloads import ALL_CONTAINER_TYPES, ECS_TASK_DEFINITION, container_views

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"

_SECRET_WORDS = (
    "SECRET", "PASSWORD", "PASSWD", "TOKEN", "APIKEY", "API_KEY", "ACCESS_KEY", "SECRET_KEY",
    "PRIVATE_KEY", "CREDENTIAL", "CREDENTIALS", "DSN", "AUTH_STRING", "CONNECTION_STRING",
    "CONNECTIONSTRING", "CONNECTIONURL", "CONNECTION_URI", "CONNECTION_URL",
)
_SECRET_WORD_RE = re.compile(r"(?:^|_)(?:" + "|".join(_SECRET_WORDS) + r")(?:_|$)")
#: Names that carry credentials by convention (DESIGN: DATABASE_URL, REDIS_URL,
#: MONGODB_CONNECTION_URI, QUEUE_CONNECTIONURL come from the secret store only).
CONNECTION_STRING_NAMES = frozenset(
    {
        "DATABASE_URL", "POSTGRES_URL", "POSTGRESQL_URL", "PG_URL", "REDIS_URL", "REDIS_URI",
        "MONGODB_URI", "MONGODB_URL", "MONGO_URI", "MONGO_URL", "MONGODB_CONNECTION_URI",
        "QUEUE_CONNECTIONURL", "AMQP_URL", "RABBITMQ_URL", "BROKER_URL", "CELERY_BROKER_URL",
    }
)
#: A last name segment that makes the variable *about* a secret, not the secret itself.
_METADATA_SUFFIXES = frozenset(
    {
        "FILE", "PATH", "ARN", "NAME", "ID", "REF", "TYPE", "VERSION", "ENABLED", "HEADER",
        "EXPIRY", "EXPIRE", "EXPIRES", "TTL", "SECONDS", "MINUTES", "HOURS", "DAYS", "LENGTH",
        "ALGORITHM", "ISSUER", "AUDIENCE",
    }
)
_CREDENTIAL_URL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:]*:[^/@\s]+@")


def secret_name_reason(name: str) -> Optional[str]:
    """Why an environment variable name denotes a secret, or None."""
    upper = name.upper()
    if upper in CONNECTION_STRING_NAMES:
        return "is a connection string (it carries credentials)"
    last = upper.rsplit("_", 1)[-1]
    if last in _METADATA_SUFFIXES:
        return None
    if _SECRET_WORD_RE.search(upper) or last == "KEY":
        return "names a secret"
    return None


def value_reason(value: Any) -> Optional[str]:
    """Why a *known* plain value is secret material, judged by structure only."""
    if value == OFFLINE_SECRET:
        return "holds a secret value"
    if isinstance(value, str) and _CREDENTIAL_URL_RE.match(value.strip()):
        return "holds a URL with embedded credentials"
    return None


_REMEDY = {
    "kubernetes": "use valueFrom.secretKeyRef (or envFrom.secretRef) to a Kubernetes Secret",
    "cloudrun": "use valueSource.secretKeyRef to a Secret Manager secret",
    "ecs": "move it to `secrets` with valueFrom pointing at Secrets Manager",
}


def _check_env(check: Check, label: str, name: Any, value: Any, platform: str) -> None:
    if not check.known(name, f"{label} env name"):
        return
    name = str(name)
    reason = secret_name_reason(name)
    if reason is None:
        if is_unknown(value):
            if value.reason != SECRET:
                check.unknown(f"{label} env {name}", value)
                return
            reason = "holds a secret value"
        else:
            reason = value_reason(value)
    if reason:
        check.fail(f"{label}: environment variable {name} {reason} but is set as a plain value; {_REMEDY[platform]}.")


@resource_policy(
    name="no-plain-secret-env",
    theme="secrets",
    summary="Secrets and connection strings never appear as plain environment variables or ConfigMap data.",
    severity=Severity.CRITICAL,
    types=ALL_CONTAINER_TYPES + (CONFIG_MAP,),
    checks="Kubernetes `env[].value`, Cloud Run `envs[].value`, ECS `environment[]` and ConfigMap `data` keys: "
    "no secret-like name (SECRET, PASSWORD, TOKEN, API_KEY, *_KEY, DSN, DATABASE_URL, REDIS_URL, ...), no URL "
    "with credentials, no secret Output; judged by names and structure, values are never printed.",
    source="seed 004 (all secrets are stored in secret management system); seed 001/003 (Kubernetes "
    "secrets for sensitive data); seed 000 (Secret Manager)",
    remediation="Reference the secret from the platform's store: Kubernetes valueFrom.secretKeyRef / "
    "envFrom.secretRef, Cloud Run valueSource.secretKeyRef, ECS `secrets` with valueFrom. List provided "
    "secrets under `secrets.provided` in the stack config.",
)
def no_plain_secret_env(args: ResourceValidationArgs, check: Check) -> None:
    if args.resource_type == CONFIG_MAP:
        data = items(get(args.props, "data", secret_ok=True), "data")
        if not check.known(data, "data"):
            return
        for key, value in data:
            reason = secret_name_reason(key) or (None if is_unknown(value) else value_reason(value))
            if reason is None and is_unknown(value) and value.reason == SECRET:
                reason = "holds a secret value"
            if reason:
                check.fail(f"ConfigMap key {key} {reason}; store it in a Secret instead.")
        return

    if args.resource_type == ECS_TASK_DEFINITION:
        raw = get(args.props, "containerDefinitions", secret_ok=True)
        if raw == OFFLINE_SECRET:
            check.fail(
                "containerDefinitions is a secret value: a secret was interpolated into the task definition, "
                "which ECS shows in plain text; reference it through `secrets` with valueFrom instead."
            )
            return

    for view in container_views(args, check):
        key = {"kubernetes": "env", "cloudrun": "envs", "ecs": "environment"}[view.platform]
        env = seq(view.get(key), f"{view.where}.{key}")
        if not check.known(env, f"{view.label} {key}"):
            continue
        for entry in env:
            if not check.known(entry, f"{view.label} {key} entry"):
                continue
            value = get(entry, "value", secret_ok=True)
            if value is None:
                continue  # valueFrom / valueSource: a reference, not a value
            _check_env(check, view.label, get(entry, "name"), value, view.platform)
