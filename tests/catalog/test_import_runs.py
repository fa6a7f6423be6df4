"""Imports from the browser: upload, a worker task, progress, result; all or nothing.
Billing files and price lists."""

from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.models import AuditEntry
from apps.catalog.importing.runs import import_run_execute
from apps.catalog.models import (
    BillingLine,
    BillingReport,
    ImportRun,
    MicrosoftPrice,
    MspPrice,
    Subscription,
    SubscriptionMonth,
)
from tests.catalog.generator import pricelist_row, write_pricelist_csv, write_recon_csv
from tests.catalog.scenarios import counts, march_rows
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def upload(tmp_path, name: str, rows) -> SimpleUploadedFile:
    path = tmp_path / name
    write_recon_csv(path, rows)
    return SimpleUploadedFile(name, path.read_bytes(), content_type="text/csv")


def test_operator_uploads_two_files_and_the_worker_imports_them(
    client, operator, tmp_path, django_capture_on_commit_callbacks
):
    sign_in(client, operator)
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
    report = BillingReport.objects.get()
    assert run.result["report_ids"] == [report.pk]
    assert f'href="/reports/{report.pk}/"' in client.get(f"/imports/{run.pk}/").content.decode()


def test_a_bad_file_fails_the_whole_import_and_says_where(client, operator, tmp_path):
    sign_in(client, operator)
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
    failed = AuditEntry.objects.get(operation="Import Billing File", status="failed")
    assert failed.object_repr == "good.csv, bad.csv"
    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "bad.csv, line 4, column BillableQuantity" in page


def test_the_form_checks_its_input(client, operator):
    sign_in(client, operator)
    response = client.post("/imports/new/", {"month": "March"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["files"] == ["Choose at least one file."]
    assert errors["month"] == ["Write the month as YYYY-MM, e.g. 2026-03."]
    assert not ImportRun.objects.exists()


def test_viewers_see_imports_but_cannot_start_one(client, viewer, tmp_path):
    sign_in(client, viewer)
    assert client.get("/imports/").status_code == 200
    response = client.post("/imports/new/", {"files": [upload(tmp_path, "x.csv", march_rows())]})
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


# -- price lists from the browser -------------------------------------------------------

MSP_LIST = (
    "ProductId,SkuId,AvailabilityId,Term,BillingFrequency,Currency,UnitPrice\n"
    "CFQ7TTC0LDPB,0001,,P1Y,Monthly,EUR,14.90\n"
    "CFQ7TTC0LDPB,0001,,P1Y,Monthly,USD,15.50\n"
)


def price_list_upload(name: str, body: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="text/csv")


def test_operator_imports_the_msp_price_list_through_a_worker(
    client, operator, django_capture_on_commit_callbacks
):
    sign_in(client, operator)
    page = client.get("/prices/").content.decode()
    assert 'href="/prices/import/"' in page
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(
            "/prices/import/", {"file": price_list_upload("msp.csv", MSP_LIST.encode())}
        )
    run = ImportRun.objects.get()
    assert response.headers["Location"] == f"/imports/{run.pk}/"
    assert (run.kind, run.status, len(queued)) == ("price_list", "queued", 1)

    run = import_run_execute(run_id=run.pk)

    assert run.status == "succeeded", run.error
    assert run.result == {"list": "msp", "rows": 2, "prices_new": 2, "prices_changed": 0,
                          "prices_unchanged": 0, "offers_new": 1}  # fmt: skip
    assert (run.lines_read, run.lines_total) == (2, 2)
    assert sorted(MspPrice.objects.values_list("currency", "unit_price")) == [
        ("EUR", D("14.90")),
        ("USD", D("15.50")),
    ]
    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "Your price list" in page
    assert "MSP prices: 2 new, 0 changed, 0 unchanged · Offers: 1 new." in page
    assert "Price list" in client.get("/imports/").content.decode()


def test_microsoft_price_list_upload_and_its_refusals(client, operator, tmp_path):
    sign_in(client, operator)
    microsoft = write_pricelist_csv(tmp_path / "prices.csv", [pricelist_row()])
    client.post(
        "/prices/import/", {"file": price_list_upload("prices.csv", microsoft.read_bytes())}
    )
    run = import_run_execute(run_id=ImportRun.objects.get().pk)
    assert run.status == "succeeded", run.error
    assert (run.result["list"], run.result["rows"], run.result["replaced"]) == ("microsoft", 1, 0)
    assert "1 price imported, 0 replacing" in client.get(f"/imports/{run.pk}/").content.decode()

    # A bad row: nothing changes, the page names the file, line and column, and the audit
    # log has the failure.
    stored = MicrosoftPrice.objects.get()
    # Its first row would replace the stored price (same key, another price).
    rows = [pricelist_row(UnitPrice="99", **{"ERP Price": "120"}), pricelist_row(UnitPrice="cheap")]
    bad = write_pricelist_csv(tmp_path / "bad.csv", rows)
    client.post("/prices/import/", {"file": price_list_upload("bad.csv", bad.read_bytes())})
    run = import_run_execute(run_id=ImportRun.objects.latest("pk").pk)
    assert run.status == "failed"
    assert run.error.startswith("Nothing was imported. bad.csv, line 3, column UnitPrice")
    assert list(MicrosoftPrice.objects.values_list("pk", "unit_price")) == [
        (stored.pk, stored.unit_price)
    ]
    assert AuditEntry.objects.filter(
        operation="Import Microsoft Price List", status="failed"
    ).exists()

    # A billing file is not a price list.
    billing = tmp_path / "recon.csv"
    write_recon_csv(billing, march_rows())
    client.post("/prices/import/", {"file": price_list_upload("recon.csv", billing.read_bytes())})
    run = import_run_execute(run_id=ImportRun.objects.latest("pk").pk)
    assert run.status == "failed"
    assert "this is not a price list" in run.error
    assert not BillingLine.objects.exists()


def test_the_price_list_form_needs_a_file_and_an_operator(client, operator, viewer):
    sign_in(client, viewer)
    assert "/prices/import/" not in client.get("/prices/").content.decode()
    response = client.post("/prices/import/", {"file": price_list_upload("m.csv", b"x")})
    assert response.status_code == 403
    sign_in(client, operator)
    response = client.post("/prices/import/", {})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["This field is required."]
    assert not ImportRun.objects.exists()


def test_the_imports_list_filters_sorts_and_says_when_nothing_was_imported(client, viewer):
    sign_in(client, viewer)
    assert "Nothing imported yet" in client.get("/imports/").content.decode()
    files = [{"name": "recon-march.csv", "path": "", "size": 1}]
    failed = ImportRun.objects.create(status="failed", files=files, error="bad line 7")
    done = ImportRun.objects.create(status="succeeded", files=files, lines_read=11)
    price_list = ImportRun.objects.create(status="succeeded", kind="price_list", files=files)

    def shown(query: str) -> list[int]:
        return [row.record.pk for row in client.get(f"/imports/{query}").context["table"].page]

    assert shown("") == [price_list.pk, done.pk, failed.pk]  # newest first
    assert shown("?status=failed") == [failed.pk]
    assert shown("?kind=price_list") == [price_list.pk]
    assert shown("?q=line+7") == [failed.pk]
    assert shown("?sort=lines_read") == [price_list.pk, failed.pk, done.pk]  # then newest
    page = client.get("/imports/?status=cancelled").content.decode()
    assert "No imports match these filters." in page
    assert "recon-march.csv" in client.get("/imports/").content.decode()
