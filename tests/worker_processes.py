"""Real `qcluster` processes for tests of runs whose worker dies: started with a fast
heartbeat, killed outright (SIGKILL, no handler runs), or stopped as an operator would."""

import os
import signal
import subprocess
import time

from tests.conftest import MANAGE, ROOT, child_env

STALE = 3  # seconds without a heartbeat before a run counts as interrupted


def start_cluster(**env: str) -> subprocess.Popen:
    """A qcluster in its own process group, beating every second (``env``: more settings,
    such as WORKERS)."""
    return subprocess.Popen(
        [*MANAGE, "qcluster"],
        cwd=ROOT,
        env=child_env(RUN_HEARTBEAT_SECONDS="1", RUN_STALE_SECONDS=str(STALE), **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_cluster(process: subprocess.Popen) -> None:
    """SIGKILL the whole cluster: no handler runs, nothing is cleaned up."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def stop_cluster(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # the cluster stops its own workers
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            kill_cluster(process)


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
