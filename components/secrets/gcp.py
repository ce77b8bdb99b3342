"""Secret Manager as the secret store of the GCP platforms (`cloudrun`, `gke`).

Creates, per value:
- a `secretmanager.Secret` with a stable id (`<prefix>-<env-name>`, e.g. `aia-prod-database-url`)
  and automatic (multi-region) replication, so a regional outage never takes secrets with it;
- a `SecretVersion` whose data is the secret Output itself (AI keys from `pulumi config set
  --secret`, pulumi_random passwords, data-service URLs with credentials): the value only ever
  exists in Pulumi's encrypted state and in Secret Manager.

And per reader (a workload's service account) one `roles/secretmanager.secretAccessor` binding on
each secret it uses, never a project-wide accessor role.

Consumers reference secrets by `ref(name)`: the secret id plus the version number of the version
this program created, so a changed value rolls out a new Cloud Run revision instead of waiting for
the next restart (what `latest` would do).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackContext


@dataclass(frozen=True)
class SecretAccess:
    """`member` (e.g. `serviceAccount:api@...`) may read `secrets`; `key` names its bindings."""

    key: str
    member: pulumi.Input[str]
    secrets: Sequence[str]


@dataclass(frozen=True)
class SecretRef:
    """Where a consumer finds a secret: Secret Manager secret id and version."""

    secret: pulumi.Output[str]
    version: pulumi.Output[str]


@dataclass(frozen=True)
class SecretManagerStoreArgs:
    context: StackContext
    project: pulumi.Input[str]
    values: Mapping[str, pulumi.Input[str]]  # env name -> secret value
    access: Sequence[SecretAccess] = ()
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # the Secret Manager API


def secret_id(prefix: str, name: str) -> str:
    """Stable Secret Manager id for an env name: DATABASE_URL -> <prefix>-database-url."""
    return f"{prefix}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"


class SecretManagerStore(PlatformComponent):
    """Secrets, their versions and per-reader accessor bindings in Secret Manager."""

    TYPE = "aiplatform:secrets:SecretManagerStore"

    def __init__(self, name: str, args: SecretManagerStoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        self.secrets: dict[str, gcp.secretmanager.Secret] = {}
        self.versions: dict[str, gcp.secretmanager.SecretVersion] = {}
        self.bindings: dict[str, list[gcp.secretmanager.SecretIamMember]] = {}

        for env_name in sorted(args.values):
            slug = env_name.lower().replace("_", "-")
            secret = gcp.secretmanager.Secret(
                self.child_name(slug),
                gcp.secretmanager.SecretArgs(
                    project=args.project,
                    secret_id=secret_id(self.context.prefix, env_name),
                    replication=gcp.secretmanager.SecretReplicationArgs(
                        auto=gcp.secretmanager.SecretReplicationAutoArgs()
                    ),
                    labels=self.labels,
                ),
                opts=self.child_opts(depends_on=args.depends_on),
            )
            self.secrets[env_name] = secret
            self.versions[env_name] = gcp.secretmanager.SecretVersion(
                self.child_name(slug, "v"),
                gcp.secretmanager.SecretVersionArgs(
                    project=args.project,
                    secret=secret.id,
                    secret_data=pulumi.Output.secret(args.values[env_name]),
                ),
                opts=self.child_opts(),
            )

        for reader in args.access:
            unknown = sorted(set(reader.secrets) - set(self.secrets))
            if unknown:
                raise KeyError(f"{reader.key} reads {unknown}, which {name} does not hold ({sorted(self.secrets)})")
            self.bindings[reader.key] = [
                gcp.secretmanager.SecretIamMember(
                    self.child_name(reader.key, env_name.lower().replace("_", "-")),
                    gcp.secretmanager.SecretIamMemberArgs(
                        project=args.project,
                        secret_id=self.secrets[env_name].secret_id,
                        role="roles/secretmanager.secretAccessor",
                        member=reader.member,
                    ),
                    opts=self.child_opts(),
                )
                for env_name in sorted(set(reader.secrets))
            ]
        self.register_outputs({"secretIds": {k: s.secret_id for k, s in self.secrets.items()}})

    def ref(self, env_name: str) -> SecretRef:
        if env_name not in self.secrets:
            raise KeyError(f"secret {env_name} is not in {self.component_name} ({sorted(self.secrets)})")
        return SecretRef(secret=self.secrets[env_name].secret_id, version=self.versions[env_name].version)
