"""The export pages (issue 12): preview, confirm, progress, the plan by organization,
retry, continue, cancel, the dashboard, and what Viewers may not do. Runs are carried
out here in the test's process (`export_run_execute`), as a worker would; the browser
test does the same with a real worker."""

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from apps.autotask.models import AutotaskCompany, AutotaskService
from apps.autotask.services import connection_client
from apps.catalog.models import BillingReport, Offer, Organization, Subscription
from apps.exports.execution import export_run_execute
from apps.exports.models import ExportItem, ExportOperation, ExportRun
from apps.exports.planning import plan_for, store_plan
from apps.exports.queueing import export_run_create
from apps.mappings.models import OfferMapping
from apps.mappings.services import organization_mapping_set
from tests.conftest import sign_in
from tests.exports.small import FIRST_EXPORT_WRITES, SUBSCRIPTIONS, small_world, writes_logged

pytestmark = pytest.mark.django_db
CONTOSO = "196e2273-9651-43a3-ba7e-7cbcd918fc40"
TAILSPIN = "3b2e7d4f-2e3c-4d6e-9f0a-1b2c3d4e5f60"


@pytest.fixture
def world(sandbox, tmp_path):
    return small_world(sandbox, tmp_path)


@pytest.fixture
def as_operator(client, operator):
    return sign_in(client, operator)


@pytest.fixture
def as_viewer(client, viewer):
    return sign_in(client, viewer)


def page(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return BeautifulSoup(response.content, "html.parser")


def text_of(soup: BeautifulSoup, testid: str) -> str:
    found = soup.select_one(f"[data-testid={testid}]")
    assert found is not None, f"no {testid} on the page"
    return found.get_text(" ", strip=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


def preview(client, world, **scope) -> ExportRun:
    """Ask for a preview through the form, and plan it as a worker would."""
    report = BillingReport.objects.get()
    data = {"connection": world.pk, "report": report.pk, **scope}
    response = client.post("/exports/preview/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    run = ExportRun.objects.latest("pk")
    assert response["Location"] == f"/exports/{run.pk}/"
    assert run.dry_run and run.status == "queued" and run.requested_by_name == "otto-operator"
    return export_run_execute(run_id=run.pk)


def confirm(client, run: ExportRun) -> ExportRun:
    response = client.post(f"/exports/{run.pk}/confirm/")
    assert response.status_code == 302
    started = ExportRun.objects.latest("pk")
    assert started.pk != run.pk and response["Location"] == f"/exports/{started.pk}/"
    assert started.preview_id == run.pk and not started.dry_run
    return started


# -- preview, confirm, watch ----------------------------------------------------------------


def test_a_preview_shows_the_plan_with_reasons_and_writes_nothing(as_operator, world, sandbox):
    run = preview(as_operator, world)
    assert run.status == "succeeded" and sum(run.counts.values()) == FIRST_EXPORT_WRITES
    assert writes_logged(sandbox) == []
    soup = page(as_operator, f"/exports/{run.pk}/")
    assert text_of(soup, "title").startswith(f"Preview #{run.pk}")
    assert "Export now: write these 8 operations to Sandbox" in text_of(soup, "export-actions")
    operations = soup.select("[data-testid=operation]")
    assert len(operations) == FIRST_EXPORT_WRITES
    assert all(" — " in op.get_text(" ", strip=True) for op in operations)  # each has its reason
    groups = [g.get_text(" ", strip=True) for g in soup.select("[data-testid=item-organization]")]
    assert groups == ["Shared: products and services", "Contoso Ltd", "Fabrikam Inc",
                      "Tailspin Toys"]  # fmt: skip
    reasons = [r.get_text(" ", strip=True) for r in soup.select("[data-testid=skip-reason]")]
    assert len(reasons) == 1 and "not mapped" in reasons[0]
    sources = {s.get_text(strip=True) for s in soup.select("[data-testid=price-source]")}
    assert sources == {"(price: Connection's default markup)"}
    kinds = text_of(soup, "operation-kinds")
    assert "Create contract 3" in kinds and "Add service line 2" in kinds


def test_confirming_a_preview_exports_exactly_that_plan(as_operator, world, sandbox):
    run = preview(as_operator, world)
    started = confirm(as_operator, run)
    soup = page(as_operator, f"/exports/{started.pk}/")
    assert text_of(soup, "export-bar") == "Queued"  # not planned yet
    assert soup.select_one("[data-testid=export-progress]").has_attr("hx-get")
    done = export_run_execute(run_id=started.pk)
    assert done.status == "succeeded" and done.writes == FIRST_EXPORT_WRITES
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES
    # The page's poll sees the end and reloads the page once.
    response = as_operator.get(f"/exports/{started.pk}/progress/?live=1")
    assert response.status_code == 204 and response["HX-Refresh"] == "true"
    soup = page(as_operator, f"/exports/{started.pk}/")
    assert "8 of 8 operations done" in text_of(soup, "export-done")
    assert soup.select_one("[data-testid=export-bar] .progress-bar")["data-width"] == "100"
    assert not soup.select_one("[data-testid=export-progress]").has_attr("hx-get")
    states = {op["data-state"] for op in soup.select("[data-testid=operation]")}
    assert states == {"done"}
    # The preview now points at the export it became, and cannot be confirmed twice.
    soup = page(as_operator, f"/exports/{run.pk}/")
    assert text_of(soup, "confirmed-run") == f"export #{started.pk}"
    response = as_operator.post(f"/exports/{run.pk}/confirm/", follow=True)
    assert any("was confirmed already" in text for text in messages_of(response))
    assert ExportRun.objects.filter(dry_run=False).count() == 1


def test_a_plan_that_changed_since_the_preview_writes_nothing(as_operator, world, sandbox):
    run = preview(as_operator, world)
    started = confirm(as_operator, run)
    tailspin = Organization.objects.get(customer_id=TAILSPIN)
    company = AutotaskCompany.objects.get(connection=world, autotask_id=10)
    organization_mapping_set(connection=world, organization=tailspin, company=company)
    done = export_run_execute(run_id=started.pk)
    assert done.status == "failed" and done.writes == 0
    assert done.message.startswith(f"Nothing was written: the plan changed since preview #{run.pk}")
    assert writes_logged(sandbox) == []
    soup = page(as_operator, f"/exports/{started.pk}/")
    assert "Preview again and confirm the new plan" in text_of(soup, "export-message")
    assert text_of(soup, "reexport") == "Re-export"


def test_a_confirmed_run_started_again_after_planning_still_checks_the_preview(
    as_operator, world, sandbox
):
    """Its first attempt died between storing its new plan and comparing it with the
    preview: the next attempt compares before it writes."""
    started = confirm(as_operator, preview(as_operator, world))
    tailspin = Organization.objects.get(customer_id=TAILSPIN)
    company = AutotaskCompany.objects.get(connection=world, autotask_id=10)
    organization_mapping_set(connection=world, organization=tailspin, company=company)
    ExportRun.objects.filter(pk=started.pk).update(status="running", attempts=1)
    started.refresh_from_db()
    client = connection_client(world)
    store_plan(started, plan_for(started, client))
    client.close()
    ExportRun.objects.filter(pk=started.pk).update(status="queued")
    done = export_run_execute(run_id=started.pk)
    assert done.status == "failed" and "the plan changed" in done.message
    assert writes_logged(sandbox) == []


def test_a_planning_preview_cannot_be_cancelled_and_says_why(as_operator, world):
    run = export_run_create(connection=world, report=BillingReport.objects.get(), dry_run=True)
    ExportRun.objects.filter(pk=run.pk).update(status="running")
    assert (
        page(as_operator, f"/exports/{run.pk}/").select_one("[data-testid=cancel-export]") is None
    )
    response = as_operator.post(f"/exports/{run.pk}/cancel/", follow=True)
    assert messages_of(response) == [
        f"Preview #{run.pk} is reading Autotask: it writes nothing and ends in a moment."
    ]


def test_a_second_export_on_the_connection_is_refused_naming_the_active_one(as_operator, world):
    run = preview(as_operator, world)
    busy = export_run_create(connection=world, report=BillingReport.objects.get())
    response = as_operator.post(f"/exports/{run.pk}/confirm/", follow=True)
    [message] = messages_of(response)
    assert message.startswith(f"Export #{busy.pk} (November 2025 (USD), whole report, queued)")
    assert "is active on Sandbox" in message
    assert ExportRun.objects.filter(dry_run=False).count() == 1


def test_the_form_starts_from_the_report_organization_and_subscription_pages(as_operator, world):
    report = BillingReport.objects.get()
    contoso = Organization.objects.get(customer_id=CONTOSO)
    subscription = Subscription.objects.get(subscription_id=SUBSCRIPTIONS[CONTOSO])
    for url, testid, query in (
        (f"/reports/{report.pk}/", "export-report", f"report={report.pk}"),
        (f"/organizations/{contoso.pk}/", "export-organization", f"organization={contoso.pk}"),
        (f"/subscriptions/{subscription.pk}/", "export-subscription",
         f"subscription={subscription.pk}"),
    ):  # fmt: skip
        link = page(as_operator, url).select_one(f"[data-testid={testid}]")
        assert link["href"] == f"/exports/preview/?{query}"
        form = page(as_operator, link["href"]).select_one("[data-testid=preview-form]")
        assert form.select_one("select[name=report] option[selected]")["value"] == str(report.pk)
    run = preview(as_operator, world, subscription=subscription.pk)
    assert run.scope == "subscription" and run.subscription_id == subscription.pk
    assert run.counts == {"create_service": 1, "create_contract": 1, "add_service_line": 1}
    assert run.items.exclude(position=0).count() == 1


def test_the_form_refuses_a_month_that_does_not_bill_the_subscription(as_operator, world):
    subscription = Subscription.objects.get(subscription_id=SUBSCRIPTIONS[CONTOSO])
    other = BillingReport.objects.create(month=dt.date(2025, 12, 1), currency="USD")
    response = as_operator.post(
        "/exports/preview/",
        {"connection": world.pk, "report": other.pk, "subscription": subscription.pk},
    )
    assert response.status_code == 200
    assert "is not billed in December 2025 (USD): pick its month." in response.content.decode()
    assert not ExportRun.objects.exists()


# -- retry, continue, cancel ----------------------------------------------------------------


def map_the_licence_to_a_missing_service(world) -> None:
    """The licence offer mapped to service 999999, which Autotask does not have (yet):
    both licence subscriptions' service lines are refused."""
    offer = Offer.objects.get(sku_name="Microsoft 365 Business Standard")
    ghost = AutotaskService.objects.create(
        connection=world, autotask_id=999_999, name="Licences (new)", period_type=2,
        unit_cost=0, unit_price=0,
    )  # fmt: skip
    OfferMapping.objects.update_or_create(
        connection=world, offer=offer, defaults={"service": ghost}
    )


def test_retry_failed_items_sends_only_what_failed_and_nothing_twice(as_operator, world, sandbox):
    map_the_licence_to_a_missing_service(world)
    started = confirm(as_operator, preview(as_operator, world))
    done = export_run_execute(run_id=started.pk)
    assert done.status == "partial" and done.failed == 2
    soup = page(as_operator, f"/exports/{done.pk}/?status=failed")
    assert len(soup.select("[data-testid=export-item]")) == 2
    assert "999999" in text_of(soup, "item-error")
    # Someone creates the service in Autotask; the same operations now go through.
    sandbox.insert("Services", [{"id": 999_999, "name": "Licences (new)", "periodType": 2,
                                 "unitPrice": 0, "unitCost": 0, "isActive": True,
                                 "billingCodeID": 29682802}])  # fmt: skip
    soup = page(as_operator, f"/exports/{done.pk}/retry/")
    assert text_of(soup, "confirm") == "Retry 2 operations"
    before = len(writes_logged(sandbox))
    response = as_operator.post(f"/exports/{done.pk}/retry/")
    assert response.status_code == 302
    retried = export_run_execute(run_id=done.pk)
    assert retried.status == "succeeded" and retried.failed == 0 and retried.attempts == 2
    assert len(writes_logged(sandbox)) == before + 2
    assert retried.writes == sum(retried.counts.values())


def test_retry_is_refused_once_a_later_export_ran(as_operator, world, sandbox):
    map_the_licence_to_a_missing_service(world)
    first = export_run_execute(run_id=confirm(as_operator, preview(as_operator, world)).pk)
    later = export_run_execute(
        run_id=export_run_create(connection=world, report=BillingReport.objects.get()).pk
    )
    assert first.status == later.status == "partial"
    soup = page(as_operator, f"/exports/{first.pk}/retry/")
    assert text_of(soup, "refusal").startswith(f"Export #{later.pk} ran on Sandbox after this one")
    as_operator.post(f"/exports/{first.pk}/retry/")
    first.refresh_from_db()
    assert first.status == "partial"


def test_an_interrupted_export_is_continued_with_one_click(as_operator, world, sandbox):
    run = export_run_create(connection=world, report=BillingReport.objects.get())
    ExportRun.objects.filter(pk=run.pk).update(status="interrupted", message="The worker died.")
    soup = page(as_operator, f"/exports/{run.pk}/")
    assert text_of(soup, "continue-export").startswith("Continue")
    as_operator.post(f"/exports/{run.pk}/continue/")
    run.refresh_from_db()
    assert run.status == "queued"
    assert export_run_execute(run_id=run.pk).status == "succeeded"
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES


def test_cancel_asks_first_then_cancels(as_operator, world):
    run = export_run_create(connection=world, report=BillingReport.objects.get())
    soup = page(as_operator, f"/exports/{run.pk}/cancel/")
    assert text_of(soup, "confirm") == "Cancel the export"
    run.refresh_from_db()
    assert run.status == "queued"  # the question changed nothing
    as_operator.post(f"/exports/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == "cancelled"
    soup = page(as_operator, f"/exports/{run.pk}/cancel/")
    assert "nothing to cancel" in text_of(soup, "refusal")


# -- the list, the dashboard, the audit log -----------------------------------------------


def test_the_list_filters_by_status_connection_month_and_trigger(as_operator, world):
    report = BillingReport.objects.get()
    failed = ExportRun.objects.create(connection=world, report=report, status="failed")
    done = ExportRun.objects.create(
        connection=world, report=report, status="succeeded", trigger="schedule"
    )
    for query, expected in (
        ("", [done, failed]),
        ("?status=failed", [failed]),
        ("?trigger=schedule", [done]),
        ("?month=2025-11", [done, failed]),
        ("?month=2025-10", []),
        (f"?connection={world.pk}&sort=id", [failed, done]),
    ):
        soup = page(as_operator, f"/exports/{query}")
        rows = soup.select("[data-testid=object-table] tbody tr")
        shown = [row.select("td")[0].get_text(strip=True) for row in rows if row.select("a")]
        assert shown == [str(run.pk) for run in expected], query
    soup = page(as_operator, "/exports/")
    assert text_of(soup, "outcomes") == "Succeeded 1 Failed 1"


def test_a_partial_export_is_on_the_dashboard_until_someone_opens_it(as_operator, world):
    report = BillingReport.objects.get()
    run = ExportRun.objects.create(
        connection=world, report=report, status="partial", message="1 subscription(s) failed"
    )
    assert f"Export #{run.pk}" in text_of(page(as_operator, "/"), "exports-to-look-at")
    page(as_operator, f"/exports/{run.pk}/")
    run.refresh_from_db()
    assert run.reviewed_by_name == "otto-operator"
    assert f"Export #{run.pk}" not in text_of(page(as_operator, "/"), "exports-to-look-at")


def test_a_viewer_opening_a_run_leaves_it_on_the_dashboard(client, viewer, world):
    run = ExportRun.objects.create(
        connection=world, report=BillingReport.objects.get(), status="failed"
    )
    sign_in(client, viewer)
    page(client, f"/exports/{run.pk}/")
    run.refresh_from_db()
    assert run.reviewed_at is None
    assert f"Export #{run.pk}" in text_of(page(client, "/"), "exports-to-look-at")


def test_the_audit_log_lists_a_runs_entries(as_operator, world):
    run = export_run_execute(
        run_id=export_run_create(connection=world, report=BillingReport.objects.get()).pk
    )
    soup = page(as_operator, f"/exports/{run.pk}/")
    link = soup.select_one("[data-testid=audit-link]")["href"]
    rows = page(as_operator, link + "&per_page=100").select("[data-testid=object-table] tbody tr")
    # The start, each write and the end; nothing of another run.
    assert len(rows) == FIRST_EXPORT_WRITES + 2


# -- Viewers --------------------------------------------------------------------------------


def test_a_viewer_sees_the_runs_and_no_button(as_viewer, world):
    report = BillingReport.objects.get()
    run = ExportRun.objects.create(connection=world, report=report, status="interrupted")
    preview_run = ExportRun.objects.create(
        connection=world, report=report, status="succeeded", dry_run=True,
        planned_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), counts={"create_contract": 1},
    )  # fmt: skip
    soup = page(as_viewer, "/exports/")
    assert len(soup.select("[data-testid=object-table] tbody tr")) == 2
    assert soup.select_one("[data-testid=new-export]") is None
    for shown in (run, preview_run):
        soup = page(as_viewer, f"/exports/{shown.pk}/")
        assert soup.select_one("[data-testid=export-actions]") is None
    subscription = Subscription.objects.get(subscription_id=SUBSCRIPTIONS[CONTOSO])
    assert (
        page(as_viewer, f"/subscriptions/{subscription.pk}/").select_one(
            "[data-testid=export-subscription]"
        )
        is None
    )


def test_every_export_action_is_refused_to_a_viewer_and_changes_nothing(as_viewer, world):
    report = BillingReport.objects.get()
    run = ExportRun.objects.create(connection=world, report=report, status="interrupted")
    data = {"connection": world.pk, "report": report.pk}
    for url in ("/exports/preview/", f"/exports/{run.pk}/confirm/",
                f"/exports/{run.pk}/continue/", f"/exports/{run.pk}/retry/",
                f"/exports/{run.pk}/cancel/"):  # fmt: skip
        assert as_viewer.post(url, data).status_code == 403, url
    run.refresh_from_db()
    assert run.status == "interrupted" and ExportRun.objects.count() == 1


# -- a fixed number of queries ---------------------------------------------------------------


def fake_run(world, report, organizations: int) -> ExportRun:
    """A finished run with one item and two operations per organization."""
    run = ExportRun.objects.create(
        connection=world, report=report, status="succeeded",
        planned_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), counts={"create_contract": 1},
    )  # fmt: skip
    for index in range(organizations):
        organization = Organization.objects.create(
            customer_id=f"q-{run.pk}-{index}", name=f"Org {run.pk}-{index}"
        )
        item = ExportItem.objects.create(
            run=run, position=index + 1, organization=organization, label=f"Item {index}",
            status="done",
        )  # fmt: skip
        for sequence, kind in enumerate(("create_contract", "add_service_line"), start=1):
            ExportOperation.objects.create(
                item=item, sequence=sequence, kind=kind, key=f"k-{run.pk}-{index}-{sequence}",
                entity="Contracts", state="done",
                plan={"label": kind, "reason": "because", "before": {"units": 1},
                      "after": {"units": 2}, "price_source": "MSP price"},
            )  # fmt: skip
    return run


def queries(client, url: str) -> int:
    with CaptureQueriesContext(db) as captured:
        page(client, url)
    return len(captured)


def test_the_pages_cost_the_same_queries_for_3_and_30_runs_and_items(as_operator, world):
    report = BillingReport.objects.get()
    small = fake_run(world, report, 3)
    few = {"list": queries(as_operator, "/exports/"),
           "detail": queries(as_operator, f"/exports/{small.pk}/"),
           "dashboard": queries(as_operator, "/")}  # fmt: skip
    for _ in range(27):
        ExportRun.objects.create(connection=world, report=report, status="partial")
    big = fake_run(world, report, 30)
    many = {"list": queries(as_operator, "/exports/"),
            "detail": queries(as_operator, f"/exports/{big.pk}/"),
            "dashboard": queries(as_operator, "/")}  # fmt: skip
    assert few == many
    soup = page(as_operator, f"/exports/{big.pk}/")
    assert len(soup.select("[data-testid=export-item]")) == 30
    assert len(soup.select("[data-testid=operation]")) == 60
