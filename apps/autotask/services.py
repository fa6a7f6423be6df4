"""Writes for connections: create and change them, say what a failure means, and refresh
their reference data (the connection test is in `connection_test.py`)."""

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule

from apps.audit.services import audit_record
from apps.autotask.choices import RefreshRunKindChoices, RefreshRunStatusChoices
from apps.autotask.client import AutotaskClient
from apps.autotask.config import ClientConfig
from apps.autotask.errors import (
    AutotaskAuthError,
    AutotaskError,
    AutotaskInsecureUrl,
    AutotaskNotFound,
    AutotaskThrottled,
    AutotaskUnavailable,
)
from apps.autotask.limiter import DatabaseLimiter
from apps.autotask.markups import connection_default_markups, connection_default_markups_set
from apps.autotask.models import EDITABLE_FIELDS, Connection, RefreshRun, http_hosts_allowed
from apps.autotask.refresh import refresh_reference_data
from apps.core.crypto import SecretUnreadable
from apps.core.runs import (
    hand_lost_tasks_again,
    hand_to_worker,
    heartbeat,
    interrupt_if_worker_lost,
)
from apps.sandbox.credentials import DEFAULT_CREDENTIALS

logger = logging.getLogger(__name__)

SANDBOX_URL = "http://127.0.0.1:8765"
FULL_REFRESH_EVERY = dt.timedelta(hours=24)
BUSY_RETRY_SECONDS = 15 * 60  # a deferred run found another refresh active
COLUMNS_AUDITED = [*EDITABLE_FIELDS, "is_sandbox", "zone_url"]  # the connection's own columns
AUDITED_FIELDS = [*COLUMNS_AUDITED, "default_markups"]


def connection_snapshot(connection: Connection) -> dict:
    """What the audit log keeps of a connection: everything but the secret; the default
    markups (rows of their own) as one dict, record type → percent as text."""
    snapshot = {name: getattr(connection, name) for name in COLUMNS_AUDITED}
    markups = connection_default_markups(connection=connection)
    snapshot["default_markups"] = {name: str(percent) for name, percent in markups.items()}
    return snapshot


def connection_client(connection: Connection, **config) -> AutotaskClient:
    """A client for this connection, sharing its concurrency limit with every process."""

    def remember_zone(zone_url: str) -> None:
        Connection.objects.filter(pk=connection.pk).update(
            zone_url=zone_url, zone_discovered_at=timezone.now()
        )
        connection.zone_url = zone_url

    config = {"backoff_base": settings.AUTOTASK_BACKOFF_BASE_MS / 1000, **config}
    client_config = ClientConfig(
        username=connection.username,
        secret=connection.secret(),
        integration_code=connection.integration_code,
        discovery_url=connection.api_root_url,
        zone_url=connection.zone_url or None,
        impersonation_resource_id=connection.impersonation_resource_id,
        https_only=not connection.is_sandbox,
        http_hosts=http_hosts_allowed(),
        **config,
    )
    return AutotaskClient(
        client_config,
        limiter=DatabaseLimiter(
            connection.pk,
            connection.concurrency_limit,
            lease_seconds=settings.AUTOTASK_SLOT_LEASE_SECONDS,
        ),
        on_zone_change=remember_zone,
    )


def _count_requests(connection: Connection, client: AutotaskClient) -> None:
    if client.requests_made:
        Connection.objects.filter(pk=connection.pk).update(
            requests_total=F("requests_total") + client.requests_made
        )


# -- create and change --------------------------------------------------------------------


@transaction.atomic
def connection_create(
    *,
    name: str,
    username: str,
    integration_code: str,
    secret: str,
    api_root_url: str | None = None,
    is_sandbox: bool = False,
    zone_url: str = "",
    user=None,
    **options,
) -> Connection:
    connection = Connection(
        name=name,
        username=username,
        integration_code=integration_code,
        is_sandbox=is_sandbox,
        zone_url=zone_url,
        **({"api_root_url": api_root_url} if api_root_url else {}),
        **options,
    )
    connection.set_secret(secret)
    connection.full_clean()
    connection.save()
    audit_record(
        operation="Create Connection",
        obj=connection,
        after=connection_snapshot(connection),
        user=user,
        connection_name=connection.name,
    )
    return connection


def connection_create_sandbox(*, name: str = "Sandbox", url: str = SANDBOX_URL, user=None):
    """A connection to the built-in sandbox, with its demo credentials (from
    `apps.sandbox.credentials`, never the sandbox's server) and a fixed zone."""
    root = url.rstrip("/")
    return connection_create(
        name=name,
        username=DEFAULT_CREDENTIALS.username,
        integration_code=DEFAULT_CREDENTIALS.integration_code,
        secret=DEFAULT_CREDENTIALS.secret,
        api_root_url=f"{root}/atservicesrest/",
        zone_url=f"{root}/ATServicesRest/",
        is_sandbox=True,
        user=user,
    )


SECRET_AGAIN = (
    "The address changed, so the secret would be sent somewhere new: enter the secret "  # noqa: S105
    "again to confirm it belongs there."
)


@transaction.atomic
def connection_update(
    *, connection: Connection, user=None, secret: str = "", **changes
) -> Connection:
    """Change a connection's settings. Changing where the secret is sent (the API root
    URL) needs the secret entered again; the discovered zone is then found anew."""
    before = connection_snapshot(connection)
    markups = changes.pop("default_markups", None)
    for name, value in changes.items():
        if name not in AUDITED_FIELDS:
            raise ValueError(f"{name} cannot be changed here")
        setattr(connection, name, value)
    moved = connection.api_root_url != before["api_root_url"]
    if moved and not secret:
        raise ValidationError({"secret": SECRET_AGAIN})
    if moved or connection.username != before["username"]:
        connection.zone_url = "" if not connection.is_sandbox else connection.zone_url
        connection.zone_discovered_at = None
    if secret:
        connection.set_secret(secret)
    connection.full_clean()
    connection.save()
    if markups is not None:
        connection_default_markups_set(connection=connection, markups=markups)
    audit_record(
        operation="Change Connection",
        obj=connection,
        before=before,
        after=connection_snapshot(connection),
        details={"replaced": ["secret"]} if secret else None,
        user=user,
        connection_name=connection.name,
    )
    return connection


@transaction.atomic
def connection_change_secret(*, connection: Connection, secret: str, user=None) -> None:
    """Replace the secret. The audit entry says it changed, never what it is."""
    if not secret:
        raise ValueError("The new secret is empty.")
    connection.set_secret(secret)
    connection.save(update_fields=["secret_encrypted", "updated_at"])
    audit_record(
        operation="Change Connection Secret",
        obj=connection,
        details={"changed": True},
        user=user,
        connection_name=connection.name,
    )


@transaction.atomic
def connection_delete(*, connection: Connection, user=None) -> None:
    snapshot = connection_snapshot(connection)
    name = connection.name
    audit_record(
        operation="Delete Connection",
        obj=connection,
        before=snapshot,
        user=user,
        connection_name=name,
    )
    connection.delete()


# -- failures in words --------------------------------------------------------------------


def describe_failure(problem: Exception, connection: Connection) -> str:
    """An Autotask failure in words an MSP's staff can act on."""
    text = str(problem)
    lowered = text.lower()
    if isinstance(problem, SecretUnreadable | AutotaskInsecureUrl):
        return text
    if isinstance(problem, AutotaskAuthError):
        if problem.status == 401:
            return (
                f"Autotask refused the secret for the API user {connection.username}: check "
                "the secret (it is case-sensitive) or change it on this connection."
            )
        if "zone information could not be determined" in lowered or "user name" in lowered:
            return (
                f"Autotask does not know the API user name {connection.username}: check the "
                "user name (the API user's e-mail address)."
            )
        if "integration code" in lowered:
            return (
                "Autotask does not accept the integration code (API tracking identifier): "
                "check it under Admin > Extensions & Integrations."
            )
        if "license" in lowered or "security level" in lowered:
            return (
                f"{connection.username} is not an API user: give it the 'API User (API-only)' "
                "security level in Autotask."
            )
        return f"Autotask refused the credentials: {text}"
    if isinstance(problem, AutotaskThrottled):
        return (
            f"Autotask is throttling this integration ({text}). syncadmin will try again "
            "later; nothing is lost."
        )
    if isinstance(problem, AutotaskUnavailable):
        if "did not answer" in lowered:
            return f"Autotask timed out: {text} Try again in a few minutes."
        return (
            f"Could not reach Autotask at {connection.zone_url or connection.api_root_url}: {text}"
        )
    if isinstance(problem, AutotaskNotFound):
        return (
            f"Autotask has no API at {connection.zone_url or connection.api_root_url}: the "
            "zone or URL is wrong. Test again to find the zone anew."
        )
    if isinstance(problem, AutotaskError):
        return f"Autotask refused the request: {text}"
    return f"Unexpected error: {text}"


# -- refresh ------------------------------------------------------------------------------


class RefreshAlreadyRunning(Exception):
    """A refresh of this connection is queued or running already."""


def refresh_run_create(*, connection: Connection, full: bool, user=None) -> RefreshRun:
    """Queue a refresh; refuse while another refresh of the same connection is active (the
    database does: `refresh_run_one_active_per_connection`, so two requests at once cannot
    both pass)."""
    refresh_run_interrupt_stale(runs=RefreshRun.objects.filter(connection=connection))
    kind = RefreshRunKindChoices.FULL if full else RefreshRunKindChoices.INCREMENTAL
    try:
        with transaction.atomic():  # a savepoint: a caller's transaction goes on
            run = RefreshRun.objects.create(
                connection=connection, kind=kind, requested_by=user, queued_at=timezone.now()
            )
    except IntegrityError:
        raise RefreshAlreadyRunning(
            f"A refresh of {connection.name} is already queued or running."
        ) from None
    transaction.on_commit(lambda: _queue(run))
    return run


def _queue(run: RefreshRun) -> None:
    hand_to_worker(
        run,
        "apps.autotask.tasks.connection_refresh",
        task_name=f"refresh {run.connection.name} #{run.pk}",
    )


def _claim(run_id: int) -> bool:
    """Start a queued run, or a deferred one whose time has come, once. A deferred one
    waits again while another refresh of its connection is active (the database refuses a
    second). A task arriving before a deferred run's time (a second delivery of the task
    that queued it) leaves the run to its schedule."""
    statuses = [RefreshRunStatusChoices.QUEUED]
    resume_pending = Schedule.objects.filter(
        name=_resume_name(run_id), next_run__gt=timezone.now()
    ).exclude(repeats=0)
    if not resume_pending.exists():
        statuses.append(RefreshRunStatusChoices.DEFERRED)
    try:
        with transaction.atomic():
            return bool(
                RefreshRun.objects.filter(pk=run_id, status__in=statuses).update(
                    status=RefreshRunStatusChoices.RUNNING, started_at=timezone.now(), error=""
                )
            )
    except IntegrityError:
        _retry_later(RefreshRun.objects.get(pk=run_id), BUSY_RETRY_SECONDS)
        return False


def refresh_run_execute(*, run_id: int) -> RefreshRun:
    """Carry out a queued refresh. A run delivered twice is carried out once."""
    if not _claim(run_id):
        return RefreshRun.objects.get(pk=run_id)
    run = RefreshRun.objects.select_related("connection").get(pk=run_id)
    connection = run.connection
    client = None
    try:
        client = connection_client(connection)
        with heartbeat(_refresh_key(run.pk)):
            outcome = refresh_reference_data(
                connection, client, full=run.kind == RefreshRunKindChoices.FULL
            )
        watermarks = outcome.watermarks
        if run.kind == RefreshRunKindChoices.FULL:
            watermarks["full_at"] = timezone.now().isoformat()
        Connection.objects.filter(pk=connection.pk).update(refresh_watermarks=watermarks)
        run.counts = outcome.counts
        run.status = RefreshRunStatusChoices.SUCCEEDED
    except AutotaskThrottled as problem:
        run.status = RefreshRunStatusChoices.DEFERRED
        run.error = describe_failure(problem, connection)
        _retry_later(run, problem.retry_after or 15 * 60)
    except (AutotaskError, SecretUnreadable) as problem:
        run.status = RefreshRunStatusChoices.FAILED
        run.error = describe_failure(problem, connection)
    except Exception:
        logger.exception("Refresh of %s failed", connection.name)
        run.status = RefreshRunStatusChoices.FAILED
        run.error = (
            "An unexpected error stopped the refresh; the details are in the worker's log. "
            "What was read before it is kept; refresh again."
        )
    finally:
        if client is not None:
            run.requests = client.requests_made
            _count_requests(connection, client)
            client.close()
        run.finished_at = timezone.now()
        run.save()
    return run


def _refresh_key(run_id: int) -> str:
    return f"refresh-{run_id}"


def refresh_run_interrupt_stale(*, runs=None) -> list[RefreshRun]:
    """Refreshes whose worker died (no heartbeat, apps/core/runs.py) are marked
    interrupted, so the Refresh button and the hourly schedule start a new one (a refresh
    only upserts rows: what the dead worker read is kept, nothing is half-written).
    Queued ones whose task was lost are handed to a worker again: one left queued would
    keep every later refresh of its connection out."""
    if runs is None:
        runs = RefreshRun.objects.all()
    found = hand_lost_tasks_again(
        runs.select_related("connection"), status=RefreshRunStatusChoices.QUEUED, queue=_queue
    )
    for run in runs.filter(status=RefreshRunStatusChoices.RUNNING):
        if interrupt_if_worker_lost(
            run,
            key=_refresh_key(run.pk),
            statuses=RefreshRunStatusChoices,
            note="Refresh again; the hourly schedule does so by itself.",
        ):
            found.append(run)
    return found


def _resume_name(run_id: int) -> str:
    return f"autotask: resume refresh #{run_id}"


def _retry_later(run: RefreshRun, seconds: float) -> None:
    Schedule.objects.update_or_create(
        name=_resume_name(run.pk),
        defaults={
            "func": "apps.autotask.tasks.connection_refresh",
            "args": repr((run.pk,)),
            "schedule_type": Schedule.ONCE,
            "repeats": 1,
            "next_run": timezone.now() + dt.timedelta(seconds=seconds),
        },
    )


def connection_refresh_due() -> list[RefreshRun]:
    """The hourly schedule: an incremental refresh of every connection, full once a day."""
    refresh_run_interrupt_stale()
    runs = []
    for connection in Connection.objects.all():
        full_at = (connection.refresh_watermarks or {}).get("full_at")
        full = not full_at or (
            timezone.now() - dt.datetime.fromisoformat(full_at) > FULL_REFRESH_EVERY
        )
        try:
            runs.append(refresh_run_create(connection=connection, full=full))
        except RefreshAlreadyRunning:
            continue
    return runs
