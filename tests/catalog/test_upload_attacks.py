"""Bad uploads through HTTP: every one ends its run as failed with the command line's
sentence, removes the uploaded file, and imports nothing (issue 9, items "a bad upload",
"tracebacks", "a file name of 250+ characters", "a gzip bomb")."""

import gzip
import io
import logging
import random
import threading
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from apps.catalog.importers import source as _source
from apps.catalog.importing.runs import import_run_execute, upload_folder
from apps.catalog.models import BillingLine, ImportRun
from tests.catalog.generator import write_recon_csv
from tests.catalog.scenarios import counts, march_rows
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def recon_bytes(tmp_path) -> bytes:
    path = tmp_path / "good.csv"
    write_recon_csv(path, march_rows())
    return path.read_bytes()


def latin1(tmp_path) -> bytes:
    text = recon_bytes(tmp_path).decode()
    return text.replace("Contoso", "Müller Contoso", 1).encode("latin-1")


def utf16(tmp_path) -> bytes:
    return recon_bytes(tmp_path).decode().encode("utf-16")


def gzip_cut_in_half(tmp_path) -> bytes:
    data = gzip.compress(recon_bytes(tmp_path) * 20)
    return data[: len(data) // 2]


def xlsx(tmp_path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def random_bytes(tmp_path) -> bytes:
    return random.Random(9).randbytes(50_000)  # noqa: S311 - repeatable noise


BAD_FILES = {
    "latin1.csv": latin1,
    "utf16.csv": utf16,
    "cut.csv.gz": gzip_cut_in_half,
    "sheet.xlsx": xlsx,
    "noise.bin": random_bytes,
}


def cli_message(command: str, path: Path) -> str:
    with pytest.raises(CommandError) as refused:
        call_command(command, str(path))
    return str(refused.value)


def upload_and_run(client, url: str, field: str, name: str, data: bytes) -> ImportRun:
    response = client.post(url, {field: SimpleUploadedFile(name, data)})
    assert response.status_code == 302, response.content[:500]
    run = ImportRun.objects.latest("pk")
    return import_run_execute(run_id=run.pk)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_billing_upload_fails_with_the_command_lines_message(
    client, operator, tmp_path, name
):
    data = BAD_FILES[name](tmp_path)
    path = tmp_path / name
    path.write_bytes(data)
    expected = cli_message("import_billing", path)
    before = counts()
    sign_in(client, operator)

    run = upload_and_run(client, "/imports/new/", "files", name, data)

    assert run.status == "failed"
    assert run.error == expected
    assert counts() == before
    assert not Path(run.files[0]["path"]).parent.exists()  # the upload is removed
    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "hx-trigger" not in page  # the page stops polling
    assert expected.split(". ", 1)[1][:60] in page


def test_an_excel_price_list_fails_with_the_command_lines_message(client, operator, tmp_path):
    path = tmp_path / "prices.xlsx"
    path.write_bytes(xlsx(tmp_path))
    expected = cli_message("import_pricelist", path)
    sign_in(client, operator)

    run = upload_and_run(client, "/prices/import/", "file", path.name, path.read_bytes())

    assert (run.status, run.error) == ("failed", expected)
    assert "Excel workbook" in run.error
    assert not Path(run.files[0]["path"]).parent.exists()


def test_a_gzip_bomb_is_refused_after_a_few_mib(client, operator, monkeypatch):
    # 256 MiB of blank lines in about 256 KiB (256 gzip members of 1 MiB each, which gzip
    # readers join); the limit allows at most 200 times the compressed bytes once past
    # 16 MiB, so the file is refused long before its end.
    bomb = gzip.compress(b"\n" * (1 << 20), compresslevel=9) * 256
    assert len(bomb) < 300_000
    blocks = []
    real_read_block = _source.SourceFile._read_block

    def counting(self):
        block = real_read_block(self)
        blocks.append(len(block))
        return block

    monkeypatch.setattr(_source.SourceFile, "_read_block", counting)
    sign_in(client, operator)

    run = upload_and_run(client, "/imports/new/", "files", "usage.csv.gz", bomb)

    assert run.status == "failed"
    assert run.error == (
        "Nothing was imported. usage.csv.gz: the compressed file expands to more than 200 "
        "times its compressed size, which no Partner Center export does (a damaged or "
        "malicious archive?); nothing is read from it."
    )
    assert sum(blocks) <= 20 << 20  # stopped early: not the whole 256 MiB
    assert not BillingLine.objects.exists()


def test_a_zip_bomb_is_refused_from_its_directory():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("usage.csv", b"\n" * (64 << 20))
    buffer.seek(0)
    with pytest.raises(Exception, match="expands to more than 200 times"):
        _source.SourceFile(buffer, "usage.zip")


def test_a_file_name_of_300_characters_is_accepted_and_shortened(client, operator, tmp_path):
    sign_in(client, operator)
    name = "recon-" + "x" * 290 + ".csv"
    response = client.post(
        "/imports/new/", {"files": SimpleUploadedFile(name, recon_bytes(tmp_path))}
    )
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert len(run.files[0]["name"]) <= 200 and run.files[0]["name"].endswith(".csv")
    run = import_run_execute(run_id=run.pk)
    assert run.status == "succeeded", run.error
    assert BillingLine.objects.count() == 11


def test_a_failed_save_leaves_no_folder_behind(client, operator, monkeypatch, tmp_path):
    sign_in(client, operator)
    before = set(upload_folder().glob("*")) if upload_folder().exists() else set()

    def refuse(*args, **kwargs):
        raise OSError(36, "File name too long")

    monkeypatch.setattr("apps.catalog.importing.runs._stored_name", refuse)
    client.raise_request_exception = False
    response = client.post(
        "/imports/new/", {"files": SimpleUploadedFile("a.csv", recon_bytes(tmp_path))}
    )
    assert response.status_code == 500
    assert set(upload_folder().glob("*")) == before
    assert not ImportRun.objects.exists()


def test_an_unexpected_error_shows_a_sentence_and_logs_the_details(
    client, operator, viewer, tmp_path, monkeypatch, caplog
):
    sign_in(client, operator)
    client.post("/imports/new/", {"files": SimpleUploadedFile("a.csv", recon_bytes(tmp_path))})
    run = ImportRun.objects.get()

    def explode(*args, **kwargs):
        raise RuntimeError(f"boom in {Path(__file__).resolve()}")

    monkeypatch.setattr("apps.catalog.importing.runs.import_billing", explode)
    with caplog.at_level(logging.ERROR, logger="apps.catalog.importing.runs"):
        run = import_run_execute(run_id=run.pk)

    assert run.status == "failed"
    assert run.error == (
        "Nothing was imported: an unexpected error stopped the import. The details are in "
        f"the worker's log; tell your syncadmin administrator the import number (#{run.pk})."
    )
    assert "Traceback" in caplog.text and "boom in" in caplog.text
    sign_in(client, viewer)
    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "Traceback" not in page and "boom" not in page and "/tests/" not in page


@pytest.mark.django_db(transaction=True)
def test_two_identical_uploads_at_once_end_readable(client, operator, tmp_path):
    """Two imports of the same file run at the same moment: each ends succeeded or failed
    with a sentence, the file's lines are there once, and no page shows a traceback."""
    sign_in(client, operator)
    data = recon_bytes(tmp_path)
    for _ in range(2):
        client.post("/imports/new/", {"files": SimpleUploadedFile("same.csv", data)})
    runs = list(ImportRun.objects.order_by("pk"))
    start = threading.Barrier(2)
    results = {}

    def work(run_id):
        from django.db import connection

        start.wait()
        try:
            results[run_id] = import_run_execute(run_id=run_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(run.pk,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert {run.status for run in results.values()} <= {"succeeded", "failed"}
    assert "succeeded" in {run.status for run in results.values()}
    assert BillingLine.objects.count() == 11
    for run in results.values():
        assert "Traceback" not in run.error
        page = client.get(f"/imports/{run.pk}/").content.decode()
        assert "Traceback" not in page and 'File "' not in page
