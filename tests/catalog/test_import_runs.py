"""Imports from the browser: upload, a worker task, progress, result; all or nothing."""

from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.catalog.import_runs import import_run_execute
from apps.catalog.models import BillingLine, ImportRun, Subscription, SubscriptionMonth
from tests.catalog.generator import write_recon_csv
from tests.catalog.test_importing import counts, march_rows
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def upload(tmp_path, name: str, rows) -> SimpleUploadedFile:
    path = tmp_path / name
    write_recon_csv(path, rows)
    return SimpleUploadedFile(name, path.read_bytes(), content_type="text/csv")


def signed_in(client, user):
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def test_operator_uploads_two_files_and_the_worker_imports_them(
    client, operator, tmp_path, django_capture_on_commit_callbacks
):
    signed_in(client, operator)
    rows = march_rows()
    first = upload(tmp_path, "recon-part-1.csv", rows[:5])
    other = [{**row, "InvoiceNumber": "G000000002"} for row in rows[5:]]
    second = upload(tmp_path, "recon-part-2.csv", other)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post("/imports/new/", {"files": [first, second], "month": "2022-03"})
    run = ImportRun.objects.get()
    assert response.headers["Location"] == f"/imports/{run.pk}/"
    assert run.status == "queued"
    assert len(queued) == 1  # the task is queued once the run row is committed
    assert [item["name"] for item in run.files] == ["recon-part-1.csv", "recon-part-2.csv"]

    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "Waiting for a worker." in page

    run = import_run_execute(run_id=run.pk)
    assert run.status == "succeeded", run.error
    assert (run.lines_read, run.lines_total) == (11, 11)
    assert run.result["totals_by_record_type"] == {"license_based": "275.23"}
    assert SubscriptionMonth.objects.get().total_cost == D("275.23")
    assert Subscription.objects.get().quantity == D("30")
    # A second delivery of the same task does nothing.
    assert import_run_execute(run_id=run.pk).status == "succeeded"
    assert BillingLine.objects.count() == 11


def test_a_bad_file_fails_the_whole_import_and_says_where(client, operator, tmp_path):
    signed_in(client, operator)
    rows = march_rows()
    rows[2]["BillableQuantity"] = "lots"
    good = upload(tmp_path, "good.csv", march_rows())
    bad = upload(tmp_path, "bad.csv", rows)
    client.post("/imports/new/", {"files": [good, bad]})
    run = ImportRun.objects.get()
    before = counts()
    run = import_run_execute(run_id=run.pk)
    assert run.status == "failed"
    assert run.error.startswith("Nothing was imported. bad.csv, line 4, column BillableQuantity")
    assert counts() == before
    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "bad.csv, line 4, column BillableQuantity" in page


def test_the_form_checks_its_input(client, operator):
    signed_in(client, operator)
    response = client.post("/imports/new/", {"month": "March"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["files"] == ["Choose at least one file."]
    assert errors["month"] == ["Write the month as YYYY-MM, e.g. 2026-03."]
    assert not ImportRun.objects.exists()


def test_viewers_see_imports_but_cannot_start_one(client, viewer, tmp_path):
    signed_in(client, viewer)
    assert client.get("/imports/").status_code == 200
    response = client.post("/imports/new/", {"files": [upload(tmp_path, "x.csv", march_rows())]})
    assert response.status_code == 403
    assert not ImportRun.objects.exists()
