"""Storage for the stateful workloads that stay in the GKE cluster (MongoDB, RabbitMQ).

`GkeStorage` creates, on the cluster the `opts` provider points at:
- a StorageClass of regional persistent disks (Compute Engine PD CSI driver, `pd-balanced`,
  synchronously replicated to two zones): a zone outage does not lose a replica's data and its
  pod can restart in the other zone. `WaitForFirstConsumer` places the disk in the zone of the
  pod that first mounts it; volumes can grow in place; in production the disk outlives its claim
  (`Retain`), so deleting a PVC by mistake does not delete data;
- a VolumeSnapshotClass for the same driver (point-in-time snapshots of those disks, used by
  backup jobs and restores), marked as the cluster's default; snapshots are kept when their
  VolumeSnapshot object is deleted in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.config import StackContext

PD_CSI_DRIVER = "pd.csi.storage.gke.io"
REGIONAL_PD_CLASS = "regional-pd"
SNAPSHOT_CLASS = "pd-snapshots"


class TopLevelCustomResource(k8s.apiextensions.CustomResource):
    """A custom object whose fields sit next to `metadata` instead of under `spec` (such as
    VolumeSnapshotClass: `driver`, `deletionPolicy`, `parameters`). The Python
    `CustomResource` only takes `spec`; the provider accepts any field."""

    def __init__(
        self,
        resource_name: str,
        api_version: str,
        kind: str,
        metadata: k8s.meta.v1.ObjectMetaArgs,
        fields: Mapping[str, Any],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=k8s._utilities.get_version()))
        props = {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}
        pulumi.CustomResource.__init__(self, f"kubernetes:{api_version}:{kind}", resource_name, props, opts)


@dataclass(frozen=True)
class GkeStorageArgs:
    context: StackContext


class GkeStorage(PlatformComponent):
    """Outputs: `storage_class` (name of the regional PD class), `snapshot_class`."""

    TYPE = "aiplatform:cluster:GkeStorage"

    def __init__(self, name: str, args: GkeStorageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        keep = "Retain" if self.config.is_production else "Delete"

        storage_class = k8s.storage.v1.StorageClass(
            self.child_name("regional-pd"),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=REGIONAL_PD_CLASS, labels=self.labels),
            provisioner=PD_CSI_DRIVER,
            parameters={"type": "pd-balanced", "replication-type": "regional-pd"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy=keep,
            opts=self.child_opts(),
        )
        snapshot_class = TopLevelCustomResource(
            self.child_name("snapshots"),
            api_version="snapshot.storage.k8s.io/v1",
            kind="VolumeSnapshotClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SNAPSHOT_CLASS,
                labels=self.labels,
                annotations={"snapshot.storage.kubernetes.io/is-default-class": "true"},
            ),
            fields={"driver": PD_CSI_DRIVER, "deletionPolicy": keep},
            opts=self.child_opts(),
        )
        self.storage_class: pulumi.Output[str] = storage_class.metadata.apply(lambda m: m.name)
        self.snapshot_class: pulumi.Output[str] = snapshot_class.metadata.apply(lambda m: m["name"])
        self.register_outputs({"storageClass": self.storage_class, "snapshotClass": self.snapshot_class})
