"""RabbitMQ on Compute Engine with Container-Optimized OS (`cloudrun`).

Cloud Run cannot run a broker (no persistent disk, no inbound TCP), and GCP has no managed
RabbitMQ, so the design runs the official image on one hardened VM that heals itself:

- a stateful regional managed instance group of one, `<prefix>-rabbitmq`: an instance template
  (COS `cos-cloud/cos-stable`, no external IP: egress for the image pull goes through Cloud NAT;
  Shielded VM; OS Login and no project-wide SSH keys; its own service account with logs + metrics
  and read access to its one secret) and a per-instance config that keeps the VM's name, its
  static internal IP (the connection URL never changes) and its data disk across recreations;
- auto-healing: a TCP health check on AMQPS every 10 s; after 3 failures the group recreates the
  VM (`BOOT_SECONDS` grace for boot and image pull), and after a zone outage in the disk's other
  zone (`allow_changing_zone`); `recovery_minutes()` is the resulting RTO in the `dr` output;
- rolling on config change: the template is immutable, so a new image, machine type or
  cloud-init is a new template that the group applies at once (PROACTIVE, RECREATE: same name,
  same disk, the old VM stops first; the queue is unavailable for the few minutes of a boot);
- a regional persistent data disk `<prefix>-rabbitmq-regional` replicated synchronously in two
  zones (stateful, protected in prod, snapshot taken before it is ever destroyed) with a resource
  policy that snapshots it at the DR RPO (hourly for RPO 1 h; daily once the RPO is a day or more)
  into the region's multi-region and keeps `dr.retention.dailyDays` of snapshots; created from
  `gcp.rabbitmqRestoreSnapshot` when set (the restore into the other region after a failover,
  `tools/dr_adopt.py --rebuild-rabbitmq`; creation-only, ignored afterwards); its zone and region
  are the pinned `gcp.rabbitmqZone`, never derived from which region is called primary;
- credentials: a pulumi_random password stored in Secret Manager; the VM reads it at boot with
  its service account's metadata token (cloud-init), so the password never appears in instance
  metadata, only the secret version's name does;
- firewall: AMQPS 5671 only from the subnets that run the clients (the Cloud Run Direct VPC egress
  ranges) and from Google's health checkers; SSH from Identity-Aware Proxy's range only when
  `allow_iap_ssh` (break-glass access that is IAM-checked and audited, since the VM has no public
  IP). A managed instance group has no deletion protection of its own: the data lives on the
  protected disk, which the group never deletes (`delete_rule NEVER`).

AMQPS only (5671, TLS 1.3/1.2; the plain 5672 listener is off): the server certificate for the
static IP comes from the stack's own CA (`components/data/rabbitmq_tls.py`); the VM reads the
chain and key from Secret Manager at boot, clients get the CA as the secret env
`QUEUE_TLS_CA_CERT` next to the `amqps://` `QUEUE_CONNECTIONURL`.

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
from components.data.rabbitmq_tls import broker_tls
from components.gcp import multi_region_of
from components.network.gcp import HEALTH_CHECK_RANGES, IAP_RANGE, GcpNetwork
from components.secrets.gcp import SecretAccess, SecretManagerStore, SecretManagerStoreArgs

PORT = 5671  # AMQPS only: the plain AMQP listener is off
QUEUE_CA_ENV = "QUEUE_TLS_CA_CERT"
TLS_SECRETS = {"RABBITMQ_TLS_CHAIN": "rabbitmq-tls-chain-version", "RABBITMQ_TLS_KEY": "rabbitmq-tls-key-version"}
USER = "app"
NETWORK_TAG = "rabbitmq"
DEVICE_NAME = "rabbitmq-data"
DEFAULT_MACHINE_TYPES = {"dev": "e2-small", "staging": "e2-small", "prod": "e2-medium"}
# Auto-healing: unhealthy after HEALTH_FAILURES failed probes HEALTH_INTERVAL_SECONDS apart; a new
# VM gets BOOT_SECONDS (COS boot, image pull, disk mount, broker start) before it is probed.
HEALTH_INTERVAL_SECONDS = 10
HEALTH_FAILURES = 3
BOOT_SECONDS = 300


def recovery_minutes() -> dict[str, int]:
    """What the broker's recovery takes, for the `dr` output: the group recreates a failed VM (or
    the VM of a lost zone, in the regional disk's other zone) on its own; a lost region needs the
    runbook (a disk from the latest snapshot in the secondary region)."""
    heal = -(-(HEALTH_INTERVAL_SECONDS * HEALTH_FAILURES + BOOT_SECONDS + 120) // 60)  # + ~2 min to recreate
    return {"vmOrBrokerFailure": heal, "zoneOutage": heal + 5, "regionOutage": 60}

_PREPARE_SCRIPT = r"""#!/bin/bash
# Mount the data disk (format it on first boot), fetch the broker password and TLS certificate
# from Secret Manager and write the TLS-only listener config.
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
# fetch <metadata attribute naming a secret version>: print the secret's payload
fetch() {
  local version data=""
  version=$(curl -sf -H 'Metadata-Flavor: Google' "$MD/instance/attributes/$1")
  for attempt in $(seq 1 30); do
    TOKEN=$(curl -sf -H 'Metadata-Flavor: Google' "$MD/instance/service-accounts/default/token" \
      | tr -d '\n ' | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p') || true
    data=$(curl -sf -H "Authorization: Bearer $TOKEN" "https://secretmanager.googleapis.com/v1/$version:access" \
      | tr -d '\n ' | sed -n 's/.*"data":"\([^"]*\)".*/\1/p') || true
    [ -n "$data" ] && break
    sleep 10
  done
  [ -n "$data" ] || { echo "cannot read $version" >&2; return 1; }
  printf %s "$data" | base64 -d
}
install -d -m 0700 /run/rabbitmq
umask 077
PASS=$(fetch rabbitmq-secret-version)
printf 'RABBITMQ_DEFAULT_USER=%s\nRABBITMQ_DEFAULT_PASS=%s\n' "__USER__" "$PASS" > /run/rabbitmq/env
install -d -m 0700 -o 999 -g 999 /run/rabbitmq/tls
fetch rabbitmq-tls-chain-version > /run/rabbitmq/tls/server.pem
fetch rabbitmq-tls-key-version > /run/rabbitmq/tls/server.key
chown 999:999 /run/rabbitmq/tls/server.pem /run/rabbitmq/tls/server.key
chmod 0400 /run/rabbitmq/tls/server.pem /run/rabbitmq/tls/server.key
cat > /run/rabbitmq/tls.conf <<'CONF'
listeners.tcp = none
listeners.ssl.default = __PORT__
ssl_options.certfile = /etc/rabbitmq/tls/server.pem
ssl_options.keyfile = /etc/rabbitmq/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
ssl_options.versions.1 = tlsv1.3
ssl_options.versions.2 = tlsv1.2
CONF
chmod 0444 /run/rabbitmq/tls.conf
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
      --ulimit nofile=65536:65536 -p __PORT__:__PORT__ -v /mnt/disks/rabbitmq:/var/lib/rabbitmq \
      -v /run/rabbitmq/tls:/etc/rabbitmq/tls:ro -v /run/rabbitmq/tls.conf:/etc/rabbitmq/conf.d/90-tls.conf:ro \
      __IMAGE__
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
    script = _PREPARE_SCRIPT.replace("__DEVICE__", DEVICE_NAME).replace("__USER__", USER).replace("__PORT__", str(PORT))
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
        # A fixed host of the subnet (the 10th), reserved so the URL never changes.
        ip = str(ipaddress.ip_network(subnet_cidr)[10])
        self.tls = broker_tls(self, ip, f"{prefix}-rabbitmq.internal")
        vm_secrets = {
            "RABBITMQ_PASSWORD": self.password,
            "RABBITMQ_TLS_CHAIN": self.tls.server_chain,
            "RABBITMQ_TLS_KEY": self.tls.server_key,
        }
        self.credentials = SecretManagerStore(
            self.child_name("credentials"),
            SecretManagerStoreArgs(
                context=self.context,
                project=args.project,
                values=vm_secrets,
                access=[SecretAccess(key="vm", member=args.service_account_member, secrets=sorted(vm_secrets))],
                depends_on=args.depends_on,
            ),
            opts=self.child_opts(),
        )
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
        # A regional disk (synchronously replicated to two zones): a zone outage loses nothing,
        # and the VM can be recreated in the other zone with the same data.
        zones = [zone, *(z for z in (f"{args.region}-b", f"{args.region}-c") if z != zone)][:2]
        self.regional_disk_name = f"{prefix}-rabbitmq-regional"
        self.disk = gcp.compute.RegionDisk(
            self.child_name("regional-data"),
            gcp.compute.RegionDiskArgs(
                project=args.project,
                name=self.regional_disk_name,
                region=args.region,
                replica_zones=zones,
                type="pd-balanced",
                size=s.storage_gi,
                # a restore after a failover (gcp.rabbitmqRestoreSnapshot); creation-only, hence ignored after
                snapshot=cfg.gcp.rabbitmq_restore_snapshot,
                create_snapshot_before_destroy=True,
                labels=self.labels,
            ),
            opts=self.child_opts(stateful=True, depends_on=args.depends_on, ignore_changes=["snapshot"]),
        )
        gcp.compute.RegionDiskResourcePolicyAttachment(
            self.child_name("regional-data-snapshots"),
            gcp.compute.RegionDiskResourcePolicyAttachmentArgs(
                project=args.project, region=args.region, disk=self.disk.name, name=self.snapshot_policy.name
            ),
            opts=self.child_opts(),
        )

        metadata = {
            "user-data": cloud_config(image),
            "rabbitmq-secret-version": self.credentials.versions["RABBITMQ_PASSWORD"].name,
            **{attribute: self.credentials.versions[env].name for env, attribute in TLS_SECRETS.items()},
            "google-logging-enabled": "true",
            "google-monitoring-enabled": "true",
            "enable-oslogin": "TRUE",
            "block-project-ssh-keys": "TRUE",
        }
        self._self_healing_vm(args, zones, metadata)
        args.network.allow_ingress(
            self.child_name("allow-health-checks"),
            "rabbitmq-health-checks",
            ports=(str(PORT),),
            source_ranges=HEALTH_CHECK_RANGES,
            target_tags=(NETWORK_TAG,),
            description="Google health checkers probe AMQPS (TCP) for the group's auto-healing",
            opts=self.child_opts(),
        )

        args.network.allow_ingress(
            self.child_name("allow-amqp"),
            "rabbitmq-amqp",
            ports=(str(PORT),),
            source_ranges=tuple(args.client_ranges),
            target_tags=(NETWORK_TAG,),
            description="AMQPS from the subnets that run the platform's services",
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

        url = self.password.apply(lambda pw: f"amqps://{USER}:{pw}@{ip}:{PORT}/%2F")
        self.connection = DataConnection(
            service="rabbitmq",
            host=self.address.address,
            port=PORT,
            url=pulumi.Output.secret(url),
            tls=True,
            peer=NetworkPeer(cidr=f"{ip}/32"),
            # the broker's certificate comes from the stack's own CA, which clients must trust
            extra_secrets={QUEUE_CA_ENV: self.tls.ca_certificate},
        )
        self.register_outputs({"instance": self.instance_name, "group": self.group.name, "address": ip,
                               "disk": self.disk.name})

    def _self_healing_vm(self, args: RabbitMqVmArgs, zones: list[str], metadata: dict[str, pulumi.Input[str]]) -> None:
        """The instance template, health check, stateful regional group of one and the per-instance
        config that keeps the VM's name, disk and IP (see the module doc)."""
        cfg = self.config
        s = args.settings
        prefix = self.context.prefix
        # Immutable: every change (image, machine type, cloud-init) is a new template, which the
        # group rolls out at once by recreating the VM on the same disk and IP.
        self.template = gcp.compute.InstanceTemplate(
            self.child_name("template"),
            gcp.compute.InstanceTemplateArgs(
                project=args.project,
                name_prefix=f"{prefix}-rabbitmq-",
                machine_type=s.tier or DEFAULT_MACHINE_TYPES[cfg.environment],
                disks=[
                    gcp.compute.InstanceTemplateDiskArgs(
                        boot=True, auto_delete=True, source_image="cos-cloud/cos-stable", disk_size_gb=20,
                        disk_type="pd-balanced", labels=self.labels,
                    )
                ],
                network_interfaces=[
                    # no access_configs: no external IP
                    gcp.compute.InstanceTemplateNetworkInterfaceArgs(
                        network=args.network.network.id, subnetwork=args.network.subnets[args.region].id
                    )
                ],
                shielded_instance_config=gcp.compute.InstanceTemplateShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True
                ),
                service_account=gcp.compute.InstanceTemplateServiceAccountArgs(
                    email=args.service_account_email, scopes=["cloud-platform"]
                ),
                metadata=metadata,
                tags=[NETWORK_TAG],
                labels=self.labels,
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        self.health_check = gcp.compute.HealthCheck(
            self.child_name("health"),
            gcp.compute.HealthCheckArgs(
                project=args.project,
                name=f"{prefix}-rabbitmq",
                description="RabbitMQ accepts AMQPS connections",
                check_interval_sec=HEALTH_INTERVAL_SECONDS,
                timeout_sec=5,
                healthy_threshold=2,
                unhealthy_threshold=HEALTH_FAILURES,
                # a TLS handshake, not just a TCP connect: the broker's listener is up and serving TLS
                ssl_health_check=gcp.compute.HealthCheckSslHealthCheckArgs(port=PORT),
                log_config=gcp.compute.HealthCheckLogConfigArgs(enable=True),
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        self.instance_name = f"{prefix}-rabbitmq"
        self.group = gcp.compute.RegionInstanceGroupManager(
            self.child_name("group"),
            gcp.compute.RegionInstanceGroupManagerArgs(
                project=args.project,
                name=f"{prefix}-rabbitmq",
                region=args.region,
                base_instance_name=f"{prefix}-rabbitmq",
                distribution_policy_zones=zones,
                versions=[gcp.compute.RegionInstanceGroupManagerVersionArgs(
                    name="broker", instance_template=self.template.self_link_unique
                )],
                # the one instance comes from the per-instance config below (its disk and IP)
                target_size=1,
                auto_healing_policies=gcp.compute.RegionInstanceGroupManagerAutoHealingPoliciesArgs(
                    health_check=self.health_check.id, initial_delay_sec=BOOT_SECONDS
                ),
                instance_lifecycle_policy=gcp.compute.RegionInstanceGroupManagerInstanceLifecyclePolicyArgs(
                    default_action_on_failure="REPAIR",
                    force_update_on_repair="YES",
                    # a zone outage: recreate the VM in the disk's other zone
                    on_repair=gcp.compute.RegionInstanceGroupManagerInstanceLifecyclePolicyOnRepairArgs(
                        allow_changing_zone="YES"
                    ),
                ),
                update_policy=gcp.compute.RegionInstanceGroupManagerUpdatePolicyArgs(
                    type="PROACTIVE",
                    minimal_action="REPLACE",
                    most_disruptive_allowed_action="REPLACE",
                    # same name, same disk: the old VM goes before the new one starts
                    replacement_method="RECREATE",
                    max_surge_fixed=0,
                    max_unavailable_fixed=len(zones),
                    instance_redistribution_type="NONE",
                ),
                stateful_internal_ips=[gcp.compute.RegionInstanceGroupManagerStatefulInternalIpArgs(
                    interface_name="nic0", delete_rule="NEVER"
                )],
                wait_for_instances=False,
            ),
            opts=self.child_opts(),
        )
        gcp.compute.RegionPerInstanceConfig(
            self.child_name("broker"),
            gcp.compute.RegionPerInstanceConfigArgs(
                project=args.project,
                region=args.region,
                region_instance_group_manager=self.group.name,
                name=self.instance_name,
                preserved_state=gcp.compute.RegionPerInstanceConfigPreservedStateArgs(
                    disks=[gcp.compute.RegionPerInstanceConfigPreservedStateDiskArgs(
                        device_name=DEVICE_NAME, source=self.disk.id, mode="READ_WRITE", delete_rule="NEVER"
                    )],
                    internal_ips=[gcp.compute.RegionPerInstanceConfigPreservedStateInternalIpArgs(
                        interface_name="nic0",
                        auto_delete="NEVER",
                        ip_address=gcp.compute.RegionPerInstanceConfigPreservedStateInternalIpIpAddressArgs(
                            address=self.address.self_link
                        ),
                    )],
                ),
                minimal_action="REPLACE",
                most_disruptive_allowed_action="REPLACE",
                remove_instance_on_destroy=True,
            ),
            opts=self.child_opts(),
        )
