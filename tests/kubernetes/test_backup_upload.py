"""The offsite upload script of the backup CronJob, run for real: `sh` + `curl` against a local
stand-in for the GKE metadata server and the Cloud Storage JSON API (127.0.0.1 only).

What Cloud Storage would do is modelled where it matters: an upload with `ifGenerationMatch=0`
of a name that exists answers 412 (the bucket's retention policy forbids replacing it anyway),
and a request without the bearer token of the metadata server answers 401.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from components.dr.kubernetes import BACKUP_DIR, KubernetesBackups, KubernetesBackupsArgs, OffsiteCopy
from tests.helpers import k8s_objects, run_component
from tests.kubernetes.test_backups import NAMESPACE, connection

TOKEN = "ya29.test-token"
BUCKET = "p-prod-gke-backups"


class FakeGoogle(BaseHTTPRequestHandler):
    objects: dict[str, bytes]
    requests: list[dict]
    fail_with: int | None = None

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # the metadata server's token endpoint
        if self.path.endswith("/service-accounts/default/token") and self.headers.get("Metadata-Flavor") == "Google":
            return self._reply(200, {"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})
        return self._reply(403, {"error": "missing Metadata-Flavor header"})

    def do_POST(self):  # the JSON API media upload
        url = urlparse(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        name = query["name"][0]
        self.requests.append({"path": url.path, "query": query, "auth": self.headers.get("Authorization"), "size": len(body)})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._reply(401, {"error": "unauthenticated"})
        if self.fail_with:
            return self._reply(self.fail_with, {"error": "denied"})
        if query.get("ifGenerationMatch") == ["0"] and name in self.objects:
            return self._reply(412, {"error": "conditionNotMet"})
        self.objects[name] = body
        return self._reply(200, {"name": name, "bucket": url.path.split("/")[5]})


@pytest.fixture()
def google():
    handler = type("Handler", (FakeGoogle,), {"objects": {}, "requests": [], "fail_with": None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def upload_container():
    def build(context):
        KubernetesBackups(
            "backups",
            KubernetesBackupsArgs(
                context,
                NAMESPACE,
                {"mongodb": connection("mongodb")},
                offsite=OffsiteCopy(bucket=BUCKET, service_account_email="sa@p.iam.gserviceaccount.com"),
            ),
        )

    capture = run_component(build)
    (cron_job,) = [o for o in k8s_objects(capture.resources) if o["kind"] == "CronJob" and o["metadata"]["name"] == "backup-mongodb"]
    (container,) = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return container


def run_upload(container, base_url: str, backups: Path, tmp: Path, weekday="3", day="15", month_day="0615"):
    """Run the container's script as rendered, with the backup dir, the two endpoints and `date`
    pointed at the test's stand-ins."""
    script = container["command"][2].replace("/tmp/", f"{tmp}/").replace(BACKUP_DIR, str(backups))
    env = {e["name"]: e["value"] for e in container["env"]}
    env["METADATA_URL"] = f"{base_url}/computeMetadata/v1/instance/service-accounts/default/token"
    env["UPLOAD_URL"] = f"{base_url}/upload/storage/v1/b"
    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    fake_date = bindir / "date"
    fake_date.write_text(
        "#!/bin/sh\n"
        f'case "$2" in +%u) echo {weekday} ;; +%d) echo {day} ;; +%m%d) echo {month_day} ;; *) exec /bin/date "$@" ;; esac\n'
    )
    fake_date.chmod(0o755)
    env["PATH"] = f"{bindir}:{os.environ['PATH']}"
    env["HOME"] = str(tmp)
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture()
def dumps_dir(tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "mongodb-20261130T020000Z.archive.gz").write_bytes(b"old dump")
    (backups / "mongodb-20261201T020000Z.archive.gz").write_bytes(b"newest dump" * 100)
    (backups / "mongodb-20261202T020000Z.archive.gz.partial").write_bytes(b"incomplete")
    return backups


def test_the_newest_complete_dump_goes_to_the_daily_tier_create_only(google, upload_container, dumps_dir, tmp_path):
    assert shutil.which("curl"), "the upload test runs the real curl"
    handler, url = google
    result = run_upload(upload_container, url, dumps_dir, tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(handler.objects) == {"daily/mongodb/mongodb-20261201T020000Z.archive.gz"}
    assert handler.objects["daily/mongodb/mongodb-20261201T020000Z.archive.gz"] == b"newest dump" * 100
    (request,) = handler.requests
    assert request["path"] == f"/upload/storage/v1/b/{BUCKET}/o"
    assert request["query"]["ifGenerationMatch"] == ["0"] and request["query"]["uploadType"] == ["media"]
    assert request["auth"] == f"Bearer {TOKEN}"
    # the token never reaches the log, and its header file is removed
    assert TOKEN not in result.stdout + result.stderr and not (tmp_path / "auth-header").exists()


def test_on_the_first_of_january_a_sunday_every_tier_gets_a_copy(google, upload_container, dumps_dir, tmp_path):
    handler, url = google
    result = run_upload(upload_container, url, dumps_dir, tmp_path, weekday="7", day="01", month_day="0101")
    assert result.returncode == 0, result.stderr
    assert sorted(handler.objects) == [
        f"{tier}/mongodb/mongodb-20261201T020000Z.archive.gz" for tier in ("daily", "monthly", "weekly", "yearly")
    ]


def test_an_existing_object_is_kept_not_replaced(google, upload_container, dumps_dir, tmp_path):
    handler, url = google
    handler.objects["daily/mongodb/mongodb-20261201T020000Z.archive.gz"] = b"retained"
    result = run_upload(upload_container, url, dumps_dir, tmp_path)
    assert result.returncode == 0, result.stderr
    assert handler.objects["daily/mongodb/mongodb-20261201T020000Z.archive.gz"] == b"retained"
    assert "exists already" in result.stdout


def test_a_denied_upload_fails_the_job(google, upload_container, dumps_dir, tmp_path):
    handler, url = google
    handler.fail_with = 403
    result = run_upload(upload_container, url, dumps_dir, tmp_path)
    assert result.returncode != 0 and "HTTP 403" in result.stderr


def test_no_dump_fails_the_job(google, upload_container, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    handler, url = google
    result = run_upload(upload_container, url, empty, tmp_path)
    assert result.returncode != 0 and not handler.requests
    assert "no mongodb dump" in result.stderr
