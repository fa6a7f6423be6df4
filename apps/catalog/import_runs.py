"""Imports started from the browser: files are saved, a worker imports them, the page
shows live progress and then the result."""

import shutil
import traceback
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django_q.tasks import async_task

from apps.catalog.choices import ImportRunKindChoices, ImportRunStatusChoices
from apps.catalog.importers import estimate_rows
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importing import import_billing, import_price_list
from apps.catalog.models import ImportRun
from apps.core.progress import progress_clear, progress_get, progress_set

PROGRESS_EVERY = 5000


def upload_folder() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def import_run_create(
    *, uploads, month=None, user=None, kind: str = ImportRunKindChoices.BILLING
) -> ImportRun:
    """Save the uploaded files and queue their import: billing files (all in one
    transaction) or one price list (``kind``)."""
    folder = upload_folder() / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for number, upload in enumerate(uploads, start=1):
        safe = get_valid_filename(Path(upload.name).name) or f"file-{number}"
        target = folder / f"{number:02d}-{safe}"
        with open(target, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        files.append({"name": upload.name, "path": str(target), "size": target.stat().st_size})
    with transaction.atomic():
        run = ImportRun.objects.create(kind=kind, files=files, month=month, created_by=user)
        transaction.on_commit(
            lambda: async_task(
                "apps.catalog.tasks.import_run_execute", run.pk, task_name=f"import #{run.pk}"
            )
        )
    return run


def progress_key(run_id: int) -> str:
    return f"import-{run_id}"


def import_run_progress(run: ImportRun) -> dict:
    """Lines read so far and the estimate, live while the run is going."""
    live = progress_get(progress_key(run.pk)) if run.status == "running" else None
    if live:
        return live
    return {"lines_read": run.lines_read, "lines_total": run.lines_total}


def import_run_execute(*, run_id: int) -> ImportRun:
    """Carry out a queued import. Delivered twice, it runs once."""
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportRunStatusChoices.QUEUED).update(
        status=ImportRunStatusChoices.RUNNING, started_at=timezone.now()
    )
    run = ImportRun.objects.get(pk=run_id)
    if not claimed:
        return run
    actor = run.created_by.get_username() if run.created_by else "worker"
    key = progress_key(run.pk)
    total = sum(estimate_rows(item["path"], file_name=item["name"]) or 0 for item in run.files)
    state = {"lines_read": 0, "lines_total": total}
    progress_set(key, state)

    def report(lines_read: int) -> None:
        if lines_read - state["lines_read"] >= PROGRESS_EVERY or lines_read >= total:
            state["lines_read"] = lines_read
            state["lines_total"] = max(total, lines_read)
            progress_set(key, dict(state))

    price_list = run.kind == ImportRunKindChoices.PRICE_LIST
    try:
        if price_list:
            [item] = run.files
            result = import_price_list(
                Path(item["path"]), item["name"], actor=actor, progress=report
            )
            lines = result["rows"]
        else:
            outcome = import_billing(
                [(Path(item["path"]), item["name"]) for item in run.files],
                month=run.month,
                actor=actor,
                progress=report,
            )
            result, lines = outcome.as_dict(), sum(item.lines for item in outcome.files)
    except ImportValidationError as problem:  # the import has audited it
        run.status = ImportRunStatusChoices.FAILED
        run.error = f"Nothing was imported. {problem}"
    except Exception:
        run.status = ImportRunStatusChoices.FAILED
        run.error = "Nothing was imported: an unexpected error.\n" + traceback.format_exc()
    else:
        run.status = ImportRunStatusChoices.SUCCEEDED
        run.result = result
        run.lines_read = lines
        run.lines_total = max(total, lines)
    finally:
        run.finished_at = timezone.now()
        if run.status != ImportRunStatusChoices.SUCCEEDED:
            run.lines_read = state["lines_read"]
            run.lines_total = state["lines_total"]
        run.save()
        progress_clear(key)
        if run.files:  # the uploads are not kept: the lines are in the database now
            shutil.rmtree(Path(run.files[0]["path"]).parent, ignore_errors=True)
    return run
