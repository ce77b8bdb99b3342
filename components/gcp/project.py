"""Project bootstrap: the APIs a stack needs and one service account per workload.

`ProjectApis` enables every API with `gcp.projects.Service` so that the first `pulumi up` in a
fresh project succeeds with no console steps (Service Usage, which enables the others, is on in
every project; docs/deploy-gcp.md names the one command a project without it needs).
`disable_on_destroy=False`: destroying a stack must
never switch an API off under other workloads of the same project (and the API would have to be
re-enabled, slowly, on the next `up`).

`ProjectApis.agent(api)` is the service agent of an API, generated with
`gcp.projects.ServiceIdentity`, so that IAM grants to it need no project number from a
`getProject` invoke (which calls Cloud Resource Manager at preview, before the program enables it).

`ServiceAccounts` creates one service account per workload (each Cloud Run service, the RabbitMQ
VM, the backup workflow) with only the project roles that workload needs. Access to individual
secrets is not granted here but per secret by the secret store (`components/secrets/gcp.py`), so
that a service can read only the secrets it uses.

Both are platform-neutral: the `gke` platform reuses them with its own API list and identities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackContext

# Roles a containerised service needs to emit traces and custom metrics. Logs written to stdout
# are collected by the platform and need no role.
TELEMETRY_ROLES: tuple[str, ...] = ("roles/cloudtrace.agent", "roles/monitoring.metricWriter")
# A Compute Engine VM ships its own logs and metrics through the guest agents.
VM_AGENT_ROLES: tuple[str, ...] = ("roles/logging.logWriter", "roles/monitoring.metricWriter")


@dataclass(frozen=True)
class ProjectApisArgs:
    context: StackContext
    project: pulumi.Input[str]
    apis: Sequence[str]
    agents: Sequence[str] = ()  # APIs (among `apis`) whose service agent IAM grants refer to


class ProjectApis(PlatformComponent):
    """Creates one `gcp.projects.Service` per API (never disabled on destroy) and a
    `gcp.projects.ServiceIdentity` per API of `agents`.

    Components that call an API pass `apis.needs("x.googleapis.com")` as `depends_on` of the
    resources that need it: enabling is a real precondition (the call fails on a fresh project),
    and depending on just that API keeps slow resources independent of each other."""

    TYPE = "aiplatform:gcp:ProjectApis"

    def __init__(self, name: str, args: ProjectApisArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        self.services: dict[str, gcp.projects.Service] = {}
        for api in sorted(set(args.apis)):
            self.services[api] = gcp.projects.Service(
                self.child_name(api.split(".")[0]),
                gcp.projects.ServiceArgs(
                    project=args.project,
                    service=api,
                    disable_on_destroy=False,
                    disable_dependent_services=False,
                ),
                opts=self.child_opts(),
            )
        # Google-managed service agents, generated (`generateServiceIdentity`) once their API is on:
        # IAM grants to them take `member` from a resource instead of building it from the project
        # number of a `getProject` invoke, which calls Cloud Resource Manager at preview.
        self.agents: dict[str, gcp.projects.ServiceIdentity] = {
            api: gcp.projects.ServiceIdentity(
                self.child_name(api.split(".")[0], "agent"),
                gcp.projects.ServiceIdentityArgs(project=args.project, service=api),
                opts=self.child_opts(depends_on=self.needs(api)),
            )
            for api in args.agents
        }
        self.register_outputs({"apis": sorted(self.services), "agents": sorted(self.agents)})

    def needs(self, *apis: str) -> list[pulumi.Resource]:
        """The API resources to depend on; an API that was not enabled is a programming error."""
        missing = [api for api in apis if api not in self.services]
        if missing:
            raise KeyError(f"APIs {missing} are not enabled by {self.component_name}; add them to its `apis`")
        return [self.services[api] for api in apis]

    def agent(self, api: str) -> gcp.projects.ServiceIdentity:
        """The service agent of `api` (one of `ProjectApisArgs.agents`)."""
        if api not in self.agents:
            raise KeyError(f"no service agent of {api} in {self.component_name}; add it to its `agents`")
        return self.agents[api]


@dataclass(frozen=True)
class WorkloadIdentity:
    """One workload's service account: `name` is short (it becomes part of the account id)."""

    name: str
    description: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceAccountsArgs:
    context: StackContext
    project: pulumi.Input[str]
    identities: Sequence[WorkloadIdentity]
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # the IAM API


def account_id(prefix: str, name: str) -> str:
    """A valid service-account id (6-30 chars, [a-z][a-z0-9-]*[a-z0-9]) that never changes with config."""
    raw = f"{prefix}-{name}"[:30].rstrip("-")
    return raw if len(raw) >= 6 else (raw + "-sa")[:30]


class ServiceAccounts(PlatformComponent):
    """Creates a service account per workload and binds only its listed project roles.

    Exposes `emails` and `members` (`serviceAccount:<email>`) by workload name."""

    TYPE = "aiplatform:gcp:ServiceAccounts"

    def __init__(self, name: str, args: ServiceAccountsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        self.accounts: dict[str, gcp.serviceaccount.Account] = {}
        self.emails: dict[str, pulumi.Output[str]] = {}
        self.members: dict[str, pulumi.Output[str]] = {}
        for identity in args.identities:
            account = gcp.serviceaccount.Account(
                self.child_name(identity.name),
                gcp.serviceaccount.AccountArgs(
                    project=args.project,
                    account_id=account_id(self.context.prefix, identity.name),
                    display_name=f"{self.context.stack} {identity.name}",
                    description=identity.description,
                ),
                opts=self.child_opts(depends_on=list(args.depends_on)),
            )
            self.accounts[identity.name] = account
            self.emails[identity.name] = account.email
            self.members[identity.name] = account.email.apply(lambda email: f"serviceAccount:{email}")
            for role in identity.roles:
                gcp.projects.IAMMember(
                    self.child_name(identity.name, role.split("/")[-1].replace(".", "-")),
                    gcp.projects.IAMMemberArgs(project=args.project, role=role, member=self.members[identity.name]),
                    opts=self.child_opts(),
                )
        self.register_outputs({"emails": self.emails})
