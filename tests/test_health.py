"""/healthz tells a load balancer whether the database and the task broker answer."""

import json
import subprocess

import pytest

from tests.conftest import MANAGE, ROOT, child_env, free_port

pytestmark = pytest.mark.django_db

PROBE = (
    "import json, django; django.setup(); from django.test import Client; "
    "response = Client(HTTP_HOST='localhost').get('/healthz'); "
    "print(json.dumps({'status': response.status_code, 'body': response.json()}))"
)


def healthz_in_child(**env: str) -> dict:
    result = subprocess.run(
        [MANAGE[0], "-c", PROBE],
        cwd=ROOT,
        env={**child_env(**env), "DJANGO_SETTINGS_MODULE": "syncadmin.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert response["Cache-Control"].startswith("max-age=0")


def test_database_down_answers_503():
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    answer = healthz_in_child(DATABASE_URL=dead, REDIS_URL="")
    assert answer["status"] == 503
    assert answer["body"]["database"]["ok"] is False
    assert answer["body"]["status"] == "unavailable"


def test_broker_down_answers_503():
    answer = healthz_in_child(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert answer["status"] == 503
    assert answer["body"]["database"]["ok"] is True
    assert answer["body"]["broker"] == {"ok": False, "detail": "unreachable (ConnectionError)"}


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405
