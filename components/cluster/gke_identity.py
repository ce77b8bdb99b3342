"""Workload Identity on GKE: each Kubernetes service account acts as its own Google service account.

`GkeWorkloadIdentity` creates:
- per workload, `roles/iam.workloadIdentityUser` on its Google service account for exactly one
  Kubernetes service account (`<project>.svc.id.goog[<namespace>/<name>]`), so no key file ever
  exists and no other pod can borrow the identity. The Kubernetes side is the
  `iam.gke.io/gcp-service-account` annotation (`annotations`, for the app layer);
- a NetworkPolicy admitting egress from the namespace's pods to the GKE metadata server
  (169.254.169.254:80 on Dataplane V2), where the pods fetch those short-lived tokens; the
  namespace is default-deny and the app layer's egress rule excludes link-local addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.config import StackContext

WI_ANNOTATION = "iam.gke.io/gcp-service-account"
# GKE docs (Workload Identity, network policies): on Dataplane V2 the pods reach the GKE metadata
# server at the link-local metadata address on port 80.
METADATA_SERVER = "169.254.169.254/32"
METADATA_PORT = 80


@dataclass(frozen=True)
class GkeWorkloadIdentityArgs:
    context: StackContext
    workload_pool: pulumi.Input[str]  # <project>.svc.id.goog (from the cluster: it exists once the cluster does)
    namespace: pulumi.Input[str]
    # Kubernetes service account name -> Google service account (its `name`, projects/*/serviceAccounts/*)
    accounts: Mapping[str, pulumi.Input[str]]
    emails: Mapping[str, pulumi.Input[str]]  # same keys -> Google service account email


class GkeWorkloadIdentity(PlatformComponent):
    """Outputs: `annotations` (service -> {iam.gke.io/gcp-service-account: email}).

    The IAM bindings are Google resources (default provider); the NetworkPolicy goes to the
    cluster through `kubernetes_provider`, passed in `opts.providers`."""

    TYPE = "aiplatform:cluster:GkeWorkloadIdentity"

    def __init__(self, name: str, args: GkeWorkloadIdentityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        if set(args.accounts) != set(args.emails):
            raise ValueError("GkeWorkloadIdentity: accounts and emails must name the same workloads")
        self.annotations: dict[str, dict[str, pulumi.Input[str]]] = {}
        for ksa, account in sorted(args.accounts.items()):
            member = pulumi.Output.all(args.workload_pool, args.namespace).apply(
                lambda v, ksa=ksa: f"serviceAccount:{v[0]}[{v[1]}/{ksa}]"
            )
            gcp.serviceaccount.IAMMember(
                self.child_name(ksa),
                gcp.serviceaccount.IAMMemberArgs(
                    service_account_id=account, role="roles/iam.workloadIdentityUser", member=member
                ),
                opts=self.child_opts(),
            )
            self.annotations[ksa] = {WI_ANNOTATION: args.emails[ksa]}

        k8s.networking.v1.NetworkPolicy(
            self.child_name("metadata-egress"),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="allow-gke-metadata-server", namespace=args.namespace, labels=self.labels
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                ip_block=k8s.networking.v1.IPBlockArgs(cidr=METADATA_SERVER)
                            )
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=METADATA_PORT, protocol="TCP")],
                    )
                ],
            ),
            opts=self.child_opts(),
        )
        self.register_outputs({"workloads": sorted(self.annotations)})
