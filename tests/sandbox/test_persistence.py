"""The sandbox keeps its data in its own SQLite file across restarts, and can run as
`manage.py autotask_sandbox` with its flags."""

import subprocess
import time
import urllib.request

import requests

from apps.sandbox.server import DEFAULT_CREDENTIALS, start_sandbox
from tests.conftest import MANAGE, ROOT, child_env, free_port
from tests.sandbox.helpers import EVERYTHING, UNKNOWN_USER, refused

HEADERS = {
    "UserName": DEFAULT_CREDENTIALS.username,
    "Secret": DEFAULT_CREDENTIALS.secret,
    "ApiIntegrationCode": DEFAULT_CREDENTIALS.integration_code,
}


def count(url: str, entity: str, headers=HEADERS, timeout=30) -> int:
    answer = requests.post(
        f"{url}/ATServicesRest/V1.0/{entity}/query/count",
        json=EVERYTHING,
        headers=headers,
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["queryCount"]


def test_data_survives_a_restart_with_a_file(tmp_path):
    path = tmp_path / "sandbox.sqlite3"
    server = start_sandbox(db=str(path), seed="demo")
    demo_companies = count(server.url, "Companies")
    created = requests.post(
        f"{server.url}/ATServicesRest/V1.0/Companies",
        json={"companyName": "Kept Ltd", "companyType": 1, "ownerResourceID": 1, "phone": "1"},
        headers=HEADERS,
        timeout=30,
    ).json()["itemId"]
    server.shutdown()

    again = start_sandbox(db=str(path), seed="demo")  # a file with data is not seeded again
    try:
        assert count(again.url, "Companies") == demo_companies + 1
        item = requests.get(
            f"{again.url}/ATServicesRest/V1.0/Companies/{created}", headers=HEADERS, timeout=30
        ).json()["item"]
        assert item["companyName"] == "Kept Ltd"
        newer = requests.post(
            f"{again.url}/ATServicesRest/V1.0/Companies",
            json={"companyName": "Next Ltd", "companyType": 1, "ownerResourceID": 1, "phone": "1"},
            headers=HEADERS,
            timeout=30,
        ).json()["itemId"]
        assert newer == created + 1
    finally:
        again.shutdown()


def test_memory_store_starts_from_its_seed_every_time():
    first = start_sandbox(seed="demo")
    try:
        demo = count(first.url, "Companies")
        assert 290 <= demo <= 320  # "about 300 companies"
    finally:
        first.shutdown()
    empty = start_sandbox(seed="empty")
    try:
        assert count(empty.url, "Companies") == 0
    finally:
        empty.shutdown()


def test_the_management_command_serves_with_its_flags(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [
            *MANAGE,
            "autotask_sandbox",
            "--port",
            str(port),
            "--db",
            str(tmp_path / "cli.sqlite3"),
            "--seed",
            "empty",
            "--username",
            "someone@msp.example",
            "--secret",
            "s3cret",
            "--integration-code",
            "CODE",
            "--requests-per-hour",
            "50",
        ],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline() + process.stdout.readline()
        assert f"http://127.0.0.1:{port}/ATServicesRest/V1.0" in banner
        assert "someone@msp.example" in banner
        url = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                urllib.request.urlopen(f"{url}/atservicesrest/versioninformation", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        headers = {
            "UserName": "someone@msp.example",
            "Secret": "s3cret",
            "ApiIntegrationCode": "CODE",
        }
        assert count(url, "Companies", headers) == 0
        default_user = requests.post(
            f"{url}/ATServicesRest/V1.0/Companies/query",
            json=EVERYTHING,
            headers=HEADERS,
            timeout=30,
        )
        refused(default_user, 500, UNKNOWN_USER)  # the default user is not this sandbox's user
        threshold = requests.get(
            f"{url}/ATServicesRest/V1.0/ThresholdInformation", headers=headers, timeout=30
        ).json()
        assert threshold["externalRequestThreshold"] == 50
        assert threshold["currentTimeframeRequestCount"] == 2
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
