"""What the restore tests (components/dr/restore_test_kubernetes.py) run, per data service: the
restore container's shell script (a shared preamble that finds the newest complete dump and its
age, the service's restore and check, a shared summary that prints the JSON line and fails on a
dump older than `MAX_DATA_AGE_SECONDS`) and how the throwaway server is started from the data
service's own image: no credentials, 127.0.0.1 only, its readiness as a startup probe.

The scripts run in the dump's client image (busybox or GNU userland: only POSIX sh, `date -d`,
`sed`, `awk`, `tar` and the service's own CLI). `tests/kubernetes/test_restore_scripts.py` runs
them for real.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

import pulumi_kubernetes as k8s

from components.config import StackConfig
from components.data.registry import component_class

WORK_DIR = "/work"  # the restore container's scratch (one extracted vector snapshot at a time)
STARTUP_PERIOD_SECONDS = 5
STARTUP_FAILURES = 120  # 10 minutes for the server to start (mongod and Qdrant on a new volume)

PREAMBLE = """\
set -eu
umask 077
now="$(date -u +%s)"
latest="$(ls -1 {dir}/"$SERVICE"-*[0-9]Z.* 2>/dev/null | grep -v '[.]partial$' | sort | tail -n 1 || true)"
[ -n "$latest" ] || {{ echo "FAILED: no $SERVICE dump in {dir}" >&2; exit 1; }}
name="${{latest##*/}}"
# the dump's UTC stamp (when it started): <service>-YYYYMMDDTHHMMSSZ.<ext>
when="$(printf %s "$name" | sed -n 's/^[a-z]*-\\([0-9]\\{{4\\}}\\)\\([0-9]\\{{2\\}}\\)\\([0-9]\\{{2\\}}\\)T\\([0-9]\\{{2\\}}\\)\\([0-9]\\{{2\\}}\\)\\([0-9]\\{{2\\}}\\)Z[.].*/\\1-\\2-\\3 \\4:\\5:\\6/p')"
[ -n "$when" ] || {{ echo "FAILED: $name carries no UTC stamp" >&2; exit 1; }}
age=$((now - $(date -u -d "$when" +%s)))
echo "restoring $name (data age ${{age}} s, at most $MAX_DATA_AGE_SECONDS s)"
begin="$(date -u +%s)"
"""

SUMMARY = """\
seconds=$(($(date -u +%s) - begin))
printf '{"restoreTest":"%s","dump":"%s","dataAgeSeconds":%s,"maxDataAgeSeconds":%s,"restoreSeconds":%s,%s}\\n' \\
  "$SERVICE" "$name" "$age" "$MAX_DATA_AGE_SECONDS" "$seconds" "$checked"
if [ "$age" -gt "$MAX_DATA_AGE_SECONDS" ]; then
  echo "FAILED: the newest $SERVICE dump is $age s old, more than $MAX_DATA_AGE_SECONDS s (dump interval + dr.rpoMinutes)" >&2
  exit 1
fi
echo "restore test of $SERVICE passed"
"""

_POSTGRES_RESTORE = """\
server="postgresql://postgres@127.0.0.1:{port}"
psql --no-psqlrc -v ON_ERROR_STOP=1 --quiet --dbname="$server/postgres" -c 'CREATE DATABASE restore_test'
pg_restore --exit-on-error --no-owner --no-privileges --dbname="$server/restore_test" "$latest"
# the dump's own table list is what must come back
expected="$(pg_restore --list "$latest" | awk '$4 == "TABLE" && $5 != "DATA"' | wc -l | tr -d ' ')"
counts="$(psql --no-psqlrc -v ON_ERROR_STOP=1 --tuples-only --no-align --field-separator=' ' --dbname="$server/restore_test" -c \\
  "SELECT count(*), coalesce(sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', schemaname, tablename), false, true, '')))[1]::text::bigint), 0) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")"
tables="${{counts%% *}}"
rows="${{counts##* }}"
[ "$tables" = "$expected" ] || {{ echo "FAILED: $tables tables restored, the dump lists $expected" >&2; exit 1; }}
checked="$(printf '"tables":%s,"rows":%s' "$tables" "$rows")"
"""

_MONGODB_RESTORE = """\
server="mongodb://127.0.0.1:{port}/"
# the in-cluster MongoDB is a replica set: its dumps carry the oplog of the dump's duration
mongorestore --uri="$server" --archive="$latest" --gzip --drop --oplogReplay --stopOnError > /tmp/mongorestore.log 2>&1 \\
  || {{ cat /tmp/mongorestore.log >&2; echo "FAILED: mongorestore" >&2; exit 1; }}
cat /tmp/mongorestore.log
failed="$(sed -n 's/.* \\([0-9][0-9]*\\) document(s) failed to restore.*/\\1/p' /tmp/mongorestore.log | tail -n 1)"
[ "${{failed:-0}}" = 0 ] || {{ echo "FAILED: $failed document(s) failed to restore" >&2; exit 1; }}
counts="$(mongosh --quiet "$server" --eval '
  let collections = 0, documents = 0;
  db.adminCommand({{listDatabases: 1}}).databases.forEach((d) => {{
    if (["admin", "config", "local"].includes(d.name)) return;
    const s = db.getSiblingDB(d.name);
    s.getCollectionNames().forEach((c) => {{ collections++; documents += s.getCollection(c).countDocuments({{}}); }});
  }});
  print(collections + " " + documents);')"
checked="$(printf '"collections":%s,"documents":%s' "${{counts%% *}}" "${{counts##* }}")"
"""

_VECTORDB_RESTORE = """\
server="http://127.0.0.1:{port}"
q() {{ curl -sS --fail --retry 3 "$@"; }}
tar -tf "$latest" | grep '[.]snapshot$' > /tmp/snapshots || true
collections=0
points=0
while read -r entry; do
  # node<i>-<collection>.snapshot: every node's snapshot restores as a collection of its own
  collection="${{entry##*/}}"
  collection="${{collection%.snapshot}}"
  tar -xf "$latest" -C {work} "$entry"
  q -X POST "$server/collections/$collection/snapshots/upload?wait=true&priority=snapshot" \\
    -F "snapshot=@{work}/$entry" > /dev/null || {{ echo "FAILED: $entry did not restore" >&2; exit 1; }}
  rm -f "{work}/$entry"
  count="$(q "$server/collections/$collection" | sed -n 's/.*"points_count" *: *\\([0-9][0-9]*\\).*/\\1/p')"
  [ -n "$count" ] || {{ echo "FAILED: restored $collection has no point count" >&2; exit 1; }}
  collections=$((collections + 1))
  points=$((points + count))
done < /tmp/snapshots
checked="$(printf '"collections":%s,"points":%s' "$collections" "$points")"
"""


@dataclass(frozen=True)
class Server:
    """The throwaway server: how the data service's image is started without credentials on
    127.0.0.1, the paths it writes besides its data, and its readiness."""

    command: Optional[Sequence[str]]
    args: Optional[Sequence[str]]
    env: Mapping[str, str]
    data_path: str  # where its data lives (the ephemeral volume is mounted there)
    scratch: Mapping[str, str]  # extra writable paths -> emptyDir name
    ready: Callable[[int], k8s.core.v1.ProbeArgs]


@dataclass(frozen=True)
class Restore:
    script: str  # the service's restore and check, between PREAMBLE and SUMMARY
    server: Server


def _exec(*command: str) -> Callable[[int], k8s.core.v1.ProbeArgs]:
    return lambda port: k8s.core.v1.ProbeArgs(
        exec_=k8s.core.v1.ExecActionArgs(command=list(command)),
        period_seconds=STARTUP_PERIOD_SECONDS,
        failure_threshold=STARTUP_FAILURES,
        timeout_seconds=5,
    )


def _http(path: str) -> Callable[[int], k8s.core.v1.ProbeArgs]:
    return lambda port: k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=port, host="127.0.0.1"),
        period_seconds=STARTUP_PERIOD_SECONDS,
        failure_threshold=STARTUP_FAILURES,
        timeout_seconds=5,
    )


def restore_of(service: str, config: StackConfig) -> Restore:
    """How `service` is restored and checked; ports and paths are its StatefulSet's own."""
    data = component_class(service, config.platform)
    if service == "postgres":
        return Restore(
            _POSTGRES_RESTORE.format(port=data.PORT),
            Server(
                command=None,  # the image's entrypoint: initdb into PGDATA, then the server
                # a throwaway copy: no durability needed, nothing but the pod reaches 127.0.0.1
                args=["postgres", "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                      "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                env={"POSTGRES_HOST_AUTH_METHOD": "trust", "PGDATA": f"{data.DATA_PATH}/pgdata"},
                data_path=data.DATA_PATH,
                scratch={"/var/run/postgresql": "run"},
                ready=_exec("pg_isready", "-h", "127.0.0.1", "-p", str(data.PORT), "-U", "postgres"),
            ),
        )
    if service == "mongodb":
        cache = max(0.25, round(config.data.mongodb.memory / 1024 * 0.5, 2))  # as the StatefulSet
        return Restore(
            _MONGODB_RESTORE.format(port=data.PORT),
            Server(
                command=["mongod"],
                args=["--bind_ip", "127.0.0.1", "--port", str(data.PORT), "--dbpath", data.DATA_PATH,
                      "--wiredTigerCacheSizeGB", f"{cache}"],
                env={},
                data_path=data.DATA_PATH,
                scratch={},
                ready=_exec("mongosh", "--quiet", "--port", str(data.PORT), "--eval", "db.adminCommand('ping').ok"),
            ),
        )
    if service == "vectordb":
        return Restore(
            _VECTORDB_RESTORE.format(port=data.PORT, work=WORK_DIR),
            Server(
                command=None,
                args=None,
                env={
                    "QDRANT__SERVICE__HOST": "127.0.0.1",
                    "QDRANT__SERVICE__HTTP_PORT": str(data.PORT),
                    "QDRANT__STORAGE__STORAGE_PATH": data.DATA_PATH,
                    "QDRANT__STORAGE__SNAPSHOTS_PATH": data.SNAPSHOTS_PATH,
                    "QDRANT_INIT_FILE_PATH": f"{data.INIT_PATH}/.qdrant-initialized",
                    "QDRANT__TELEMETRY_DISABLED": "true",
                },
                data_path=data.DATA_PATH,
                scratch={data.SNAPSHOTS_PATH: "snapshots", data.INIT_PATH: "init"},
                ready=_http("/readyz"),
            ),
        )
    raise LookupError(f"no restore test for {service}: add one here (its registry backend restore-tests by dump)")
