"""RabbitMQ on a Compute Engine VM with Container-Optimized OS (`cloudrun`).

Cloud Run cannot run a broker (no persistent disk, no inbound TCP), and GCP has no managed
RabbitMQ, so the design runs the official image on one hardened VM:

- `<prefix>-rabbitmq` on COS (`cos-cloud/cos-stable`), no external IP (egress for the image pull
  goes through Cloud NAT), Shielded VM (secure boot, vTPM, integrity monitoring), OS Login and
  no project-wide SSH keys, its own service account (logs + metrics only, plus read access to its
  one secret), a static internal IP so the connection URL survives a VM replacement;
- a separate persistent data disk `<prefix>-rabbitmq-data` (stateful, protected in prod, snapshot
  taken before it is ever destroyed) with a resource policy that snapshots it at the DR RPO
  (hourly for RPO 1 h; daily once the RPO is a day or more) into the region's multi-region and
  keeps `dr.retention.dailyDays` of snapshots (snapshots are incremental);
- credentials: a pulumi_random password stored in Secret Manager; the VM reads it at boot with
  its service account's metadata token (cloud-init), so the password never appears in instance
  metadata, only the secret version's name does;
- firewall: AMQP 5672 only from the subnets that run the clients (the Cloud Run Direct VPC egress
  ranges); SSH from Identity-Aware Proxy's range only when `allow_iap_ssh` (break-glass access
  that is IAM-checked and audited, since the VM has no public IP).

The broker runs as a systemd unit started by cloud-init (`gce-container-declaration`/konlet is
deprecated): it formats the data disk on first boot, mounts it at /var/lib/rabbitmq, writes the
credentials to a tmpfs env file readable by root only and runs the pinned image.

Exposes `connection` (DataConnection with an `amqp://` URL as a secret Output) and `address`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components.base import PlatformComponent
from components.config import DataServiceConfig, StackContext
from components.data.connection import DataConnection, NetworkPeer
from components.gcp import multi_region_of
from components.network.gcp import IAP_RANGE, GcpNetwork
from components.secrets.gcp import SecretAccess, SecretManagerStore, SecretManagerStoreArgs

PORT = 5672
USER = "app"
NETWORK_TAG = "rabbitmq"
DEVICE_NAME = "rabbitmq-data"
DEFAULT_MACHINE_TYPES = {"dev": "e2-small", "staging": "e2-small", "prod": "e2-medium"}

_PREPARE_SCRIPT = r"""#!/bin/bash
# Mount the data disk (format it on first boot) and fetch the broker password from Secret Manager.
set -euo pipefail
DEV=/dev/disk/by-id/google-__DEVICE__
MNT=/mnt/disks/rabbitmq
if ! blkid "$DEV" >/dev/null 2>&1; then
  mkfs.ext4 -m 0 -E lazy_itable_init=0,lazy_journal_init=0,discard "$DEV"
fi
mkdir -p "$MNT"
mountpoint -q "$MNT" || mount -o discard,defaults,nosuid,nodev "$DEV" "$MNT"
chown 999:999 "$MNT"
MD=http://metadata.google.internal/computeMetadata/v1
SECRET=$(curl -sf -H 'Metadata-Flavor: Google' "$MD/instance/attributes/rabbitmq-secret-version")
DATA=""
for attempt in $(seq 1 30); do
  TOKEN=$(curl -sf -H 'Metadata-Flavor: Google' "$MD/instance/service-accounts/default/token" \
    | tr -d '\n ' | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p') || true
  DATA=$(curl -sf -H "Authorization: Bearer $TOKEN" "https://secretmanager.googleapis.com/v1/$SECRET:access" \
    | tr -d '\n ' | sed -n 's/.*"data":"\([^"]*\)".*/\1/p') || true
  [ -n "$DATA" ] && break
  sleep 10
done
[ -n "$DATA" ] || { echo "cannot read $SECRET" >&2; exit 1; }
install -d -m 0700 /run/rabbitmq
umask 077
printf 'RABBITMQ_DEFAULT_USER=%s\nRABBITMQ_DEFAULT_PASS=%s\n' "__USER__" "$(printf %s "$DATA" | base64 -d)" \
  > /run/rabbitmq/env
"""

_CLOUD_CONFIG = """#cloud-config
write_files:
- path: /etc/rabbitmq-prepare.sh
  permissions: "0700"
  owner: root
  content: |
__SCRIPT__
- path: /etc/systemd/system/rabbitmq.service
  permissions: "0644"
  owner: root
  content: |
    [Unit]
    Description=RabbitMQ broker (__IMAGE__)
    Wants=network-online.target
    After=network-online.target docker.service
    Requires=docker.service
    [Service]
    ExecStartPre=/bin/bash /etc/rabbitmq-prepare.sh
    ExecStartPre=-/usr/bin/docker rm -f rabbitmq
    ExecStart=/usr/bin/docker run --rm --name rabbitmq --hostname rabbitmq --env-file /run/rabbitmq/env \
      --ulimit nofile=65536:65536 -p __PORT__:5672 -v /mnt/disks/rabbitmq:/var/lib/rabbitmq __IMAGE__
    ExecStop=/usr/bin/docker stop rabbitmq
    Restart=always
    RestartSec=10
runcmd:
- systemctl daemon-reload
- systemctl start rabbitmq.service
"""


def snapshot_interval_hours(rpo_minutes: int) -> int:
    """Hours between disk snapshots: the RPO rounded down to whole hours (at least 1), daily from 24 h."""
    return 24 if rpo_minutes >= 1440 else max(1, rpo_minutes // 60)


def snapshot_schedule(rpo_minutes: int) -> gcp.compute.ResourcePolicySnapshotSchedulePolicyScheduleArgs:
    hours = snapshot_interval_hours(rpo_minutes)
    if hours >= 24:
        return gcp.compute.ResourcePolicySnapshotSchedulePolicyScheduleArgs(
            daily_schedule=gcp.compute.ResourcePolicySnapshotSchedulePolicyScheduleDailyScheduleArgs(
                days_in_cycle=1, start_time="03:00"
            )
        )
    return gcp.compute.ResourcePolicySnapshotSchedulePolicyScheduleArgs(
        hourly_schedule=gcp.compute.ResourcePolicySnapshotSchedulePolicyScheduleHourlyScheduleArgs(
            hours_in_cycle=hours, start_time="00:00"
        )
    )


def cloud_config(image: str) -> str:
    """The cloud-init document that prepares the disk and runs the broker."""
    script = _PREPARE_SCRIPT.replace("__DEVICE__", DEVICE_NAME).replace("__USER__", USER)
    indented = "\n".join(("    " + line) if line else "" for line in script.splitlines())
    return (
        _CLOUD_CONFIG.replace("__SCRIPT__", indented).replace("__IMAGE__", image).replace("__PORT__", str(PORT))
    )


@dataclass(frozen=True)
class RabbitMqVmArgs:
    context: StackContext
    project: pulumi.Input[str]
    settings: DataServiceConfig
    region: str
    network: GcpNetwork
    client_ranges: Sequence[str]  # CIDRs that run AMQP clients (the Direct VPC egress subnets)
    service_account_email: pulumi.Input[str]
    service_account_member: pulumi.Input[str]
    allow_iap_ssh: bool = False
    deletion_protection: bool = True
    zone: Optional[str] = None  # default: <region>-b
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # Compute + Secret Manager APIs


class RabbitMqVm(PlatformComponent):
    """One COS VM running RabbitMQ on a snapshotted persistent disk, private only."""

    TYPE = "aiplatform:data:RabbitMqVm"

    def __init__(self, name: str, args: RabbitMqVmArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        s = args.settings
        prefix = self.context.prefix
        zone = args.zone or f"{args.region}-b"
        subnet_cidr = args.network.subnet_cidrs[args.region]
        image = f"docker.io/library/rabbitmq:{s.version or '3.13'}"

        password = random.RandomPassword(
            self.child_name("password"),
            random.RandomPasswordArgs(length=32, special=False),
            # the broker stores its user on the data disk at first boot: a new password would lock clients out
            opts=self.child_opts(stateful=True),
        )
        self.password = pulumi.Output.secret(password.result)
        self.credentials = SecretManagerStore(
            self.child_name("credentials"),
            SecretManagerStoreArgs(
                context=self.context,
                project=args.project,
                values={"RABBITMQ_PASSWORD": self.password},
                access=[SecretAccess(key="vm", member=args.service_account_member, secrets=["RABBITMQ_PASSWORD"])],
                depends_on=args.depends_on,
            ),
            opts=self.child_opts(),
        )

        # A fixed host of the subnet (the 10th), reserved so the URL never changes.
        ip = str(ipaddress.ip_network(subnet_cidr)[10])
        self.address = gcp.compute.Address(
            self.child_name("ip"),
            gcp.compute.AddressArgs(
                project=args.project,
                name=f"{prefix}-rabbitmq",
                region=args.region,
                subnetwork=args.network.subnets[args.region].id,
                address_type="INTERNAL",
                address=ip,
                labels=self.labels,
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )

        retention = cfg.dr.retention
        self.snapshot_policy = gcp.compute.ResourcePolicy(
            self.child_name("snapshots"),
            gcp.compute.ResourcePolicyArgs(
                project=args.project,
                name=f"{prefix}-rabbitmq-snapshots",
                region=args.region,
                description="snapshots of the RabbitMQ data disk at the DR RPO",
                snapshot_schedule_policy=gcp.compute.ResourcePolicySnapshotSchedulePolicyArgs(
                    schedule=snapshot_schedule(cfg.dr.rpo_minutes),
                    retention_policy=gcp.compute.ResourcePolicySnapshotSchedulePolicyRetentionPolicyArgs(
                        max_retention_days=retention.daily_days, on_source_disk_delete="KEEP_AUTO_SNAPSHOTS"
                    ),
                    snapshot_properties=gcp.compute.ResourcePolicySnapshotSchedulePolicySnapshotPropertiesArgs(
                        labels=self.labels,
                        storage_locations=multi_region_of(args.region).lower(),
                        guest_flush=False,
                    ),
                ),
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        self.disk = gcp.compute.Disk(
            self.child_name("data"),
            gcp.compute.DiskArgs(
                project=args.project,
                name=f"{prefix}-rabbitmq-data",
                zone=zone,
                type="pd-balanced",
                size=s.storage_gi,
                resource_policies=[self.snapshot_policy.id],
                create_snapshot_before_destroy=True,
                labels=self.labels,
            ),
            opts=self.child_opts(stateful=True, depends_on=args.depends_on),
        )

        metadata = {
            "user-data": cloud_config(image),
            "rabbitmq-secret-version": self.credentials.versions["RABBITMQ_PASSWORD"].name,
            "google-logging-enabled": "true",
            "google-monitoring-enabled": "true",
            "enable-oslogin": "TRUE",
            "block-project-ssh-keys": "TRUE",
        }
        self.instance = gcp.compute.Instance(
            self.child_name("vm"),
            gcp.compute.InstanceArgs(
                project=args.project,
                name=f"{prefix}-rabbitmq",
                zone=zone,
                machine_type=s.tier or DEFAULT_MACHINE_TYPES[cfg.environment],
                boot_disk=gcp.compute.InstanceBootDiskArgs(
                    initialize_params=gcp.compute.InstanceBootDiskInitializeParamsArgs(
                        image="cos-cloud/cos-stable", size=20, type="pd-balanced", labels=self.labels
                    ),
                    auto_delete=True,
                ),
                attached_disks=[
                    gcp.compute.InstanceAttachedDiskArgs(source=self.disk.id, device_name=DEVICE_NAME, mode="READ_WRITE")
                ],
                network_interfaces=[
                    # no access_configs: no external IP
                    gcp.compute.InstanceNetworkInterfaceArgs(
                        network=args.network.network.id,
                        subnetwork=args.network.subnets[args.region].id,
                        network_ip=self.address.address,
                    )
                ],
                shielded_instance_config=gcp.compute.InstanceShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True
                ),
                service_account=gcp.compute.InstanceServiceAccountArgs(
                    email=args.service_account_email, scopes=["cloud-platform"]
                ),
                metadata=metadata,
                tags=[NETWORK_TAG],
                allow_stopping_for_update=True,
                deletion_protection=args.deletion_protection,
                labels=self.labels,
            ),
            # the fixed name and the attached data disk must be released before a replacement starts
            opts=self.child_opts(delete_before_replace=True),
        )

        args.network.allow_ingress(
            self.child_name("allow-amqp"),
            "rabbitmq-amqp",
            ports=(str(PORT),),
            source_ranges=tuple(args.client_ranges),
            target_tags=(NETWORK_TAG,),
            description="AMQP from the subnets that run the platform's services",
            opts=self.child_opts(),
        )
        if args.allow_iap_ssh:
            args.network.allow_ingress(
                self.child_name("allow-iap-ssh"),
                "rabbitmq-iap-ssh",
                ports=("22",),
                source_ranges=(IAP_RANGE,),
                target_tags=(NETWORK_TAG,),
                description="break-glass SSH through Identity-Aware Proxy (IAM-checked, audited)",
                opts=self.child_opts(),
            )

        url = self.password.apply(lambda pw: f"amqp://{USER}:{pw}@{ip}:{PORT}/%2F")
        self.connection = DataConnection(
            service="rabbitmq",
            host=self.address.address,
            port=PORT,
            url=pulumi.Output.secret(url),
            tls=False,
            peer=NetworkPeer(cidr=f"{ip}/32"),
        )
        self.register_outputs({"instance": self.instance.name, "address": ip, "disk": self.disk.name})
