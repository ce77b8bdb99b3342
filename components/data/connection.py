"""The typed connection object every data service exposes, whatever runs it.

The app layer turns connections into the environment variables the seeds use, always through the
platform's secret store (never a plain env value): `DATABASE_URL`, `REDIS_URL`,
`MONGODB_CONNECTION_URI`, `QUEUE_CONNECTIONURL`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi

ENV_VARS: Mapping[str, str] = {
    "postgres": "DATABASE_URL",
    "redis": "REDIS_URL",
    "mongodb": "MONGODB_CONNECTION_URI",
    "rabbitmq": "QUEUE_CONNECTIONURL",
}


@dataclass(frozen=True)
class NetworkPeer:
    """How a workload reaches a data service, for network policies and firewall rules:
    in-cluster by pod labels, managed services by a CIDR."""

    pod_labels: Optional[Mapping[str, str]] = None
    cidr: Optional[str] = None


@dataclass(frozen=True)
class DataConnection:
    """Connection to one data service. `url` carries the credentials and is a secret Output."""

    service: str  # postgres | redis | mongodb | rabbitmq
    host: pulumi.Output[str]
    port: int
    url: pulumi.Output[str]
    tls: bool
    peer: NetworkPeer = field(default_factory=NetworkPeer)

    @property
    def env_var(self) -> str:
        return ENV_VARS[self.service]
