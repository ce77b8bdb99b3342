"""Backup verification on Kubernetes (platforms `kubernetes` and `gke`): a scheduled restore test of
the newest in-cluster dump of every data service whose backend here restore-tests by "dump"
(`Backend.restore_test` in components/data/registry.py: today PostgreSQL on `kubernetes`, MongoDB
and the vector database on `kubernetes` and `gke`). Issue 14, seeds 000/001: backups are proven by
restores, daily in production, weekly elsewhere.

Creates, per restore-tested data service (created by `KubernetesBackups`, next to the dumps):
- a CronJob `restore-test-<service>` whose pod is throwaway by construction, nothing outside it:
  - a `server` native sidecar (an init container with `restartPolicy: Always`, Kubernetes 1.29+)
    running the data service's own image (the StatefulSet's `IMAGE`, so the same version), with
    no credentials, listening on 127.0.0.1 only, its data on a generic ephemeral volume of the
    data service's `storageGi` (a PVC the pod owns: it is deleted with the pod; an emptyDir would
    not reserve 100 GiB of node disk). A startup probe holds the restore until it accepts
    connections;
  - a `restore` container (the scripts and server settings: components/dr/restore_test_scripts.py;
    the dump's own client image, uid 1000 like the backup pods, so it can
    read their 0600 files) that picks the newest complete dump on the backup volume
    (`backups-<service>`, mounted read-only), restores it into the server and checks it:
    - PostgreSQL: `pg_restore --exit-on-error` into a new database; the restored tables must be
      the dump's own table list (`pg_restore --list`); exact row counts are reported (every row
      is read);
    - MongoDB: `mongorestore --drop --oplogReplay` (the in-cluster MongoDB is always a replica set,
      its dumps carry `--oplog`); mongorestore's own "N document(s) failed to restore" must be 0;
      collections and documents are counted with mongosh;
    - vector database: each snapshot in the archive (one per node and collection) is uploaded to
      Qdrant as collection `node<i>-<collection>`; each must restore and its points are counted;
  - the data age (now minus the dump's UTC stamp, the moment the dump started) and the restore
    time are measured and printed as one JSON line (`{"restoreTest": ..., "dataAgeSeconds": ...,
    "restoreSeconds": ...}`). The test **fails** when the restore or its check fails, or when the
    newest dump is older than `max_data_age_minutes`: the longest gap between two dumps of
    `dr.backupSchedule` plus `dr.rpoMinutes` (daily dumps, RPO 1 h: 25 h);
  - the Job may run `dr.rtoMinutes` (`activeDeadlineSeconds`): a restore slower than the RTO fails;
    it is retried once (`backoffLimit: 1`) and deleted `TTL_SECONDS` after it finished (Job, pod
    and the ephemeral volume with its restored copy of the data; the log stays in the cluster's
    logging, the CronJob's status keeps the last schedule and success the alerts read);
- a NetworkPolicy `restore-test-<service>` isolating the pods both ways: everything they talk to
  is 127.0.0.1 inside the pod (image pulls are the kubelet's).

Schedule (`restore_test_schedule`): daily in production, weekly (Monday, or the weekday of the
first dump of the week) elsewhere, at the first half hour after the dumps' deadline (their Jobs'
`activeDeadlineSeconds`) at which the test (`dr.rtoMinutes` long) overlaps no dump by
`MARGIN_MINUTES`: the test reads the
freshest dump and never shares the ReadWriteOnce backup volume with a running dump. Should a dump
still run (a manual run, an hourly `dr.backupSchedule` that leaves no free slot), the pod prefers
the dump pod's node (pod affinity on the hostname), where a ReadWriteOnce volume can be mounted
by both. On `gke` the test reads the volume copy too (the bucket copy is written by the same pod
that wrote it; reading it back would need a second, read-capable Google identity).

Alerts (`restore_test_alert_rules`, in the monitoring component's PrometheusRule): the last run of a
restore test failed; none succeeded within its interval plus the Job's deadline and an hour. Both
read kube-state-metrics' CronJob series: Pushgateway is not installed and a log is not scraped, so
the measured seconds are in the JSON log line, and the restore time of every run is also
`kube_job_status_completion_time - kube_job_status_start_time` of its Job.

Run one by hand: `kubectl -n <namespace> create job --from=cronjob/restore-test-<service>
restore-test-<service>-manual` and `kubectl -n <namespace> logs -f job/restore-test-<service>-manual
-c restore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from components import schedule_windows as sw
from components.base import PlatformComponent
from components.config import StackConfig, StackContext
from components.data.registry import backend, component_class
from components.dr.restore_test_scripts import PREAMBLE, SUMMARY, WORK_DIR, Restore, Server, restore_of
from components.kubernetes_objects import (
    COMPONENT_LABEL,
    NAME_LABEL,
    PART_OF,
    PART_OF_LABEL,
    container_security_context,
    metadata,
    network_policy,
    pod_security_context,
    resources,
    scratch_volume,
    utc_cron_job_spec,
)
from components.monitoring.metrics import AlertRule, last_run_failed_expr

RESTORE_TEST_PREFIX = "restore-test-"  # not `backup-`: the backup alerts select `backup-.+`
RESTORE_METHOD = "dump"  # the registry's restore_test value this module serves
RUN_AS = 1000  # the backup pods' uid: the dumps are theirs (mode 0600)
BACKOFF_LIMIT = 1
TTL_SECONDS = 6 * 3600
STARTING_DEADLINE_SECONDS = 3600
HISTORY_LIMIT = 3
MARGIN_MINUTES = 30
WEEKLY_DAY = 0  # Monday (Monday = 0): a failure is seen in the working week
ALERT_MARGIN_HOURS = 1
RESTORE_CPU_LIMIT = 1000
RESTORE_MEMORY_LIMIT = 1024


# --- which services, when, how old -----------------------------------------------------------


def restore_tested(config: StackConfig) -> tuple[str, ...]:
    """The enabled data services whose backend on the stack's platform restore-tests by dump."""
    return tuple(n for n in config.data.enabled() if backend(n, config.platform).restore_test == RESTORE_METHOD)


def _dump_schedule(config: StackConfig) -> sw.Schedule:
    return sw.cron_schedule("dumps", config.dr.backup_schedule, 0)


def dump_interval_minutes(config: StackConfig) -> int:
    """The longest gap between two dump starts of `dr.backupSchedule` (1440 for a daily one)."""
    starts = sorted(_dump_schedule(config).starts)
    gaps = [b - a for a, b in zip(starts, starts[1:])] + [starts[0] + sw.WEEK - starts[-1]]
    return max(gaps)


def max_data_age_minutes(config: StackConfig) -> int:
    """The oldest the newest dump may be when it is tested: one dump interval plus the RPO."""
    return dump_interval_minutes(config) + config.dr.rpo_minutes


def restore_test_daily(config: StackConfig) -> bool:
    """Daily in production, weekly elsewhere (seed 001: daily backup verification in prod)."""
    return config.is_production


def restore_test_interval_minutes(config: StackConfig) -> int:
    return 1440 if restore_test_daily(config) else 7 * 1440


def restore_test_schedule(config: StackConfig, dump_deadline_minutes: int) -> str:
    """The CronJob schedule (UTC): see the module docstring. `dump_deadline_minutes`: how long a
    dump may run (its Job's activeDeadlineSeconds)."""
    dumps = _dump_schedule(config)
    first = min(dumps.starts)
    window = sw.Window("dumps", dumps.starts, dump_deadline_minutes)
    after = (first + dump_deadline_minutes + MARGIN_MINUTES) % 1440
    minute = sw.first_free_daily_start([window], config.dr.rto_minutes, MARGIN_MINUTES, after=after)
    if minute is None:  # no free slot in the day: right after the first dump's deadline
        minute = after
    if restore_test_daily(config):
        return f"{minute % 60} {minute // 60} * * *"
    # the first dump on or after WEEKLY_DAY, and the test's start after it (it may cross midnight)
    anchor = min(dumps.starts, key=lambda s: (s // 1440 - WEEKLY_DAY) % 7 * 1440 + s % 1440)
    day = (anchor // 1440 + (1 if minute < anchor % 1440 else 0)) % 7
    return f"{minute % 60} {minute // 60} * * {(day + 1) % 7}"


def restore_test_capacity(config: StackConfig) -> tuple[int, int, int, int]:
    """(cpu millicores, memory MiB, pods, storage GiB) at their limits when every restore test runs
    at once (the namespace's ResourceQuota adds this)."""
    cpu = memory = storage = 0
    for service in restore_tested(config):
        settings = getattr(config.data, service)
        cpu += 2 * settings.cpu + RESTORE_CPU_LIMIT
        memory += 2 * settings.memory + RESTORE_MEMORY_LIMIT
        storage += settings.storage_gi
    return cpu, memory, len(restore_tested(config)), storage


@dataclass(frozen=True)
class KubernetesRestoreTestsArgs:
    context: StackContext
    namespace: pulumi.Input[str]
    # restore-tested service -> (its backup volume claim's name, the dump's client image)
    dumps: Mapping[str, tuple[pulumi.Input[str], str]]
    backup_dir: str  # where the dump pods mount that volume (the dumps' names are relative to it)
    dump_deadline_seconds: int  # how long a dump may run (the restore test starts after it)
    # the labels of each service's backup pods (the restore pod prefers their node)
    backup_pod_labels: Mapping[str, Mapping[str, str]]
    storage_class: Optional[pulumi.Input[str]] = None


class KubernetesRestoreTests(PlatformComponent):
    """Restore-test CronJobs and their NetworkPolicies (see the module docstring)."""

    TYPE = "aiplatform:dr:KubernetesRestoreTests"

    def __init__(self, name: str, args: KubernetesRestoreTestsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        unknown = sorted(set(args.dumps) - set(restore_tested(self.config)))
        if unknown:
            raise ValueError(f"not restore-tested by dump on {self.config.platform}: {', '.join(unknown)}")
        tested = [s for s in restore_tested(self.config) if s in args.dumps]
        self.schedule = restore_test_schedule(self.config, args.dump_deadline_seconds // 60)
        self.cron_jobs: dict[str, k8s.batch.v1.CronJob] = {}
        for service in tested:
            claim, image = args.dumps[service]
            self.cron_jobs[service] = self._cron_job(service, restore_of(service, self.config), claim, image, args)
            pods = self._pod_labels(service)
            network_policy(
                self.child_name("netpol", service), f"{RESTORE_TEST_PREFIX}{service}", args.namespace,
                self._labels(service), pods, self.child_opts(), ingress=[], egress=[],
            )
        self.register_outputs(
            {
                "cronJobs": sorted(f"{RESTORE_TEST_PREFIX}{s}" for s in self.cron_jobs),
                "schedule": self.schedule,
                "maxDataAgeMinutes": max_data_age_minutes(self.config),
            }
        )

    def _labels(self, service: str) -> dict[str, str]:
        return {**self.labels, **self._pod_labels(service)}

    @staticmethod
    def _pod_labels(service: str) -> dict[str, str]:
        return {NAME_LABEL: f"{RESTORE_TEST_PREFIX}{service}", COMPONENT_LABEL: "restore-test", PART_OF_LABEL: PART_OF}

    def _server(self, service: str, server: Server) -> k8s.core.v1.ContainerArgs:
        data_class = component_class(service, self.config.platform)
        settings = getattr(self.config.data, service)
        return k8s.core.v1.ContainerArgs(
            name="server",
            image=data_class.IMAGE,  # the version that runs in production
            image_pull_policy="IfNotPresent",
            restart_policy="Always",  # a native sidecar: runs beside `restore`, stops after it
            command=list(server.command) if server.command else None,
            args=list(server.args) if server.args else None,
            env=[k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in server.env.items()],
            # sized like the StatefulSet: the restore writes the whole data set
            resources=resources(settings.cpu, settings.memory, 2 * settings.cpu, 2 * settings.memory),
            security_context=container_security_context(data_class.UID),
            startup_probe=server.ready(data_class.PORT),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="data", mount_path=server.data_path),
                k8s.core.v1.VolumeMountArgs(name="server-tmp", mount_path="/tmp"),
                *(k8s.core.v1.VolumeMountArgs(name=volume, mount_path=path) for path, volume in server.scratch.items()),
            ],
        )

    def _restore(self, service: str, restore: Restore, image: str, backup_dir: str) -> k8s.core.v1.ContainerArgs:
        return k8s.core.v1.ContainerArgs(
            name="restore",
            image=image,
            image_pull_policy="IfNotPresent",
            command=["/bin/sh", "-c", PREAMBLE.format(dir=backup_dir) + restore.script + SUMMARY],
            env=[
                k8s.core.v1.EnvVarArgs(name="SERVICE", value=service),
                k8s.core.v1.EnvVarArgs(name="MAX_DATA_AGE_SECONDS", value=str(max_data_age_minutes(self.config) * 60)),
                k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),
            ],
            resources=resources(100, 256, RESTORE_CPU_LIMIT, RESTORE_MEMORY_LIMIT),
            security_context=container_security_context(RUN_AS),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="backups", mount_path=backup_dir, read_only=True),
                k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                k8s.core.v1.VolumeMountArgs(name="work", mount_path=WORK_DIR),
            ],
        )

    def _volumes(self, service: str, server: Server, claim: pulumi.Input[str], args: KubernetesRestoreTestsArgs) -> list:
        settings = getattr(self.config.data, service)
        return [
            k8s.core.v1.VolumeArgs(
                name="backups",
                persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=claim, read_only=True),
            ),
            k8s.core.v1.VolumeArgs(
                name="data",
                ephemeral=k8s.core.v1.EphemeralVolumeSourceArgs(
                    volume_claim_template=k8s.core.v1.PersistentVolumeClaimTemplateArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels=self._labels(service)),
                        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                            access_modes=["ReadWriteOnce"],
                            storage_class_name=args.storage_class,
                            resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                                requests={"storage": f"{settings.storage_gi}Gi"}
                            ),
                        ),
                    )
                ),
            ),
            scratch_volume("tmp", "64Mi"),
            scratch_volume("server-tmp", "64Mi"),
            # one extracted snapshot at a time: at most the backup volume's size
            scratch_volume("work", f"{self.config.dr.backup_storage_gi}Gi" if service == "vectordb" else "16Mi"),
            # Qdrant keeps an uploaded snapshot under its snapshots path while it recovers it
            *(scratch_volume(volume, f"{self.config.dr.backup_storage_gi}Gi" if volume == "snapshots" else "16Mi")
              for volume in server.scratch.values()),
        ]

    def _cron_job(
        self, service: str, restore: Restore, claim: pulumi.Input[str], image: str, args: KubernetesRestoreTestsArgs
    ) -> k8s.batch.v1.CronJob:
        labels = self._labels(service)
        near_the_dump = k8s.core.v1.AffinityArgs(
            pod_affinity=k8s.core.v1.PodAffinityArgs(
                preferred_during_scheduling_ignored_during_execution=[
                    k8s.core.v1.WeightedPodAffinityTermArgs(
                        weight=100,
                        pod_affinity_term=k8s.core.v1.PodAffinityTermArgs(
                            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(args.backup_pod_labels[service])),
                            topology_key="kubernetes.io/hostname",
                        ),
                    )
                ]
            )
        )
        pod = k8s.core.v1.PodSpecArgs(
            restart_policy="Never",
            automount_service_account_token=False,
            enable_service_links=False,
            security_context=pod_security_context(RUN_AS),
            affinity=near_the_dump,
            init_containers=[self._server(service, restore.server)],
            containers=[self._restore(service, restore, image, args.backup_dir)],
            volumes=self._volumes(service, restore.server, claim, args),
        )
        return k8s.batch.v1.CronJob(
            self.child_name("cronjob", service),
            metadata=metadata(f"{RESTORE_TEST_PREFIX}{service}", args.namespace, labels),
            spec=utc_cron_job_spec(
                self.schedule, labels, labels, pod,
                backoff_limit=BACKOFF_LIMIT, active_deadline_seconds=self.config.dr.rto_minutes * 60,
                starting_deadline_seconds=STARTING_DEADLINE_SECONDS, history_limit=HISTORY_LIMIT,
                ttl_seconds_after_finished=TTL_SECONDS,
            ),
            opts=self.child_opts(),
        )


# --- alerts -----------------------------------------------------------------------------------


def restore_test_alert_rules(namespace: str, config: StackConfig) -> list[AlertRule]:
    """A failed last run; no success within the test's interval + the Job's deadline + an hour.
    Empty when the stack restore-tests nothing in the cluster."""
    if not restore_tested(config):
        return []
    selector = f'namespace="{namespace}",cronjob=~"{RESTORE_TEST_PREFIX}.+"'
    by = "max by (namespace, cronjob)"
    succeeded = f"{by} (kube_cronjob_status_last_successful_time{{{selector}}})"
    interval = restore_test_interval_minutes(config)
    overdue_seconds = (interval + config.dr.rto_minutes) * 60 + ALERT_MARGIN_HOURS * 3600
    every = "day" if interval == 1440 else "week"
    return [
        AlertRule(
            name="RestoreTestFailed",
            expr=last_run_failed_expr(f"{{{selector}}}"),
            for_minutes=15,
            severity="warning",
            summary="Restore test {{ $labels.cronjob }} failed",
            description=(
                "The last run of {{ $labels.cronjob }} did not restore the newest dump, its check failed, or the "
                f"dump was older than {max_data_age_minutes(config)} min (dump interval + dr.rpoMinutes). "
                "See `kubectl logs -c restore` of its newest Job; the backups of this service are unproven."
            ),
        ),
        AlertRule(
            name="RestoreTestOverdue",
            expr=(
                f"(time() - {succeeded} > {overdue_seconds})"
                f" or ((time() - {by} (kube_cronjob_created{{{selector}}})) > {overdue_seconds}"
                f" unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{{{selector}}})"
            ),
            for_minutes=5,
            severity="warning",
            summary="Restore test {{ $labels.cronjob }} has not succeeded within its interval",
            description=(
                f"{{{{ $labels.cronjob }}}} runs once a {every}; no run has succeeded for {overdue_seconds // 3600} h "
                "(its interval, the Job's deadline dr.rtoMinutes and an hour)."
            ),
        ),
    ]
