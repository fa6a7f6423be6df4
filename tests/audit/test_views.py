"""The audit log's list and detail pages, and the request id middleware."""

import datetime as dt
import uuid

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEntry
from apps.audit.services import audit_record
from tests.audit.conftest import REQUEST_ID, at
from tests.audit.factories import AuditEntryFactory
from tests.conftest import log_in

pytestmark = pytest.mark.django_db

LIST_URL = "/audit/"


def get_page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def objects_listed(soup) -> list[str]:
    """The Object column of the table, top to bottom ([] when the empty state shows)."""
    table = soup.select_one("[data-testid=object-table]")
    if table is None:
        return []
    headers = [th.get_text(strip=True) for th in table.select("thead th")]
    column = headers.index("Object")
    return [row.select("td")[column].get_text(strip=True) for row in table.select("tbody tr")]


def test_list_shows_every_column_newest_first(signed_in, entries):
    soup = get_page(signed_in, LIST_URL)
    table = soup.select_one("[data-testid=object-table]")
    assert [th.get_text(strip=True) for th in table.select("thead th")] == [
        "Time",
        "User",
        "Context",
        "Connection",
        "Operation",
        "Object",
        "Status",
    ]
    first = [td.get_text(strip=True) for td in table.select("tbody tr")[0].select("td")]
    assert first == [
        "2025-03-05 12:00:00",
        "ada-admin",
        "Web",
        "Fabrikam PSA",
        "Change Connection",
        "Fabrikam PSA",
        "Succeeded",
    ]
    assert objects_listed(soup) == [
        "Fabrikam PSA",
        "February 2025 invoice",
        "Contoso Ltd contract",
        "Microsoft 365 E5",
        "Microsoft 365 E3",
    ]
    failed = table.select("tbody tr")[1].select_one("[data-testid=status]")
    assert failed.get_text(strip=True) == "Failed"
    assert "text-bg-danger" in failed["class"]
    # The time links to the entry.
    newest = AuditEntry.objects.get(object_repr="Fabrikam PSA")
    assert table.select("tbody tr")[0].select_one("a")["href"] == f"/audit/{newest.pk}/"
    assert soup.select_one("[data-testid=result-count]").get_text(strip=True) == "5 results"


def test_entries_at_the_same_time_are_listed_newest_id_first(signed_in):
    for text in ("first", "second", "third"):
        AuditEntryFactory(created_at=at(1), object_repr=text)
    assert objects_listed(get_page(signed_in, LIST_URL)) == ["third", "second", "first"]


def test_the_table_sorts_by_a_column(signed_in, entries):
    soup = get_page(signed_in, LIST_URL + "?sort=created_at")
    assert objects_listed(soup)[0] == "Microsoft 365 E3"
    soup = get_page(signed_in, LIST_URL + "?sort=operation")
    assert objects_listed(soup) == [
        "Fabrikam PSA",  # Change Connection
        "Microsoft 365 E3",  # Create Connection Offer Mapping
        "Microsoft 365 E5",  # Delete Connection Offer Mapping
        "Contoso Ltd contract",  # Export Contract
        "February 2025 invoice",  # Import Billing Report
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("operation=Export+Contract", ["Contoso Ltd contract"]),
        ("status=failed", ["February 2025 invoice", "Microsoft 365 E5"]),
        ("status=succeeded", ["Fabrikam PSA", "Contoso Ltd contract", "Microsoft 365 E3"]),
        ("context=worker", ["Contoso Ltd contract"]),
        ("user=OPERATOR", ["Microsoft 365 E5"]),
        ("user=ada", ["Fabrikam PSA", "February 2025 invoice"]),
        ("object=e5", ["Microsoft 365 E5"]),
        ("object=700", ["Contoso Ltd contract"]),  # the object id 7001
        ("object=contoso", ["Contoso Ltd contract"]),  # not the connection "Contoso PSA"
        ("date_from=2025-03-04", ["Fabrikam PSA", "February 2025 invoice"]),
        ("date_to=2025-03-02", ["Microsoft 365 E5", "Microsoft 365 E3"]),
        (
            "date_from=2025-03-02&date_to=2025-03-03",
            ["Contoso Ltd contract", "Microsoft 365 E5"],
        ),
        ("status=failed&context=web", ["Microsoft 365 E5"]),
        (f"request_id={REQUEST_ID}", ["Microsoft 365 E3"]),
    ],
)
def test_each_filter_narrows_the_list(signed_in, entries, query, expected):
    soup = get_page(signed_in, f"{LIST_URL}?{query}")
    assert objects_listed(soup) == expected
    # The filter form opens when a filter is set.
    assert "show" in soup.select_one("#list-filter-form")["class"]


def test_dates_are_whole_days_in_the_site_time_zone(signed_in, settings):
    settings.TIME_ZONE = "UTC"
    AuditEntryFactory(created_at=at(3, 0), object_repr="just after midnight")
    AuditEntryFactory(
        created_at=dt.datetime(2025, 3, 3, 23, 59, 59, tzinfo=dt.UTC), object_repr="late"
    )
    AuditEntryFactory(created_at=at(4, 0), object_repr="next day")

    soup = get_page(signed_in, f"{LIST_URL}?date_from=2025-03-03&date_to=2025-03-03")
    assert objects_listed(soup) == ["late", "just after midnight"]


def test_the_operation_filter_offers_the_operations_that_have_entries(signed_in, entries):
    soup = get_page(signed_in, LIST_URL)
    options = [
        option.get_text(strip=True) for option in soup.select("select[name=operation] option")
    ]
    assert options == [
        "Any operation",
        "Change Connection",
        "Create Connection Offer Mapping",
        "Delete Connection Offer Mapping",
        "Export Contract",
        "Import Billing Report",
    ]
    assert "show" not in soup.select_one("#list-filter-form")["class"]


def test_an_unknown_operation_lists_nothing_and_says_why(signed_in, entries):
    soup = get_page(signed_in, LIST_URL + "?operation=Launch+Rocket")
    assert objects_listed(soup) == []
    assert "Select a valid choice" in soup.select_one("#list-filter-form").get_text()


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("fabrikam", ["Fabrikam PSA", "Contoso Ltd contract"]),  # connection and object
        ("MAPPING", ["Microsoft 365 E5", "Microsoft 365 E3"]),  # operation
        ("scheduler", ["Contoso Ltd contract"]),  # user
        ("invoice", ["February 2025 invoice"]),  # object
        ("mapping e5", ["Microsoft 365 E5"]),  # every word must match
    ],
)
def test_quick_search(signed_in, entries, q, expected):
    soup = get_page(signed_in, f"{LIST_URL}?q={q.replace(' ', '+')}")
    assert objects_listed(soup) == expected
    assert soup.select_one("[data-testid=quick-search]")["value"] == q


def test_nothing_found_shows_the_empty_state(signed_in, entries):
    soup = get_page(signed_in, LIST_URL + "?q=no-such-thing")
    assert soup.select_one("[data-testid=object-table]") is None
    empty = soup.select_one("[data-testid=empty-state]")
    assert empty.p.get_text(strip=True) == "No audit entries match these filters."
    assert empty.a["href"] == LIST_URL


def test_fifty_entries_a_page(signed_in):
    for day in range(1, 61):
        AuditEntryFactory(
            created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day),
            object_repr=f"Offer {day:02}",
        )

    first = get_page(signed_in, LIST_URL)
    listed = objects_listed(first)
    assert len(listed) == 50
    assert (listed[0], listed[-1]) == ("Offer 60", "Offer 11")
    assert first.select_one("[data-testid=result-count]").get_text(" ", strip=True) == (
        "60 results, page 1 of 2"
    )
    assert first.select_one(".pagination .next a")["href"] == "?page=2"

    second = get_page(signed_in, LIST_URL + "?page=2")
    assert objects_listed(second) == [f"Offer {day:02}" for day in range(10, 0, -1)]


def test_a_page_costs_the_same_queries_for_5_and_for_60_entries(signed_in, viewer):
    def queries_for_list_page() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            rows = len(objects_listed(get_page(signed_in, LIST_URL)))
        return rows, len(queries)

    for number in range(5):
        audit_record(operation=f"Operation {number}", object_repr=f"Offer {number}", user=viewer)
    rows_for_5, queries_for_5 = queries_for_list_page()
    for number in range(5, 60):
        audit_record(operation=f"Operation {number}", object_repr=f"Offer {number}", user=viewer)
    rows_for_60, queries_for_60 = queries_for_list_page()

    assert (rows_for_5, rows_for_60) == (5, 50)
    assert queries_for_5 == queries_for_60


def diff_rows(soup) -> list[dict]:
    """The difference table's rows, top to bottom: key, change, and each side's text and
    whether it is marked."""
    found = []
    for row in soup.select("[data-testid=diff-table] tbody tr[data-change]"):
        cells = {cell["data-side"]: cell for cell in row.select("td[data-side]")}
        found.append(
            {
                "key": row.th.code.get_text(strip=True),
                "change": row["data-change"],
                **{side: cell.get_text(strip=True) for side, cell in cells.items()},
                "marked": sorted(
                    side
                    for side, cell in cells.items()
                    if {"table-danger", "table-success"} & set(cell.get("class", []))
                ),
                "dimmed": all(
                    "text-body-secondary" in cell.get("class", [])
                    for cell in [row.th, *cells.values()]
                ),
            }
        )
    return found


def diff_headers(soup) -> list[str]:
    return [th.get_text(strip=True) for th in soup.select("[data-testid=diff-table] thead th")]


def test_detail_shows_the_entry_the_difference_and_details(signed_in):
    entry = audit_record(
        operation="Update Connection Offer Mapping",
        object_type="mappings.offermapping",
        object_id=12,
        object_repr="Microsoft 365 E3 → Office 365 E3",
        before={"service_id": 301, "note": "old", "period": 2, "retired": True},
        after={
            "service_id": 302,
            "note": "old",
            "period": 2,
            "unit": {"cost": "0.00", "zones": ["eu"]},
        },
        details={"autotask_ids": [29683812]},
        actor_name="otto-operator",
        connection_name="Contoso PSA",
        status="failed",
    )

    soup = get_page(signed_in, f"/audit/{entry.pk}/")
    assert soup.h1.get_text(strip=True) == "Update Connection Offer Mapping"
    fields = soup.select_one("[data-testid=entry-fields]")
    labels = [dt_tag.get_text(strip=True) for dt_tag in fields.select("dt")]
    values = [dd.get_text(" ", strip=True) for dd in fields.select("dd")]
    assert dict(zip(labels, values, strict=True)) == {
        "Time": entry.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "User": "otto-operator",
        "Context": "System",
        "Connection": "Contoso PSA",
        "Object": "Microsoft 365 E3 → Office 365 E3 mappings.offermapping #12",
        "Request id": "—",
    }
    assert soup.select_one("[data-testid=status]").get_text(strip=True) == "Failed"

    assert soup.select_one("[data-testid=diff]")["data-kind"] == "updated"
    assert diff_headers(soup) == ["Field", "Before", "After"]
    # Changed keys first (highlighted, named), then the unchanged ones, dimmed.
    assert diff_rows(soup) == [
        {"key": "retired", "change": "removed", "before": "true", "after": "—",
         "marked": ["before"], "dimmed": False},
        {"key": "service_id", "change": "changed", "before": "301", "after": "302",
         "marked": ["after", "before"], "dimmed": False},
        {"key": "unit", "change": "added", "before": "—",
         "after": '{"cost": "0.00", "zones": ["eu"]}', "marked": ["after"], "dimmed": False},
        {"key": "note", "change": "unchanged", "before": "old", "after": "old",
         "marked": [], "dimmed": True},
        {"key": "period", "change": "unchanged", "before": "2", "after": "2",
         "marked": [], "dimmed": True},
    ]  # fmt: skip
    badges = [badge.get_text(strip=True) for badge in soup.select("[data-testid=diff-change]")]
    assert badges == ["removed", "changed", "added"]
    # The unchanged rows are collapsed behind a Bootstrap toggle (no script of our own).
    unchanged = soup.select_one("[data-testid=diff-unchanged]")
    assert unchanged["class"] == ["collapse"]
    assert len(unchanged.select("tr")) == 2
    toggle = soup.select_one("[data-testid=diff-unchanged-toggle]")
    assert toggle.get_text(strip=True) == "2 unchanged fields"
    assert (toggle["data-bs-toggle"], toggle["data-bs-target"]) == ("collapse", "#diff-unchanged")

    assert soup.select_one("[data-testid=json-details]").get_text() == (
        '{\n  "autotask_ids": [\n    29683812\n  ]\n}'
    )
    # The stored JSON stays readable, folded away.
    assert soup.select_one("[data-testid=json-before]").get_text() == (
        '{\n  "note": "old",\n  "period": 2,\n  "retired": true,\n  "service_id": 301\n}'
    )
    assert soup.select_one("[data-testid=json-before]").find_parent("details") is not None


def test_detail_of_a_created_object_shows_only_after(signed_in):
    entry = audit_record(
        operation="Create Connection Customer Mapping",
        object_repr="Contoso Ltd → Contoso",
        after={"company_id": 29683812, "organization": "Contoso Ltd"},
    )
    soup = get_page(signed_in, f"/audit/{entry.pk}/")

    assert soup.select_one("[data-testid=diff]")["data-kind"] == "created"
    assert diff_headers(soup) == ["Field", "After"]
    assert [(row["key"], row["after"]) for row in diff_rows(soup)] == [
        ("company_id", "29683812"),
        ("organization", "Contoso Ltd"),
    ]
    assert "before" not in diff_rows(soup)[0]
    assert soup.select_one("[data-testid=diff-unchanged-toggle]") is None
    assert soup.select_one("[data-testid=diff-change]") is None


def test_detail_of_a_deleted_object_shows_only_before(signed_in):
    entry = audit_record(
        operation="Delete Connection Customer Mapping",
        object_repr="Contoso Ltd → Contoso",
        before={"company_id": 29683812, "settings": {"zones": ["eu", "us"]}},
    )
    soup = get_page(signed_in, f"/audit/{entry.pk}/")

    assert soup.select_one("[data-testid=diff]")["data-kind"] == "deleted"
    assert diff_headers(soup) == ["Field", "Before"]
    assert [(row["key"], row["before"]) for row in diff_rows(soup)] == [
        ("company_id", "29683812"),
        ("settings", '{"zones": ["eu", "us"]}'),
    ]
    assert "after" not in diff_rows(soup)[0]


def test_detail_of_a_failed_change_that_changed_nothing(signed_in):
    entry = audit_record(
        operation="Update Connection Offer Mapping",
        before={"service_id": 301},
        after={"service_id": 301},
        status="failed",
    )
    soup = get_page(signed_in, f"/audit/{entry.pk}/")

    assert soup.select_one("[data-testid=diff-nothing-changed]").get_text(strip=True) == (
        "No field changed."
    )
    assert [row["key"] for row in diff_rows(soup)] == ["service_id"]
    assert diff_rows(soup)[0]["dimmed"]


def test_detail_of_an_entry_without_data(signed_in):
    entry = audit_record(operation="Import Billing Report", object_repr="March 2025")
    soup = get_page(signed_in, f"/audit/{entry.pk}/")
    for slug in ("before", "after", "details"):
        assert soup.select_one(f"[data-testid=json-{slug}]").get_text(strip=True) == "None"
    assert soup.select_one("[data-testid=diff-table]") is None
    assert soup.select_one("[data-testid=diff-empty]").get_text(strip=True) == (
        "No before or after was recorded."
    )


def test_detail_of_a_missing_entry_is_404(signed_in):
    assert signed_in.get("/audit/999999/").status_code == 404


@pytest.mark.urls("tests.audit.urls")
def test_entries_recorded_during_a_request_carry_its_id(signed_in, viewer):
    response = signed_in.get("/test-audit/record/")
    assert response.status_code == 200
    request_id = response.wsgi_request.audit_request_id
    assert isinstance(request_id, uuid.UUID)
    first, second = (AuditEntry.objects.get(pk=pk) for pk in response.json()["entries"])
    for entry in (first, second):
        assert (entry.request_id, entry.context) == (request_id, "web")
        assert (entry.actor, entry.actor_name) == (viewer, "vera-viewer")

    again = signed_in.get("/test-audit/record/")
    assert again.wsgi_request.audit_request_id != request_id
    assert AuditEntry.objects.get(pk=again.json()["entries"][0]).request_id == (
        again.wsgi_request.audit_request_id
    )

    # After the request the context is gone.
    outside = audit_record(operation="Import Billing Report")
    assert (outside.request_id, outside.context, outside.actor) == (None, "system", None)


def test_viewer_reads_anonymous_is_sent_to_sign_in_no_role_is_refused(client, viewer, make_user):
    entry = AuditEntryFactory()
    detail = f"/audit/{entry.pk}/"

    for url in (LIST_URL, detail):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/login/?next={url}"

    make_user("nora-norole", None)
    assert log_in(client, "nora-norole")
    assert client.get(LIST_URL).status_code == 403
    assert client.get(detail).status_code == 403

    assert log_in(client, viewer.username)
    assert client.get(LIST_URL).status_code == 200
    assert client.get(detail).status_code == 200


def test_the_navigation_links_to_the_audit_log(signed_in):
    soup = get_page(signed_in, LIST_URL)
    link = soup.select_one("[data-testid=main-nav] a.nav-link.active")
    assert (link.get_text(strip=True), link["href"]) == ("Audit log", LIST_URL)


def test_the_list_and_a_detail_with_a_difference_need_no_inline_code(signed_in, entries):
    """The Content-Security-Policy allows no inline script or style (tests/test_csp.py)."""
    from tests.test_csp import inline_code

    entry = audit_record(
        operation="Update Markup Rule",
        before={"percent": "5", "record_type": "azure_plan", "gone": 1},
        after={"percent": "10", "record_type": "azure_plan", "nested": {"a": [1]}},
    )
    for url in (LIST_URL + "?status=failed", f"/audit/{entry.pk}/"):
        assert inline_code(signed_in.get(url).content) == [], url
