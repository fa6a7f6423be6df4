"""Test connection: the zone, the API version, the hourly budget and access to every entity
syncadmin uses, about a dozen Autotask calls.

From the browser the test runs on a worker. Its progress lives in Django's cache (no model:
the outcome is kept on the connection and in one audit entry; the progress matters only
while someone watches), keyed by the connection and a token the page carries. A test the
worker never takes, or whose worker dies, ends "lost" once it has shown no sign of life for
``RUN_STALE_SECONDS``, so the page always ends in words a person can act on.
"""

import logging
import re
import secrets
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from apps.audit.choices import AuditEntryStatusChoices as AuditStatus
from apps.audit.services import audit_record
from apps.autotask.choices import ConnectionTestStatusChoices as Status
from apps.autotask.errors import AutotaskError
from apps.autotask.models import Connection
from apps.autotask.services import _count_requests, connection_client, describe_failure
from apps.core.crypto import SecretUnreadable
from apps.core.health import running_clusters
from apps.core.runs import heartbeat, last_beat

logger = logging.getLogger(__name__)

# What syncadmin does with each entity, for the connection test.
NEEDED_ACCESS = [
    ("Companies", "read"),
    ("Contracts", "read and write"),
    ("ContractServices", "read and write"),
    ("ContractServiceAdjustments", "write"),
    ("ContractServiceUnits", "read"),
    ("ContractCharges", "read and write"),
    ("Services", "read and write"),
    ("Products", "read and write"),
    ("BillingCodes", "read"),
]
# The zone, the API versions and the hourly budget, then one call per entity.
STEPS = 3 + len(NEEDED_ACCESS)
# How long a test's progress is kept: long enough to come back to the page.
STATE_SECONDS = 3600
# A queued test waits for a busy worker up to this many times RUN_STALE_SECONDS, while a
# worker cluster is running; with none running it is lost after RUN_STALE_SECONDS.
BUSY_PATIENCE = 10
TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")
UNEXPECTED = (
    "An unexpected error stopped the test; the details are in the worker's log. Test again."
)


def _access(info: dict, needs: str) -> dict:
    details = info.get("info") or {}

    def allowed(can: str, user_access: str) -> bool:
        return bool(details.get(can)) and str(details.get(user_access, "All")) not in (
            "None",
            "0",
        )

    read = allowed("canQuery", "userAccessForQuery")
    write = allowed("canCreate", "userAccessForCreate")
    ok = (read or "read" not in needs) and (write or "write" not in needs)
    return {"read": read, "write": write, "ok": ok}


def connection_test(
    *, connection: Connection, user=None, on_step: Callable[[dict], None] | None = None
) -> dict:
    """Zone, API version, hourly budget use, and read/write access to every entity we use.
    ``on_step(result)`` is called after each of the ``STEPS`` steps, with the result so far."""
    result = {"ok": False, "problems": [], "entities": [], "requests": 0}
    step = on_step or (lambda result: None)
    started = time.monotonic()
    client = None
    try:
        client = connection_client(connection, max_retries=1, read_timeout=30)
        if not connection.is_sandbox:
            client.discover_zone()
        result["zone"] = client.zone_url
        step(result)
        result["api_versions"] = client.version_information()
        step(result)
        threshold = client.threshold_information()
        used = threshold.get("currentTimeframeRequestCount") or 0
        limit = threshold.get("externalRequestThreshold") or 0
        result["threshold"] = {
            "used": used,
            "limit": limit,
            "share": round(used / limit, 4) if limit else None,
        }
        step(result)
        for entity, needs in NEEDED_ACCESS:
            access = _access(client.entity_information(entity), needs)
            result["entities"].append({"entity": entity, "needs": needs, **access})
            if not access["ok"]:
                result["problems"].append(
                    f"The API user cannot {needs} {entity}: allow it in the API user's "
                    "security level in Autotask."
                )
            step(result)
        result["ok"] = not result["problems"]
    except (AutotaskError, SecretUnreadable) as problem:
        result["problems"].append(describe_failure(problem, connection))
    finally:
        if client is not None:
            result["requests"] = client.requests_made
            _count_requests(connection, client)
            client.close()
    result["seconds"] = round(time.monotonic() - started, 2)
    Connection.objects.filter(pk=connection.pk).update(
        last_test_at=timezone.now(), last_test_ok=result["ok"], last_test_result=result
    )
    audit_record(
        operation="Test Connection",
        obj=connection,
        status=AuditStatus.SUCCEEDED if result["ok"] else AuditStatus.FAILED,
        details={"problems": result["problems"], "zone": result.get("zone")},
        user=user,
        connection_name=connection.name,
    )
    return result


# -- on a worker, watched from the page -----------------------------------------------------


def _key(connection_id: int, token: str) -> str:
    return f"autotask:connection-test:{connection_id}:{token}"


def _save(state: dict, **changes) -> dict:
    """Save the test's state with `changes`; a test already ended (by its worker, or by the
    page giving up on it) stays as it ended."""
    key = _key(state["connection_id"], state["token"])
    stored = cache.get(key)
    if stored is not None and stored["finished"]:
        return stored
    state.update(changes)
    cache.set(key, state, STATE_SECONDS)
    return state


def connection_test_start(*, connection: Connection, user=None) -> str:
    """Queue a test of ``connection`` on a worker; the token names its progress."""
    token = secrets.token_urlsafe(12)
    now = time.time()
    _save(
        {"connection_id": connection.pk, "token": token},
        status=Status.QUEUED,
        done=0,
        total=STEPS,
        entities=[],
        problems=[],
        error="",
        ok=None,
        finished=False,
        queued_at=now,
        beat_at=now,
    )
    user_id = user.pk if user is not None and user.is_authenticated else None
    transaction.on_commit(
        lambda: async_task(
            "apps.autotask.tasks.connection_test_execute",
            connection.pk,
            token,
            user_id,
            task_name=f"test {connection.name}",
        )
    )
    return token


def connection_test_execute(*, connection_id: int, token: str, user_id=None) -> dict | None:
    """Carry out a queued test. One delivered twice, or given up on by the page, is not run
    (the claim is an atomic cache ``add``)."""
    key = _key(connection_id, token)
    state = cache.get(key)
    # The claim holds the time it was taken: a worker that dies before its first beat is
    # noticed by the status view all the same.
    if state is None or not cache.add(f"{key}:claim", time.time(), STATE_SECONDS):
        return None
    _save(state, status=Status.RUNNING, beat_at=time.time())
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return _save(state, status=Status.FAILED, finished=True, error="The connection is gone.")
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None

    def on_step(result: dict) -> None:
        _save(
            state,
            done=state["done"] + 1,
            entities=list(result["entities"]),
            problems=list(result["problems"]),
            beat_at=time.time(),
        )

    try:
        with heartbeat(key):
            result = connection_test(connection=connection, user=user, on_step=on_step)
    except Exception:
        logger.exception("Test of %s failed", connection.name)
        return _save(state, status=Status.FAILED, finished=True, error=UNEXPECTED)
    return _save(
        state,
        status=Status.SUCCEEDED if result["ok"] else Status.FAILED,
        ok=result["ok"],
        entities=result["entities"],
        problems=result["problems"],
        finished=True,
    )


def connection_test_status(*, connection: Connection, token: str | None) -> dict | None:
    """The progress of the test ``token`` of ``connection`` (None if unknown or expired).
    A test without a sign of life for ``RUN_STALE_SECONDS`` is ended as lost; one no
    worker has taken while worker clusters are running waits ``BUSY_PATIENCE`` times as
    long for a free worker."""
    if not token or not TOKEN.fullmatch(token):
        return None
    key = _key(connection.pk, token)
    state = cache.get(key)
    if state is None or state["finished"]:
        return state
    signs = [state["beat_at"], last_beat(key) or 0]
    if time.time() - max(signs) <= settings.RUN_STALE_SECONDS:
        return state
    waited = time.time() - state["queued_at"]
    # Nobody took it, yet workers are running: they are all busy with longer work.
    busy = (
        state["status"] == Status.QUEUED
        and cache.get(f"{key}:claim") is None
        and bool(running_clusters())
    )
    if busy and waited <= BUSY_PATIENCE * settings.RUN_STALE_SECONDS:
        return state
    claimed = state["status"] == Status.QUEUED and not cache.add(
        f"{key}:claim", time.time(), STATE_SECONDS
    )
    if claimed and time.time() - (cache.get(f"{key}:claim") or 0) <= settings.RUN_STALE_SECONDS:
        return cache.get(key)  # a worker took it a moment ago
    return _save(
        state,
        status=Status.LOST,
        finished=True,
        error=(
            f"No worker took the test within {waited:.0f} s: they are all busy with "
            "longer work. Test again later."
            if busy
            else f"No answer from the worker after {settings.RUN_STALE_SECONDS} s; "
            "is the worker running?"
        ),
    )
