"""The typed connection object every data service exposes, whatever runs it.

The app layer turns connections into the environment variables the seeds use, always through the
platform's secret store (never a plain env value): the env var the registry declares per data
service (`DATABASE_URL`, `REDIS_URL`, `MONGODB_CONNECTION_URI`, `QUEUE_CONNECTIONURL`,
`VECTOR_DB_URL`), plus a backend's `extra_secrets` (a CA certificate, Qdrant's API key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

import pulumi

from components.data.registry import ENV_VARS  # data service -> its URL's env var


@dataclass(frozen=True)
class NetworkPeer:
    """How a workload reaches a data service, for network policies and firewall rules:
    in-cluster by pod labels, managed services by a CIDR."""

    pod_labels: Optional[Mapping[str, str]] = None
    cidr: Optional[str] = None


@dataclass(frozen=True)
class DataConnection:
    """Connection to one data service. `url` carries the credentials and is a secret Output."""

    service: str  # a data service of the registry
    host: pulumi.Output[str]
    port: int
    url: pulumi.Output[str]
    tls: bool
    peer: NetworkPeer = field(default_factory=NetworkPeer)
    # more secret env a client needs, e.g. the server CA of a TLS-only cache
    extra_secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    # more ports its clients use beside `port` (Qdrant's gRPC 6334)
    extra_ports: tuple[int, ...] = ()

    @property
    def env_var(self) -> str:
        return ENV_VARS[self.service]

    def secret_values(self) -> dict[str, pulumi.Output[str]]:
        """Every secret env var a client of this service reads, by name."""
        return {self.env_var: self.url, **self.extra_secrets}


def secret_env_names(
    secrets: Iterable[str], uses: Iterable[str], connections: Mapping[str, DataConnection]
) -> list[str]:
    """The secret env names one service reads: its app secrets and its data connections'."""
    names = set(secrets)
    for used in uses:
        names.update(connections[used].secret_values())
    return sorted(names)
