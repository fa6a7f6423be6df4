"""What the scale-out test needs beside the small world (tests/exports/small.py): one
sandbox server per connection, connections to them with the month's companies mapped,
qcluster processes paused and resumed, and Autotask's state without Autotask's ids."""

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from contextlib import contextmanager

import requests
from django.conf import settings
from django.db import connection as database

from apps.autotask.services import (
    connection_client,
)
from apps.sandbox.server import DEFAULT_CREDENTIALS, start_sandbox
from tests.conftest import Sandbox
from tests.exports.harness import autotask_state
from tests.exports.small import connect_small_world, map_small_world, writes_logged

REQUIRE = "REQUIRE_SCALE_OUT"


def scale_out_unavailable() -> str | None:
    """Why this database and broker cannot run the scale-out test, or None when they can:
    two qcluster processes need a broker they share (Redis) and a database that several
    processes write at once (PostgreSQL)."""
    if database.vendor != "postgresql":
        return f"needs PostgreSQL (DATABASE_URL=postgresql://...), not {database.vendor}"
    if not settings.REDIS_URL:
        return "needs Redis as the django-q broker (REDIS_URL)"
    return None


def required() -> bool:
    """CI's PostgreSQL step sets REQUIRE_SCALE_OUT=1: there a skip would hide a failure."""
    return os.environ.get(REQUIRE, "") == "1"


# -- sandboxes and connections ---------------------------------------------------------------


@contextmanager
def sandboxes(count: int):
    """``count`` sandbox servers, each on a free port and started empty (as conftest's
    ``sandbox`` fixture starts one), shut down afterwards."""
    servers, opened = [], []
    headers = {
        "UserName": DEFAULT_CREDENTIALS.username,
        "Secret": DEFAULT_CREDENTIALS.secret,
        "ApiIntegrationCode": DEFAULT_CREDENTIALS.integration_code,
    }
    try:
        for _ in range(count):
            server = start_sandbox(port=0, seed="empty")
            servers.append(server)
            session = requests.Session()
            opened.append(
                Sandbox(
                    root=server.url,
                    api=f"{server.url}/ATServicesRest/V1.0",
                    headers=headers,
                    session=session,
                )
            )
        yield opened
    finally:
        for sandbox in opened:
            sandbox.session.close()
        for server in servers:
            server.shutdown()


def connect(sandbox, name: str, *, concurrency_limit: int):
    """A connection to ``sandbox``, refreshed, with the small world's organizations mapped
    (the month is imported once, by `import_small_world`)."""
    connection = connect_small_world(sandbox, name, concurrency_limit=concurrency_limit)
    map_small_world(connection)
    return connection


# -- what Autotask holds, and what it was sent -----------------------------------------------

# Set by Autotask when a record is written: they differ between two runs of one export.
VOLATILE = frozenset({"id", "createDate", "lastModifiedDate", "lastModifiedDateTime"})


def _sorted(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def normalized_state(sandbox) -> dict:
    """Autotask's contracts, service lines, unit rows, charges, services and products,
    read over its REST API, with every Autotask id replaced by what names the record for
    a person: a contract by its number, a line by its contract and service, a service or
    a product by its name. Two exports of the same thing compare equal, whatever ids
    Autotask gave and in whatever order the writes arrived."""
    state = autotask_state(sandbox)
    names = {
        "contractID": {row["id"]: row["contractNumber"] for row in state["contracts"]},
        "serviceID": {row_id: row["name"] for row_id, row in state["services"].items()},
        "productID": {row_id: row["name"] for row_id, row in state["products"].items()},
    }
    lines = [row for rows in state["lines"].values() for row in rows]
    names["contractServiceID"] = {
        row["id"]: (names["contractID"][row["contractID"]], names["serviceID"][row["serviceID"]])
        for row in lines
    }

    def plain(row: dict) -> dict:
        return {
            field: names[field].get(value, value) if field in names else value
            for field, value in row.items()
            if field not in VOLATILE
        }

    def flat(by_contract: dict) -> list[dict]:
        return _sorted([plain(row) for rows in by_contract.values() for row in rows])

    return {
        "contracts": _sorted([plain(row) for row in state["contracts"]]),
        "lines": flat(state["lines"]),
        "units": flat(state["units"]),
        "charges": flat(state["charges"]),
        "services": _sorted([plain(row) for row in state["services"].values()]),
        "products": _sorted([plain(row) for row in state["products"].values()]),
    }


def writes_by_entity(sandbox) -> Counter:
    """How many writes of each kind the sandbox received: (method, entity) → count."""
    return Counter((entry["method"], entry["entity"]) for entry in writes_logged(sandbox))


def counters(sandbox) -> dict:
    """The sandbox's request counters (apps/sandbox/limits.py `Limits.counters`)."""
    response = sandbox.admin("GET", "/counters")
    response.raise_for_status()
    return response.json()


# -- steering work to one of two clusters ----------------------------------------------------

# django-q's Redis broker waits this long for a task (BLPOP with a 1 s timeout) before it
# asks again; a paused cluster's last wait has lapsed after it, so Redis hands a task
# queued then to the other cluster only.
BROKER_WAIT_SECONDS = 1.0


def pause_cluster(process: subprocess.Popen) -> None:
    """Freeze every process of the cluster (SIGSTOP its process group), then wait until
    its pending broker wait has lapsed: from then on it takes no new task."""
    os.killpg(process.pid, signal.SIGSTOP)
    time.sleep(BROKER_WAIT_SECONDS + 0.5)


def resume_cluster(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGCONT)


def cluster_ready(process: subprocess.Popen) -> bool:
    """The cluster has saved its status in the broker and guards its workers."""
    from django_q.conf import Conf
    from django_q.status import Stat

    return any(
        stat.pid == process.pid and stat.status in (Conf.IDLE, Conf.WORKING) and stat.pusher
        for stat in Stat.get_all()
    )


# -- a third process on the same connection ----------------------------------------------------


class Reader(threading.Thread):
    """From this process (not a worker), reads of a connection's contracts in a few
    threads until stopped: each request takes one of the connection's shared slots (the
    database limiter), like the export a worker carries out on it at the same time."""

    def __init__(self, connection, threads: int = 3):
        super().__init__(daemon=True)
        self.connection = connection
        self.threads = threads
        self.stopping = threading.Event()
        self.requests = 0
        self.errors: list[str] = []

    def run(self) -> None:
        readers = [threading.Thread(target=self._read) for _ in range(self.threads)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()

    def _read(self) -> None:
        client = connection_client(self.connection)
        try:
            while not self.stopping.is_set():
                client.count("Contracts")
                self.stopping.wait(0.3)  # room for the export between two reads
        except Exception as problem:  # reported by the test, which fails on it
            self.errors.append(repr(problem))
        finally:
            self.requests += client.requests_made
            client.close()
            database.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
