"""Imports started from the browser: files are saved, a worker imports them, the page
shows live progress and then the result.

A run always ends in a state a person can act on: succeeded; failed with the sentence the
command line gives (whatever step failed); cancelled; or interrupted when its worker died
(``apps/core/runs.py``), in which case it is queued again by itself once and then waits
for the Retry button. The import is one transaction, so a dead worker imported nothing.
"""

import logging
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import get_valid_filename

from apps.audit.choices import AuditEntryStatusChoices
from apps.audit.services import audit_record
from apps.catalog.choices import ImportRunKindChoices, ImportRunStatusChoices
from apps.catalog.importers import estimate_rows
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importing.billing import import_billing
from apps.catalog.models import ImportRun
from apps.catalog.prices.list_import import import_price_list
from apps.core.progress import progress_clear, progress_get, progress_set
from apps.core.runs import (
    hand_lost_tasks_again,
    hand_to_worker,
    heartbeat,
    interrupt_if_worker_lost,
)

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 5000
# Long enough for any real file name, short enough for every file system and column.
MAX_NAME_CHARS = 200
STORED_NAME_CHARS = 80


class ImportCancelled(Exception):
    """Someone pressed Cancel while the worker was importing."""


class ImportRunNotActionable(Exception):
    """The run is not in a state that allows what was asked (retry or cancel)."""


def upload_folder() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def shown_name(name: str) -> str:
    """The file's name as people see it, shortened in the middle when it is very long."""
    name = Path(name or "").name or "file"
    if len(name) <= MAX_NAME_CHARS:
        return name
    suffix = "".join(Path(name).suffixes[-2:])[-20:]
    return name[: MAX_NAME_CHARS - len(suffix) - 1] + "…" + suffix


def _stored_name(number: int, name: str) -> str:
    safe = get_valid_filename(name) or "file"
    return f"{number:02d}-{safe[-STORED_NAME_CHARS:]}"


def import_run_create(
    *, uploads, month=None, user=None, kind: str = ImportRunKindChoices.BILLING
) -> ImportRun:
    """Save the uploaded files and queue their import: billing files (all in one
    transaction) or one price list (``kind``)."""
    folder = upload_folder() / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    try:
        for number, upload in enumerate(uploads, start=1):
            name = shown_name(upload.name)
            target = folder / _stored_name(number, name)
            with open(target, "wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
            files.append({"name": name, "path": str(target), "size": target.stat().st_size})
        with transaction.atomic():
            # queued_at now: a lost on-commit hand-over is noticed like a lost task.
            run = ImportRun.objects.create(
                kind=kind, files=files, month=month, created_by=user, queued_at=timezone.now()
            )
            transaction.on_commit(lambda: _queue(run))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return run


def _queue(run: ImportRun) -> None:
    hand_to_worker(run, "apps.catalog.tasks.import_run_execute", task_name=f"import #{run.pk}")


def progress_key(run_id: int) -> str:
    return f"import-{run_id}"


def _cancel_key(run_id: int) -> str:
    return f"import-{run_id}-cancel"


def import_run_progress(run: ImportRun) -> dict:
    """Lines read so far and the estimate, live while the run is going."""
    live = (
        progress_get(progress_key(run.pk)) if run.status == ImportRunStatusChoices.RUNNING else None
    )
    if live:
        return live
    return {"lines_read": run.lines_read, "lines_total": run.lines_total}


def _remove_uploads(run: ImportRun) -> None:
    if run.files:  # the uploads are not kept: the lines are in the database now
        shutil.rmtree(Path(run.files[0]["path"]).parent, ignore_errors=True)


def import_run_execute(*, run_id: int) -> ImportRun:
    """Carry out a queued import. Delivered twice, it runs once."""
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportRunStatusChoices.QUEUED).update(
        status=ImportRunStatusChoices.RUNNING,
        started_at=timezone.now(),
        finished_at=None,
        attempts=F("attempts") + 1,
        error="",
    )
    run = ImportRun.objects.get(pk=run_id)
    if not claimed:
        return run
    key = progress_key(run.pk)
    progress_clear(_cancel_key(run.pk))
    state = {"lines_read": 0, "lines_total": 0}
    try:
        with heartbeat(key):
            result, lines = _import(run, state)
    except ImportValidationError as problem:  # the command line gives the same sentence
        run.status = ImportRunStatusChoices.FAILED
        run.error = f"Nothing was imported. {problem}"
    except ImportCancelled:
        run.status = ImportRunStatusChoices.CANCELLED
        run.error = "Cancelled during the import: nothing was imported."
    except (IntegrityError, OperationalError):
        logger.exception("Import #%s collided with another write", run.pk)
        run.status = ImportRunStatusChoices.FAILED
        run.error = (
            "Nothing was imported: another import wrote the same data at the same time. "
            "Start this import again; a file that is already imported changes nothing."
        )
    except Exception:
        logger.exception("Import #%s failed", run.pk)
        run.status = ImportRunStatusChoices.FAILED
        run.error = (
            "Nothing was imported: an unexpected error stopped the import. The details are "
            "in the worker's log; tell your syncadmin administrator the import number "
            f"(#{run.pk})."
        )
    else:
        run.status = ImportRunStatusChoices.SUCCEEDED
        run.result = result
        state.update(lines_read=lines, lines_total=max(state["lines_total"], lines))
    run.finished_at = timezone.now()
    run.lines_read = state["lines_read"]
    run.lines_total = state["lines_total"]
    # Only the worker that holds the run may end it: a run marked interrupted meanwhile
    # (this worker was thought dead) keeps that state and its own next attempt.
    ended = ImportRun.objects.filter(pk=run.pk, status=ImportRunStatusChoices.RUNNING).update(
        status=run.status,
        error=run.error,
        result=run.result,
        finished_at=run.finished_at,
        lines_read=run.lines_read,
        lines_total=run.lines_total,
    )
    progress_clear(key)
    progress_clear(_cancel_key(run.pk))
    if ended:
        _remove_uploads(run)
    run.refresh_from_db()
    return run


def _import(run: ImportRun, state: dict) -> tuple[dict, int]:
    actor = run.created_by.get_username() if run.created_by else "worker"
    key = progress_key(run.pk)
    total = sum(estimate_rows(item["path"], file_name=item["name"]) or 0 for item in run.files)
    state["lines_total"] = total
    progress_set(key, dict(state))

    def report(lines_read: int) -> None:
        if lines_read - state["lines_read"] >= PROGRESS_EVERY or lines_read >= total:
            state["lines_read"] = lines_read
            state["lines_total"] = max(total, lines_read)
            progress_set(key, dict(state))
            if progress_get(_cancel_key(run.pk)):
                raise ImportCancelled

    if run.kind == ImportRunKindChoices.PRICE_LIST:
        [item] = run.files
        result = import_price_list(Path(item["path"]), item["name"], actor=actor, progress=report)
        return result, result["rows"]
    outcome = import_billing(
        [(Path(item["path"]), item["name"]) for item in run.files],
        month=run.month,
        actor=actor,
        progress=report,
    )
    return outcome.as_dict(), sum(item.lines for item in outcome.files)


# -- runs whose worker died, retry and cancel ---------------------------------------------


def import_run_interrupt_stale(*, runs=None) -> list[ImportRun]:
    """Mark running imports whose worker died as interrupted, and queue each again by
    itself while it has automatic attempts left; hand queued ones whose task was lost to
    a worker again. Called every minute by the schedule and by the run's page, so a page
    never shows "Running" for a dead worker, nor "Queued" for a lost task."""
    if runs is None:
        runs = ImportRun.objects.all()
    handed = hand_lost_tasks_again(runs, status=ImportRunStatusChoices.QUEUED, queue=_queue)
    interrupted = []
    for run in runs.filter(status=ImportRunStatusChoices.RUNNING):
        if not interrupt_if_worker_lost(
            run,
            key=progress_key(run.pk),
            statuses=ImportRunStatusChoices,
            note="Nothing was imported.",
        ):
            continue
        run.refresh_from_db()
        audit_record(
            operation="Import Interrupted",
            obj=run,
            status=AuditEntryStatusChoices.FAILED,
            details={"attempts": run.attempts, "files": [item["name"] for item in run.files]},
        )
        if run.attempts <= settings.RUN_AUTO_RETRIES:
            run = _requeue(run, note="started again by itself")
        interrupted.append(run)
    return handed + interrupted


def _requeue(run: ImportRun, *, note: str) -> ImportRun:
    with transaction.atomic():
        requeued = ImportRun.objects.filter(
            pk=run.pk, status=ImportRunStatusChoices.INTERRUPTED
        ).update(
            status=ImportRunStatusChoices.QUEUED,
            error=f"{run.error} ({note})",
            queued_at=timezone.now(),
        )
        if requeued:
            transaction.on_commit(lambda: _queue(run))
    run.refresh_from_db()
    return run


def import_run_retry(*, run: ImportRun, user=None) -> ImportRun:
    """Queue an interrupted import again (its files were kept for this)."""
    if run.status != ImportRunStatusChoices.INTERRUPTED:
        raise ImportRunNotActionable(
            f"Import #{run.pk} is {run.get_status_display().lower()}: only an interrupted "
            "import can be retried. A failed one needs a corrected file: import it anew."
        )
    run = _requeue(run, note=f"retried by {user.get_username() if user else 'someone'}")
    audit_record(operation="Retry Import", obj=run, user=user)
    return run


def import_run_cancel(*, run: ImportRun, user=None) -> ImportRun:
    """Cancel a queued or interrupted import at once; a running one stops at its next
    progress report, and its transaction is rolled back."""
    if run.status == ImportRunStatusChoices.RUNNING:
        progress_set(_cancel_key(run.pk), {"by": user.get_username() if user else ""})
        audit_record(operation="Cancel Import", obj=run, user=user)
        return run
    cancelled = ImportRun.objects.filter(
        pk=run.pk,
        status__in=[ImportRunStatusChoices.QUEUED, ImportRunStatusChoices.INTERRUPTED],
    ).update(
        status=ImportRunStatusChoices.CANCELLED,
        error="Cancelled: nothing was imported.",
        finished_at=timezone.now(),
    )
    if not cancelled:
        raise ImportRunNotActionable(
            f"Import #{run.pk} is {run.get_status_display().lower()}: there is nothing to cancel."
        )
    _remove_uploads(run)
    audit_record(operation="Cancel Import", obj=run, user=user)
    run.refresh_from_db()
    return run
