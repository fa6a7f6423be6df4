"""`make run`'s shape: the web server and a django-q2 worker cluster, started and stopped
together by `manage.py supervise`, against this test run's real database and broker."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from django_q.status import Stat
from django_q.tasks import async_task, result

from apps.sandbox.server import DEFAULT_CREDENTIALS
from tests.conftest import MANAGE, ROOT, child_env, free_port

SANDBOX_USER = DEFAULT_CREDENTIALS.username

pytestmark = pytest.mark.django_db(transaction=True)


def makefile_variable(name: str) -> str:
    text = (ROOT / "Makefile").read_text()
    return re.search(rf"^{name} = (.+)$", text, re.MULTILINE).group(1).strip()


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def http_get(url: str) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except OSError:
        return None


@pytest.fixture
def supervised(tmp_path: Path):
    port = free_port()
    web = makefile_variable("WEB_CMD").replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    worker = makefile_variable("WORKER_CMD")
    sandbox_port = free_port()
    sandbox = (
        makefile_variable("SANDBOX_CMD")
        .replace("--port 8765", f"--port {sandbox_port}")
        .replace("var/sandbox.sqlite3", str(tmp_path / "sandbox.sqlite3"))
    )
    log = (tmp_path / "supervise.log").open("w+")
    process = subprocess.Popen(
        [*MANAGE, "supervise", f"web={web}", f"worker={worker}", f"sandbox={sandbox}"],
        cwd=ROOT,
        env=child_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as `make run` in a terminal
    )
    yield process, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}", log
    if process.poll() is None:  # the test failed half-way: stop it the way Ctrl-C does
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()


def test_web_worker_and_sandbox_start_serve_and_stop_together(supervised, tmp_path):
    process, base, sandbox, log = supervised
    status, body = wait_for(lambda: http_get(f"{base}/login/"), 60, "the login page")
    assert status == 200
    assert b"Sign in to syncadmin" in body
    # Static files are served by the app itself (whitenoise), not by a CDN.
    assert http_get(f"{base}/static/bootstrap/css/bootstrap.min.css")[0] == 200
    assert http_get(f"{base}/static/django_htmx/htmx-2.min.js")[0] == 200

    def workers_reported():
        return sum(len(cluster.workers) for cluster in Stat.get_all())

    assert wait_for(workers_reported, 60, "the worker cluster to report its workers") >= 1

    task_id = async_task("apps.core.tasks.worker_echo", "hello from the test")
    done = wait_for(lambda: result(task_id), 60, "the worker to run the task")
    assert done["echo"] == "hello from the test"

    zone = wait_for(
        lambda: http_get(f"{sandbox}/atservicesrest/v1.0/zoneInformation?user={SANDBOX_USER}"),
        60,
        "the Autotask sandbox",
    )
    assert zone[0] == 200
    assert json.loads(zone[1])["url"] == f"{sandbox}/ATServicesRest/"
    assert (tmp_path / "sandbox.sqlite3").exists()  # seeded into its own file

    # Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=40) == 0
    log.seek(0)
    output = log.read()
    assert "Stopped." in output
    assert "has stopped." in output  # the django-q2 cluster shut down cleanly
    assert "Sandbox stopped." in output
    assert http_get(f"{base}/login/") is None


def test_one_process_dying_stops_the_rest(tmp_path):
    process = subprocess.run(
        [*MANAGE, "supervise", "sleeper=sleep 30", "quitter=false"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 1
    assert "quitter exited with status 1; stopping the rest." in process.stderr


def test_killing_the_supervisor_outright_takes_its_children_with_it():
    child = 'python3 -c "import os, time; print(os.getpid(), flush=True); time.sleep(120)"'
    process = subprocess.Popen(
        [*MANAGE, "supervise", f"sleeper={child}"],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    line = ""
    while not line.startswith("sleeper"):
        line = process.stdout.readline()
    child_pid = int(line.split("|")[1])
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    def gone():
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return True
        return False

    assert wait_for(gone, 10, "the child to stop with its supervisor")
