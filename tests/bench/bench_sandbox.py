"""How many simple queries per second the Autotask sandbox serves on one core.

The sandbox runs as its own process (`manage.py autotask_sandbox`, as `make run` starts
it) pinned to one core, with no latency injected and a threshold high enough never to slow
it down; the client runs on the other core with kept-alive connections.
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from apps.sandbox.server import DEFAULT_CREDENTIALS
from tests.conftest import MANAGE, ROOT, free_port

DURATION_SECONDS = 8
CLIENT_THREADS = 4
TARGET_PER_SECOND = 500


def _pin(cpu: int):
    def pin():
        if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
            os.sched_setaffinity(0, {cpu})

    return pin


def _wait_until_up(port: int) -> None:
    url = f"http://127.0.0.1:{port}/atservicesrest/versioninformation"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the sandbox did not start")


def bench_simple_queries_per_second(figure):
    port = free_port()
    server = subprocess.Popen(
        [
            *MANAGE,
            "autotask_sandbox",
            "--port",
            str(port),
            "--seed",
            "demo",
            "--requests-per-hour",
            "1000000000",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1"},
        stdout=subprocess.DEVNULL,
        preexec_fn=_pin(0),
    )
    try:
        _wait_until_up(port)
        _pin(1)()
        headers = {
            "UserName": DEFAULT_CREDENTIALS.username,
            "Secret": DEFAULT_CREDENTIALS.secret,
            "ApiIntegrationCode": DEFAULT_CREDENTIALS.integration_code,
            "Content-Type": "application/json",
        }
        latencies: list[float] = []
        errors: list[str] = []
        stop_at = time.monotonic() + DURATION_SECONDS

        def client(number: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            company = number
            while time.monotonic() < stop_at:
                company = company % 300 + 1
                body = json.dumps({"filter": [{"op": "eq", "field": "id", "value": company}]})
                started = time.perf_counter()
                connection.request("POST", "/ATServicesRest/V1.0/Companies/query", body, headers)
                response = connection.getresponse()
                payload = response.read()
                latencies.append(time.perf_counter() - started)
                if response.status != 200 or len(json.loads(payload)["items"]) != 1:
                    errors.append(f"{response.status} {payload[:200]!r}")
            connection.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENT_THREADS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert not errors, errors[:5]
    per_second = len(latencies) / elapsed
    ordered = sorted(latencies)
    figure(
        "sandbox: simple queries (id eq, 301 companies), one server core",
        per_second,
        "queries/s",
        f">= {TARGET_PER_SECOND}",
    )
    figure("sandbox: median query latency", statistics.median(ordered) * 1000, "ms")
    figure("sandbox: 95th percentile query latency", ordered[int(len(ordered) * 0.95)] * 1000, "ms")
    print(f"{per_second:.0f} queries/s with {CLIENT_THREADS} client threads", file=sys.stderr)
    assert per_second >= TARGET_PER_SECOND
