"""Backups on Kubernetes (platforms `kubernetes` and `gke` for the data services that run in the
cluster): daily logical dumps of PostgreSQL and MongoDB to a backup volume (issue 2, seeds 001/004).

Creates, per data service present in `connections` (`postgres`, `mongodb`; others are ignored):
- a PersistentVolumeClaim `backups-<service>` of `dr.backupStorageGi` (stateful: protected in
  production, stable name). One volume per service: ReadWriteOnce volumes cannot be mounted by two
  pods on different nodes, and both jobs run on the same schedule;
- a CronJob `backup-<service>` on `dr.backupSchedule` (UTC) that writes a timestamped dump and then
  deletes the dumps older than `dr.retention.dailyDays` days (seed 004: 30). A dump is written to a
  `.partial` file and renamed when complete, and old dumps are only deleted after a successful
  dump, so a failing database never costs the existing backups;
  - PostgreSQL: `pg_dump --format=custom` (compressed; restore with
    `pg_restore --clean --if-exists --no-owner --dbname="$DATABASE_URL" postgres-<stamp>.dump`);
  - MongoDB: `mongodump --archive --gzip`, with `--oplog` on a replica set so the dump is one
    consistent point in time (restore with `mongorestore --uri="$MONGODB_URI"
    --archive=mongodb-<stamp>.archive.gz --gzip --drop --oplogReplay`). The connection URI goes
    through a mongodump config file in /tmp, not the process arguments;
- NetworkPolicies: the backup pods may only resolve DNS (kube-system, 53) and reach their own data
  service on its port; in-cluster data pods admit the backup pods on that port (NetworkPolicies
  add up, so this works next to the app namespace's default deny and the data services' own
  policies).
With `offsite` (the `gke` platform: the tiered GCS backup bucket of `components/dr/gcp.py`), each
dump also leaves the cluster (issue 9, seeds 001/002: 30 d / 12 w / 12 m / 7 y). The dump then
runs as an init container and an `upload` container copies it to `daily/<service>/<file>` and, on
the days those tiers are due (Sunday, the 1st of the month, 1 January), to `weekly/`, `monthly/`
and `yearly/`; the bucket's lifecycle rules move and expire each tier. The upload uses the JSON
API with `ifGenerationMatch=0`, so it can only create an object, never replace one (the bucket's
retention policy forbids that anyway; names carry the dump's UTC timestamp, so a retried run writes
new names). It authenticates with Workload Identity: the pod runs as the Kubernetes service
account `backup-<service>`, annotated with a Google service account that may only create objects
under the service's prefixes (`offsite.service_account_email`; the IAM side is
`components/dr/gke_offsite.py`). No key exists. The upload pod's extra NetworkPolicy allows the
GKE metadata server (169.254.169.254:80) and 443 outside the private ranges (Google APIs through
Private Google Access). The volume copy stays (fast restores, the 30 daily dumps).
One Secret `backup-credentials` holds the connection URLs (from the secret `DataConnection.url`);
the jobs read them with `secretKeyRef`, never as plain env values.

Each restore-tested service's newest dump is restored into a throwaway server on a schedule by the
child `KubernetesRestoreTests` (components/dr/restore_test_kubernetes.py), next to its volume.

The pods run as uid/gid 1000 (non-root), with a read-only root filesystem (emptyDir /tmp), all
capabilities dropped, no privilege escalation, seccomp RuntimeDefault and no service-account token.
Images are pinned by tag; pg_dump must not be older than the server, so the PostgreSQL client image
follows `data.postgres.version`. `concurrencyPolicy: Forbid` keeps a slow dump from overlapping the
next; failed Jobs are retried `BACKOFF_LIMIT` times and kept for inspection. The monitoring
component alerts when a backup CronJob has not succeeded for `monitoring.thresholds.backupMaxAgeHours`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.app.kubernetes import HTTPS_PORT, PRIVATE_RANGES
from components.base import PlatformComponent
from components.config import Problem, StackConfig, StackContext
from components.data import qdrant
from components.data.connection import DataConnection
from components.data.registry import REGISTRY
from components.dr.restore_test_kubernetes import KubernetesRestoreTests, KubernetesRestoreTestsArgs, restore_tested
from components.kubernetes_objects import (
    COMPONENT_LABEL,
    NAME_LABEL,
    PART_OF,
    PART_OF_LABEL,
    container_security_context,
    metadata,
    peer,
    pod_security_context,
    resources,
    scratch_volume,
    secret_env,
    tcp_ports,
    utc_cron_job_spec,
)
from components.monitoring.metrics import BACKUP_JOB_PREFIX

# the data services this component dumps (the registry's `dumped_in_cluster`); others in
# `connections` are ignored
DUMPED_SERVICES = tuple(name for name, s in REGISTRY.items() if s.dumped_in_cluster)
BACKUP_DIR = "/backups"
RUN_AS = 1000
BACKOFF_LIMIT = 2
ACTIVE_DEADLINE_SECONDS = 2 * 3600  # a dump that runs longer is stuck; RTO is 4 h (seed 000)
STARTING_DEADLINE_SECONDS = 3600  # a run missed by a controller outage still starts within 1 h
HISTORY_LIMIT = 3
CREDENTIALS_SECRET = "backup-credentials"

# pg_dump refuses servers newer than itself: one pinned client image per server major version.
POSTGRES_CLIENT_IMAGES: Mapping[str, str] = {
    "14": "postgres:14.13-alpine",
    "15": "postgres:15.8-alpine",
    "16": "postgres:16.4-alpine",
    "17": "postgres:17.0-alpine",
}


def postgres_major(config: StackConfig) -> str:
    return (config.data.postgres.version or "16").split(".")[0]


def postgres_dump_problems(config: StackConfig) -> list[Problem]:
    """The in-cluster PostgreSQL's dump needs a pinned pg_dump of its major version (the `kubernetes`
    adapter lists this among its data backends' problems)."""
    if postgres_major(config) not in POSTGRES_CLIENT_IMAGES:
        return [Problem("data.postgres.version", config.data.postgres.version,
                        f"no pinned pg_dump image for it; supported majors: {', '.join(POSTGRES_CLIENT_IMAGES)}")]
    return []


# mongodump (MongoDB Database Tools) supports every server version the config allows.
MONGODB_CLIENT_IMAGE = "mongo:7.0.14"
# The offsite upload needs only curl and a shell (busybox): no SDK, no gsutil.
UPLOADER_IMAGE = "curlimages/curl:8.11.1"
GCS_UPLOAD_URL = "https://storage.googleapis.com/upload/storage/v1/b"
# as in components/cluster/gke_identity.py, which this module does not import (it loads pulumi_gcp,
# which a `kubernetes` stack never needs)
WI_ANNOTATION = "iam.gke.io/gcp-service-account"
METADATA_SERVER = "169.254.169.254/32"  # the GKE metadata server (Workload Identity tokens)
METADATA_PORT = 80
METADATA_TOKEN_URL = "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token"

_POSTGRES_SCRIPT = """\
set -eu
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="{dir}/postgres-${{stamp}}.dump"
pg_dump --dbname="$DATABASE_URL" --format=custom --no-owner --file="${{target}}.partial"
mv "${{target}}.partial" "${{target}}"
echo "wrote ${{target}} ($(du -k "${{target}}" | cut -f1) KiB)"
# keep RETENTION_DAYS days: delete dumps that are RETENTION_DAYS days old or older
find {dir} -maxdepth 1 -name 'postgres-*.dump' -mtime +"$((RETENTION_DAYS - 1))" -print -exec rm -f {{}} \\;
find {dir} -maxdepth 1 -name 'postgres-*.partial' -mmin +1440 -exec rm -f {{}} \\;
"""

_MONGODB_SCRIPT = """\
set -eu
umask 077
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="{dir}/mongodb-${{stamp}}.archive.gz"
# the URI (with credentials) goes through a config file, not the process arguments
printf 'uri: "%s"\\n' "$MONGODB_URI" > /tmp/mongodump.yaml
# on a replica set, --oplog makes the dump one consistent point in time
case "$MONGODB_URI" in *replicaSet=*) oplog="--oplog" ;; *) oplog="" ;; esac
mongodump --config=/tmp/mongodump.yaml --archive="${{target}}.partial" --gzip $oplog
rm -f /tmp/mongodump.yaml
mv "${{target}}.partial" "${{target}}"
echo "wrote ${{target}} ($(du -k "${{target}}" | cut -f1) KiB)"
# keep RETENTION_DAYS days: delete dumps that are RETENTION_DAYS days old or older
find {dir} -maxdepth 1 -name 'mongodb-*.archive.gz' -mtime +"$((RETENTION_DAYS - 1))" -print -exec rm -f {{}} \\;
find {dir} -maxdepth 1 -name 'mongodb-*.partial' -mmin +1440 -exec rm -f {{}} \\;
"""

# Qdrant (the vector database): a snapshot of every collection on every node (a node's snapshot
# holds the shards it stores; one node when Qdrant is not clustered), through the snapshot API,
# downloaded into one archive and then deleted from Qdrant. The key goes in a header file, not argv.
_VECTORDB_SCRIPT = """\
set -eu
umask 077
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
work="{dir}/.vectordb-work-${{stamp}}"  # hidden: the upload's glob never sees it
target="{dir}/vectordb-${{stamp}}.tar"
printf 'api-key: %s\\n' "$QDRANT_API_KEY" > /tmp/api-key-header
q() {{ curl -sS --fail --retry 3 -H @/tmp/api-key-header "$@"; }}
# the peers' p2p URIs (distributed mode), on their REST port; none: a single node
nodes="$(q "$QDRANT_URL/cluster" | grep -o '"uri":"[^"]*"' | cut -d'"' -f4 | sed 's,:{p2p}/*$,:{rest},')"
[ -n "$nodes" ] || nodes="$QDRANT_URL"
collections="$(q "$QDRANT_URL/collections" | grep -o '"name":"[^"]*"' | cut -d'"' -f4)"
mkdir -p "$work"
i=0
for node in $nodes; do
  for c in $collections; do
    name="$(q -X POST "$node/collections/$c/snapshots?wait=true" | sed -n 's/.*"name" *: *"\\([^"]*\\)".*/\\1/p')"
    [ -n "$name" ] || {{ echo "no snapshot of $c on $node" >&2; exit 1; }}
    q -o "$work/node$i-$c.snapshot" "$node/collections/$c/snapshots/$name"
    q -X DELETE "$node/collections/$c/snapshots/$name" > /dev/null
  done
  i=$((i + 1))
done
rm -f /tmp/api-key-header
tar -cf "${{target}}.partial" -C "$work" .
rm -rf "$work"
mv "${{target}}.partial" "${{target}}"
echo "wrote ${{target}} ($(du -k "${{target}}" | cut -f1) KiB)"
# keep RETENTION_DAYS days: delete archives that are RETENTION_DAYS days old or older
find {dir} -maxdepth 1 -name 'vectordb-*.tar' -mtime +"$((RETENTION_DAYS - 1))" -print -exec rm -f {{}} \\;
find {dir} -maxdepth 1 -name 'vectordb-*.partial' -mmin +1440 -exec rm -f {{}} \\;
find {dir} -maxdepth 1 -name '.vectordb-work-*' -mmin +1440 -exec rm -rf {{}} \\;
"""

# Copies the newest complete dump (names sort by their UTC stamp) into every tier due today.
_UPLOAD_SCRIPT = """\
set -eu
umask 077
latest="$(ls -1 {dir}/"$SERVICE"-*[0-9]Z.* 2>/dev/null | grep -v '[.]partial$' | sort | tail -n 1)"
[ -n "$latest" ] || {{ echo "no $SERVICE dump in {dir}" >&2; exit 1; }}
name="${{latest##*/}}"
# a short-lived token of the pod's Google service account (Workload Identity), never a key
token="$(curl -sS --fail --retry 5 -H 'Metadata-Flavor: Google' "$METADATA_URL" \\
  | sed -n 's/.*"access_token" *: *"\\([^"]*\\)".*/\\1/p')"
[ -n "$token" ] || {{ echo "no access token from the GKE metadata server" >&2; exit 1; }}
printf 'Authorization: Bearer %s\\n' "$token" > /tmp/auth-header
tiers="daily"
[ "$WEEKLY" = true ] && [ "$(date -u +%u)" = 7 ] && tiers="$tiers weekly"
[ "$MONTHLY" = true ] && [ "$(date -u +%d)" = 01 ] && tiers="$tiers monthly"
[ "$YEARLY" = true ] && [ "$(date -u +%m%d)" = 0101 ] && tiers="$tiers yearly"
for tier in $tiers; do
  object="$tier/$SERVICE/$name"
  # ifGenerationMatch=0: create only; an existing (retained) object is never replaced
  code="$(curl -sS --retry 5 --retry-delay 10 -o /tmp/response -w '%{{http_code}}' -X POST -T "$latest" \\
    -H @/tmp/auth-header -H 'Content-Type: application/gzip' \\
    "$UPLOAD_URL/$BUCKET/o?uploadType=media&ifGenerationMatch=0&name=$(printf %s "$object" | sed 's,/,%2F,g')")"
  case "$code" in
    200) echo "copied $name to gs://$BUCKET/$object" ;;
    412) echo "gs://$BUCKET/$object exists already: kept" ;;
    *) echo "upload of $object failed: HTTP $code" >&2; cat /tmp/response >&2; exit 1 ;;
  esac
done
rm -f /tmp/auth-header /tmp/response
"""


@dataclass(frozen=True)
class OffsiteCopy:
    """Where the dumps are copied outside the cluster (GCS, with Workload Identity)."""

    bucket: pulumi.Input[str]
    service_account_email: pulumi.Input[str]  # Google service account; may only create objects


def backup_service_account(service: str) -> str:
    """The Kubernetes service account of a backup pod that copies offsite (Workload Identity)."""
    return f"{BACKUP_JOB_PREFIX}{service}"


@dataclass(frozen=True)
class _Dump:
    image: str
    script: str
    env_var: str  # the env var the script reads the connection URL from
    secret_key: str
    # env var -> the connection's extra secret it reads (Qdrant's API key), in the same Secret
    extra_env: Mapping[str, str] = field(default_factory=dict)


def _extra_key(service: str, env: str) -> str:
    """The backup Secret's key of a dump's extra secret: vectordb + QDRANT_API_KEY -> vectordb-qdrant-api-key."""
    return f"{service}-{env.lower().replace('_', '-')}"


@dataclass(frozen=True)
class KubernetesBackupsArgs:
    context: StackContext
    namespace: pulumi.Input[str]
    connections: Mapping[str, DataConnection]  # keys "postgres"/"mongodb" present when those run in-cluster
    storage_class: Optional[pulumi.Input[str]] = None
    # gke: copy every dump into the tiered backup bucket (one OffsiteCopy for all, or one per service)
    offsite: Optional[OffsiteCopy | Mapping[str, OffsiteCopy]] = None

    def offsite_of(self, service: str) -> Optional[OffsiteCopy]:
        if self.offsite is None or isinstance(self.offsite, OffsiteCopy):
            return self.offsite
        return self.offsite[service]


class KubernetesBackups(PlatformComponent):
    """Backup CronJobs, volumes, credentials and network policies (see the module docstring)."""

    TYPE = "aiplatform:dr:KubernetesBackups"

    def __init__(self, name: str, args: KubernetesBackupsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        dumps = {
            service: dump
            for service, dump in self._dumps().items()
            if service in args.connections
        }
        self.cron_jobs: dict[str, k8s.batch.v1.CronJob] = {}
        self.volumes: dict[str, k8s.core.v1.PersistentVolumeClaim] = {}
        if dumps:
            credentials = k8s.core.v1.Secret(
                self.child_name("credentials"),
                metadata=metadata(CREDENTIALS_SECRET, args.namespace, self._labels("backup")),
                type="Opaque",
                string_data={
                    **{
                        dump.secret_key: pulumi.Output.secret(args.connections[service].url)
                        for service, dump in dumps.items()
                    },
                    **{
                        _extra_key(service, env): pulumi.Output.secret(args.connections[service].extra_secrets[source])
                        for service, dump in dumps.items()
                        for env, source in dump.extra_env.items()
                    },
                },
                opts=self.child_opts(),
            )
            for service, dump in dumps.items():
                connection = args.connections[service]
                volume = self._volume(service, args)
                self.volumes[service] = volume
                self.cron_jobs[service] = self._cron_job(service, dump, args, volume, credentials)
                self._network_policies(service, connection, args)
                if args.offsite_of(service) is not None:
                    self._offsite_network_policy(service, args)
        tested = [service for service in restore_tested(self.config) if service in args.connections]
        if tested:
            # every restore-tested service's newest dump, restored into a throwaway server
            KubernetesRestoreTests(
                self.child_name("restore-tests"),
                KubernetesRestoreTestsArgs(
                    self.context,
                    args.namespace,
                    dumps={s: (self.volumes[s].metadata.name, dumps[s].image) for s in tested if s in dumps},
                    backup_dir=BACKUP_DIR,
                    dump_deadline_seconds=ACTIVE_DEADLINE_SECONDS,
                    backup_pod_labels={s: self._pod_labels(s) for s in tested},
                    storage_class=args.storage_class,
                ),
                opts=self.child_opts(),
            )

        self.register_outputs(
            {
                "cronJobs": sorted(f"{BACKUP_JOB_PREFIX}{s}" for s in self.cron_jobs),
                "schedule": self.config.dr.backup_schedule,
                "retentionDays": self.config.dr.retention.daily_days,
            }
        )

    # --- what each data service needs ------------------------------------------------------------

    def _dumps(self) -> dict[str, _Dump]:
        return {
            "postgres": _Dump(
                image=self._postgres_image(),
                script=_POSTGRES_SCRIPT.format(dir=BACKUP_DIR),
                env_var="DATABASE_URL",
                secret_key="postgres-url",
            ),
            "mongodb": _Dump(
                image=MONGODB_CLIENT_IMAGE,
                script=_MONGODB_SCRIPT.format(dir=BACKUP_DIR),
                env_var="MONGODB_URI",
                secret_key="mongodb-url",
            ),
            "vectordb": _Dump(
                image=UPLOADER_IMAGE,  # curl and a shell are all the snapshot API needs
                script=_VECTORDB_SCRIPT.format(dir=BACKUP_DIR, p2p=qdrant.P2P_PORT, rest=qdrant.REST_PORT),
                env_var="QDRANT_URL",
                secret_key="vectordb-url",
                extra_env={"QDRANT_API_KEY": qdrant.API_KEY_ENV},
            ),
        }

    def _postgres_image(self) -> str:
        major = postgres_major(self.config)
        assert major in POSTGRES_CLIENT_IMAGES, "postgres_dump_problems refuses the version before anything is built"
        return POSTGRES_CLIENT_IMAGES[major]

    # --- objects -------------------------------------------------------------------------------

    def _labels(self, component: str, service: Optional[str] = None) -> dict[str, str]:
        labels = {**self.labels, PART_OF_LABEL: PART_OF, COMPONENT_LABEL: component}
        if service is not None:
            labels[NAME_LABEL] = f"{BACKUP_JOB_PREFIX}{service}"
        return labels

    def _pod_labels(self, service: str) -> dict[str, str]:
        """The selector labels of a backup pod (NetworkPolicies select on these)."""
        return {NAME_LABEL: f"{BACKUP_JOB_PREFIX}{service}", COMPONENT_LABEL: "backup", PART_OF_LABEL: PART_OF}

    def _volume(self, service: str, args: KubernetesBackupsArgs) -> k8s.core.v1.PersistentVolumeClaim:
        return k8s.core.v1.PersistentVolumeClaim(
            self.child_name("volume", service),
            metadata=metadata(
                f"backups-{service}",
                args.namespace,
                self._labels("backup", service),
                # The CronJob is the first consumer and runs on its schedule: with a
                # WaitForFirstConsumer storage class (kind, GKE) the claim stays Pending until then.
                {"pulumi.com/skipAwait": "true"},
            ),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                    requests={"storage": f"{self.config.dr.backup_storage_gi}Gi"}
                ),
                storage_class_name=args.storage_class,
            ),
            opts=self.child_opts(stateful=True),
        )

    def _cron_job(
        self,
        service: str,
        dump: _Dump,
        args: KubernetesBackupsArgs,
        volume: k8s.core.v1.PersistentVolumeClaim,
        credentials: k8s.core.v1.Secret,
    ) -> k8s.batch.v1.CronJob:
        dr = self.config.dr
        container = k8s.core.v1.ContainerArgs(
            name="dump",
            image=dump.image,
            image_pull_policy="IfNotPresent",
            command=["/bin/sh", "-c", dump.script],
            env=[
                secret_env(dump.env_var, credentials.metadata.name, dump.secret_key),
                *(secret_env(env, credentials.metadata.name, _extra_key(service, env)) for env in dump.extra_env),
                k8s.core.v1.EnvVarArgs(name="RETENTION_DAYS", value=str(dr.retention.daily_days)),
                k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),
            ],
            # 100m / 256Mi requested, bursts up to 1 CPU / 1 GiB
            resources=resources(100, 256, 1000, 1024),
            security_context=container_security_context(RUN_AS),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="backups", mount_path=BACKUP_DIR),
                k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
            ],
        )
        offsite = args.offsite_of(service)
        upload = self._upload_container(service, offsite) if offsite is not None else None
        pod = k8s.core.v1.PodSpecArgs(
            restart_policy="Never",
            # Workload Identity needs no token in the pod: the GKE metadata server mints it
            automount_service_account_token=False,
            service_account_name=self._service_account(service, args) if upload else None,
            enable_service_links=False,
            security_context=pod_security_context(RUN_AS),
            # offsite: the dump must complete before the upload starts
            init_containers=[container] if upload else None,
            containers=[upload] if upload else [container],
            volumes=[
                k8s.core.v1.VolumeArgs(
                    name="backups",
                    persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(
                        claim_name=volume.metadata.name
                    ),
                ),
                scratch_volume("tmp", "64Mi"),
            ],
        )
        labels = self._labels("backup", service)
        return k8s.batch.v1.CronJob(
            self.child_name("cronjob", service),
            metadata=metadata(f"{BACKUP_JOB_PREFIX}{service}", args.namespace, labels),
            spec=utc_cron_job_spec(
                dr.backup_schedule, labels, {**labels, **self._pod_labels(service)}, pod,
                backoff_limit=BACKOFF_LIMIT, active_deadline_seconds=ACTIVE_DEADLINE_SECONDS,
                starting_deadline_seconds=STARTING_DEADLINE_SECONDS, history_limit=HISTORY_LIMIT,
            ),
            opts=self.child_opts(),
        )

    def _upload_container(self, service: str, offsite: OffsiteCopy) -> k8s.core.v1.ContainerArgs:
        retention = self.config.dr.retention
        due = {"WEEKLY": retention.weekly_weeks, "MONTHLY": retention.monthly_months, "YEARLY": retention.yearly_years}
        return k8s.core.v1.ContainerArgs(
            name="upload",
            image=UPLOADER_IMAGE,
            image_pull_policy="IfNotPresent",
            command=["/bin/sh", "-c", _UPLOAD_SCRIPT.format(dir=BACKUP_DIR)],
            env=[
                k8s.core.v1.EnvVarArgs(name="SERVICE", value=service),
                k8s.core.v1.EnvVarArgs(name="BUCKET", value=offsite.bucket),
                k8s.core.v1.EnvVarArgs(name="UPLOAD_URL", value=GCS_UPLOAD_URL),
                k8s.core.v1.EnvVarArgs(name="METADATA_URL", value=METADATA_TOKEN_URL),
                *(k8s.core.v1.EnvVarArgs(name=key, value=str(count > 0).lower()) for key, count in due.items()),
                k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),
            ],
            resources=resources(50, 64, 500, 256),
            security_context=container_security_context(RUN_AS),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="backups", mount_path=BACKUP_DIR, read_only=True),
                k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
            ],
        )

    def _service_account(self, service: str, args: KubernetesBackupsArgs) -> pulumi.Output[str]:
        """The backup pod's identity: acts as the offsite Google service account (Workload Identity)."""
        offsite = args.offsite_of(service)
        assert offsite is not None
        account = k8s.core.v1.ServiceAccount(
            self.child_name("serviceaccount", service),
            metadata=metadata(
                backup_service_account(service),
                args.namespace,
                self._labels("backup", service),
                {WI_ANNOTATION: offsite.service_account_email},
            ),
            automount_service_account_token=False,
            opts=self.child_opts(),
        )
        return account.metadata.apply(lambda m: m.name)

    def _offsite_network_policy(self, service: str, args: KubernetesBackupsArgs) -> None:
        """The upload's flows: the GKE metadata server (tokens) and 443 to Google APIs."""
        k8s.networking.v1.NetworkPolicy(
            self.child_name("netpol", service, "offsite"),
            metadata=metadata(
                f"{BACKUP_JOB_PREFIX}{service}-to-google-apis", args.namespace, self._labels("backup", service)
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._pod_labels(service)),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[peer(cidr=METADATA_SERVER)], ports=tcp_ports(METADATA_PORT)
                    ),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[peer(cidr="0.0.0.0/0", except_cidrs=PRIVATE_RANGES)], ports=tcp_ports(HTTPS_PORT)
                    ),
                ],
            ),
            opts=self.child_opts(),
        )

    def _network_policies(self, service: str, connection: DataConnection, args: KubernetesBackupsArgs) -> None:
        pod_selector = k8s.meta.v1.LabelSelectorArgs(match_labels=self._pod_labels(service))
        data = connection.peer
        if data.pod_labels:
            target = peer(pod_labels=data.pod_labels)
        elif data.cidr:
            target = peer(cidr=data.cidr)
        else:
            raise ValueError(f"DataConnection for {service} has neither peer.pod_labels nor peer.cidr")
        dns = k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                        match_labels={"kubernetes.io/metadata.name": "kube-system"}
                    )
                )
            ],
            ports=[
                k8s.networking.v1.NetworkPolicyPortArgs(protocol="UDP", port=53),
                k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=53),
            ],
        )
        k8s.networking.v1.NetworkPolicy(
            self.child_name("netpol", service),
            metadata=metadata(f"{BACKUP_JOB_PREFIX}{service}", args.namespace, self._labels("backup", service)),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=pod_selector,
                policy_types=["Ingress", "Egress"],  # no ingress rule: nothing connects to a backup pod
                egress=[
                    dns,
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[target], ports=tcp_ports(connection.port)),
                ],
            ),
            opts=self.child_opts(),
        )
        if data.pod_labels:
            # the data pods' side: admit the backup pods on the service port
            k8s.networking.v1.NetworkPolicy(
                self.child_name("netpol", service, "ingress"),
                metadata=metadata(
                    f"{service}-from-{BACKUP_JOB_PREFIX}{service}", args.namespace, self._labels("backup", service)
                ),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(data.pod_labels)),
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                            from_=[peer(pod_labels=self._pod_labels(service))], ports=tcp_ports(connection.port)
                        )
                    ],
                ),
                opts=self.child_opts(),
            )
