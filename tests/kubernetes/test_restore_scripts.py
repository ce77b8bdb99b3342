"""The restore tests' scripts, run for real as planned (components/dr/restore_test_kubernetes.py).

PostgreSQL end to end: a local PostgreSQL server (the Debian `postgresql` package, run as
`nobody`) stands in for both the live database and the throwaway server; the backup CronJob's own
dump script dumps a seeded database, and the restore test's script restores the newest dump into
a new database and checks its tables. MongoDB and Qdrant: their CLIs / API are stand-ins that
answer the way mongorestore and Qdrant do, so the script's decisions (what fails, what is
measured) are tested; `tar` and `curl` are the real ones.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.dr.kubernetes import BACKUP_DIR
from components.dr.restore_test_scripts import WORK_DIR
from tests.helpers import k8s_objects, plan_of

PG_BIN = Path("/usr/lib/postgresql/15/bin")
HOUR = 3600


def _containers(stack: str) -> dict[str, dict]:
    found = {}
    for o in k8s_objects(plan_of(stack).capture.resources):
        if o["kind"] == "CronJob":
            pod = o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            found[o["metadata"]["name"]] = pod
    return found


def _stamp(age_seconds: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=age_seconds)).strftime("%Y%m%dT%H%M%SZ")


def _run(container: dict, backups: Path, tmp: Path, replace: dict[str, str], extra_env: dict[str, str] = {}, bindir=None):
    script = container["command"][2].replace("/tmp/", f"{tmp}/").replace(BACKUP_DIR, str(backups))
    for old, new in replace.items():
        script = script.replace(old, new)
    env = {**os.environ, **{e["name"]: e["value"] for e in container["env"] if "value" in e}, "HOME": str(tmp), **extra_env}
    if bindir is not None:
        env["PATH"] = f"{bindir}:{env['PATH']}"
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=300)


def _summary(stdout: str) -> dict:
    (line,) = [line for line in stdout.splitlines() if line.startswith('{"restoreTest"')]
    return json.loads(line)


# --- PostgreSQL, for real ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_server():
    if not (PG_BIN / "postgres").exists() or shutil.which("runuser") is None:
        pytest.fail("the PostgreSQL restore test needs the Debian postgresql package and runuser")
    # not under pytest's own (0700) temporary directory: the server runs as `nobody`
    base = Path(tempfile.mkdtemp(prefix="restore-test-pg-"))
    if os.geteuid() == 0:
        os.chown(base, pwd.getpwnam("nobody").pw_uid, -1)
    data = base / "data"
    port = _free_port()
    as_nobody = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    subprocess.run([*as_nobody, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=300)
    server = subprocess.Popen(
        [*as_nobody, str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
         "-c", f"unix_socket_directories={base}", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}"
    for _ in range(120):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True).returncode == 0:
            break
        time.sleep(0.5)
    psql = ["psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--quiet"]
    subprocess.run([*psql, f"{url}/postgres", "-c", "CREATE DATABASE ai_assistant"], check=True, timeout=60)
    subprocess.run([*psql, f"{url}/ai_assistant", "-c",
                    "CREATE TABLE conversations (id serial PRIMARY KEY, title text);"
                    "CREATE TABLE messages (id serial PRIMARY KEY, conversation int REFERENCES conversations, body text);"
                    "INSERT INTO conversations (title) SELECT 'c' || g FROM generate_series(1, 20) g;"
                    "INSERT INTO messages (conversation, body) SELECT 1 + g % 20, 'm' FROM generate_series(1, 130) g;"],
                   check=True, timeout=60)
    yield url, port
    server.terminate()
    server.wait(timeout=60)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture()
def postgres_dump(postgres_server, tmp_path):
    """The newest dump written by the backup CronJob's own script (and an older one beside it)."""
    url, _ = postgres_server
    backups = tmp_path / "backups"
    backups.mkdir()
    dump = _containers("dev")["backup-postgres"]["containers"][0]
    result = _run(dump, backups, tmp_path, {}, {"DATABASE_URL": f"{url}/ai_assistant"})
    assert result.returncode == 0, result.stderr
    (written,) = backups.glob("postgres-*.dump")
    (backups / "postgres-20200101T020000Z.dump").write_bytes(b"an old, broken dump: never the newest")
    return backups, written


def _drop_restored(url: str) -> None:
    subprocess.run(["psql", "--no-psqlrc", "--quiet", f"{url}/postgres", "-c", "DROP DATABASE IF EXISTS restore_test"],
                   check=True, timeout=60)


def test_postgres_newest_dump_restores_and_its_tables_and_rows_are_checked(postgres_server, postgres_dump, tmp_path):
    url, port = postgres_server
    backups, written = postgres_dump
    restore = _containers("dev")["restore-test-postgres"]["containers"][0]
    _drop_restored(url)
    result = _run(restore, backups, tmp_path, {"127.0.0.1:5432": f"127.0.0.1:{port}"})
    assert result.returncode == 0, result.stdout + result.stderr
    summary = _summary(result.stdout)
    assert summary["dump"] == written.name and summary["tables"] == 2 and summary["rows"] == 150
    assert 0 <= summary["dataAgeSeconds"] < 600 and summary["restoreSeconds"] >= 0


def test_postgres_dump_older_than_the_bound_fails_after_restoring(postgres_server, postgres_dump, tmp_path):
    url, port = postgres_server
    backups, written = postgres_dump
    restore = _containers("dev")["restore-test-postgres"]["containers"][0]
    bound = int({e["name"]: e.get("value") for e in restore["env"]}["MAX_DATA_AGE_SECONDS"])
    written.rename(backups / f"postgres-{_stamp(bound + HOUR)}.dump")
    _drop_restored(url)
    result = _run(restore, backups, tmp_path, {"127.0.0.1:5432": f"127.0.0.1:{port}"})
    assert result.returncode == 1 and "dump interval + dr.rpoMinutes" in result.stderr
    assert _summary(result.stdout)["tables"] == 2  # restored and measured all the same


def test_postgres_broken_newest_dump_fails(postgres_server, postgres_dump, tmp_path):
    url, port = postgres_server
    backups, written = postgres_dump
    written.write_bytes(written.read_bytes()[: written.stat().st_size // 2])
    restore = _containers("dev")["restore-test-postgres"]["containers"][0]
    _drop_restored(url)
    result = _run(restore, backups, tmp_path, {"127.0.0.1:5432": f"127.0.0.1:{port}"})
    assert result.returncode != 0 and '"restoreTest"' not in result.stdout


def test_no_dump_at_all_fails(tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / f"postgres-{_stamp(60)}.dump.partial").write_bytes(b"incomplete")
    restore = _containers("dev")["restore-test-postgres"]["containers"][0]
    result = _run(restore, backups, tmp_path, {})
    assert result.returncode == 1 and "no postgres dump" in result.stderr


# --- MongoDB: the script's decisions ----------------------------------------------------------


def _fake_mongo_tools(bindir: Path, failed: int) -> None:
    bindir.mkdir(exist_ok=True)
    (bindir / "mongorestore").write_text(
        "#!/bin/sh\n"
        'echo "$@" > "$HOME/mongorestore.args"\n'
        f'echo "2026-12-02T04:30:01.000+0000    42 document(s) restored successfully. {failed} document(s) failed to restore." >&2\n'
    )
    (bindir / "mongosh").write_text("#!/bin/sh\necho '3 42'\n")
    for tool in ("mongorestore", "mongosh"):
        (bindir / tool).chmod(0o755)


@pytest.mark.parametrize("failed", [0, 2])
def test_mongodb_restore_fails_when_any_document_failed(tmp_path, failed):
    backups = tmp_path / "backups"
    backups.mkdir()
    newest = f"mongodb-{_stamp(2 * HOUR)}.archive.gz"
    (backups / newest).write_bytes(b"archive")
    (backups / f"mongodb-{_stamp(26 * HOUR)}.archive.gz").write_bytes(b"older archive")
    _fake_mongo_tools(tmp_path / "bin", failed)
    restore = _containers("dev")["restore-test-mongodb"]["containers"][0]
    result = _run(restore, backups, tmp_path, {}, bindir=tmp_path / "bin")
    args = (tmp_path / "mongorestore.args").read_text()
    assert f"--archive={backups}/{newest}" in args and "--oplogReplay" in args and "--drop" in args
    if failed:
        assert result.returncode == 1 and "2 document(s) failed" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert _summary(result.stdout) | {"dataAgeSeconds": 0, "restoreSeconds": 0} == {
            "restoreTest": "mongodb", "dump": newest, "dataAgeSeconds": 0, "restoreSeconds": 0,
            "maxDataAgeSeconds": _summary(result.stdout)["maxDataAgeSeconds"], "collections": 3, "documents": 42,
        }


# --- Qdrant: real tar and curl against a stand-in for its API ---------------------------------


class FakeQdrant(BaseHTTPRequestHandler):
    uploads: list[str]
    reject: str = ""

    def log_message(self, *args):
        pass

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        collection = self.path.split("/")[2]
        if not self.path.split("?")[0].endswith("/snapshots/upload") or "multipart/form-data" not in self.headers["Content-Type"]:
            return self._reply(400, {"status": {"error": "not a snapshot upload"}})
        if collection == self.reject:
            return self._reply(500, {"status": {"error": "Snapshot is corrupted"}})
        self.uploads.append(collection)
        return self._reply(200, {"result": True, "status": "ok"})

    def do_GET(self):
        collection = self.path.split("/")[2]
        if collection not in self.uploads:
            return self._reply(404, {"status": {"error": "Not found"}})
        return self._reply(200, {"result": {"status": "green", "points_count": 7}, "status": "ok"})


@pytest.fixture()
def qdrant():
    handler = type("Handler", (FakeQdrant,), {"uploads": [], "reject": ""})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, server.server_address[1]
    server.shutdown()
    server.server_close()


def _vector_archive(backups: Path, tmp: Path) -> str:
    work = tmp / "archive-source"
    work.mkdir()
    for name in ("node0-docs", "node1-docs"):
        (work / f"{name}.snapshot").write_bytes(b"snapshot bytes")
    name = f"vectordb-{_stamp(3 * HOUR)}.tar"
    with tarfile.open(backups / name, "w") as tar:
        tar.add(work, arcname=".")  # as the dump writes it: tar -C work .
    return name


@pytest.mark.parametrize("reject", ["", "node1-docs"])
def test_vectordb_every_snapshot_restores_as_its_own_collection(qdrant, tmp_path, reject):
    assert shutil.which("curl") and shutil.which("tar")
    handler, port = qdrant
    handler.reject = reject
    backups = tmp_path / "backups"
    backups.mkdir()
    newest = _vector_archive(backups, tmp_path)
    (tmp_path / "work").mkdir()
    restore = _containers("dev+vectordb")["restore-test-vectordb"]["containers"][0]
    result = _run(restore, backups, tmp_path, {"127.0.0.1:6333": f"127.0.0.1:{port}", f"{WORK_DIR}/": f"{tmp_path}/work/",
                                               f"-C {WORK_DIR} ": f"-C {tmp_path}/work "})
    if reject:
        assert result.returncode == 1 and f"./{reject}.snapshot did not restore" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert sorted(handler.uploads) == ["node0-docs", "node1-docs"]
        summary = _summary(result.stdout)
        assert summary["dump"] == newest and summary["collections"] == 2 and summary["points"] == 14
        assert list((tmp_path / "work").iterdir()) == [], "extracted snapshots are removed after upload"
