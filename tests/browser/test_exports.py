"""In a real browser, with a real worker (issue 12): an Operator previews a month's
export, reads the plan, confirms it, watches the progress bar reach the end, opens an
organization's items, maps the organization that was skipped, re-exports its one
subscription and sees only its operations run. A Viewer sees the runs and no button."""

import pytest

from apps.autotask.models import RefreshRun
from apps.autotask.services import refresh_run_execute
from apps.catalog.models import BillingReport, Subscription
from apps.exports.execution import export_run_execute
from apps.exports.models import ExportRun
from apps.exports.queueing import export_run_create
from tests.browser.conftest import sign_in
from tests.conftest import TEST_PASSWORD
from tests.exports.small import FIRST_EXPORT_WRITES, SUBSCRIPTIONS, small_world, writes_logged

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TAILSPIN = "3b2e7d4f-2e3c-4d6e-9f0a-1b2c3d4e5f60"
DONE = (
    "() => document.querySelector('[data-testid=export-bar]')"
    ".getAttribute('aria-valuenow') === '100'"
)


@pytest.fixture
def world(sandbox, tmp_path):
    """The small world, and a company for Tailspin Toys (not mapped yet) in Autotask."""
    connection = small_world(sandbox, tmp_path)
    sandbox.insert(
        "Companies", [{"id": 12, "companyName": "Tailspin Toys", "companyType": 1,
                       "isActive": True}]
    )  # fmt: skip
    refresh = RefreshRun.objects.create(connection=connection, kind="full")
    assert refresh_run_execute(run_id=refresh.pk).status == "succeeded"
    # Slow enough that the progress bar is seen moving, not only at its end.
    sandbox.admin("POST", "/faults", json={"latency_ms": 300})
    return connection


def wait_for_the_plan(page) -> None:
    """A preview's page polls until the worker has planned, then reloads itself."""
    page.get_by_test_id("confirm-export").wait_for(timeout=60_000)


def test_an_operator_previews_confirms_watches_and_re_exports_one_subscription(
    page, live_server, worker, world, sandbox, operator
):
    sign_in(page, live_server.url, operator.username, TEST_PASSWORD)
    nav = page.get_by_test_id("main-nav")
    nav.get_by_role("link", name="Billing reports").click()
    page.get_by_role("link", name="November 2025").click()
    page.get_by_test_id("export-report").click()
    page.get_by_test_id("preview").click()

    # The plan, read before anything is written.
    wait_for_the_plan(page)
    assert page.get_by_test_id("title").inner_text().startswith("Preview #")
    operations = page.get_by_test_id("operation")
    assert operations.count() == FIRST_EXPORT_WRITES
    texts = operations.all_inner_texts()
    assert all(" — " in text for text in texts)  # each with its reason
    assert sum("Create contract" in text for text in texts) == 3
    skipped = page.get_by_test_id("skip-reason").inner_text()
    assert "not mapped" in skipped
    assert writes_logged(sandbox) == []

    # Confirm; the progress bar reaches the end without a reload by hand.
    page.get_by_test_id("confirm-export").click()
    page.get_by_test_id("export-bar").wait_for()
    assert page.get_by_test_id("title").inner_text().startswith("Export #")
    assert page.get_by_test_id("export-bar").get_attribute("aria-valuenow") != "100"
    assert page.get_by_test_id("export-progress").get_attribute("hx-get")  # it polls
    url = page.url
    page.wait_for_function(DONE, timeout=60_000)
    assert page.url == url  # the same page, updated without anyone reloading it
    page.get_by_test_id("export-status").filter(has_text="Succeeded").wait_for()
    assert "8 of 8 operations done" in page.get_by_test_id("export-done").inner_text()
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES

    # One organization's items.
    page.get_by_test_id("organization-items").filter(has_text="Contoso Ltd").click()
    groups = page.get_by_test_id("item-organization").all_inner_texts()
    assert groups == ["Contoso Ltd"]
    assert page.get_by_test_id("export-item").count() == 2  # the licence and the Azure plan

    # Map Tailspin Toys, the organization that was skipped, on the mapping screen.
    nav.get_by_role("link", name="Organizations").click()
    row = page.get_by_test_id("object-table").locator("tbody tr", has_text="Tailspin Toys")
    row.get_by_text("Choose…").click()
    row.get_by_test_id("company-search").fill("tailspin")
    choice = row.get_by_test_id("company-choice").filter(has_text="Tailspin Toys")
    choice.wait_for()
    choice.get_by_test_id("choose-company").click()
    page.get_by_test_id("object-table").locator(
        "tbody tr", has_text="Tailspin Toys"
    ).get_by_test_id("mapped-company").wait_for()

    # Re-export its one subscription: only its operations are planned and run.
    subscription = Subscription.objects.get(subscription_id=SUBSCRIPTIONS[TAILSPIN])
    page.goto(f"{live_server.url}/subscriptions/{subscription.pk}/")
    page.get_by_test_id("export-subscription").click()
    page.get_by_test_id("preview").click()
    wait_for_the_plan(page)
    assert page.get_by_test_id("item-organization").all_inner_texts() == ["Tailspin Toys"]
    kinds = [op.get_attribute("data-kind") for op in page.get_by_test_id("operation").all()]
    assert kinds == ["create_contract", "add_service_line"]
    page.get_by_test_id("confirm-export").click()
    page.get_by_test_id("export-bar").wait_for()
    page.wait_for_function(DONE, timeout=60_000)
    assert "2 of 2 operations done" in page.get_by_test_id("export-done").inner_text()
    run = ExportRun.objects.filter(dry_run=False).latest("pk")
    assert run.scope == "subscription" and run.writes == 2
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES + 2


def test_a_viewer_sees_the_runs_and_no_button(page, live_server, world, viewer):
    report = BillingReport.objects.get()
    run = export_run_execute(run_id=export_run_create(connection=world, report=report).pk)
    assert run.status == "succeeded"
    sign_in(page, live_server.url, viewer.username, TEST_PASSWORD)
    page.get_by_test_id("main-nav").get_by_role("link", name="Exports").click()
    table = page.get_by_test_id("object-table")
    assert table.locator("tbody tr").count() == 1
    assert page.get_by_test_id("new-export").count() == 0
    table.get_by_role("link", name=str(run.pk)).click()
    page.get_by_test_id("export-bar").wait_for()
    assert page.get_by_test_id("export-actions").count() == 0
    assert page.get_by_test_id("operation").count() == FIRST_EXPORT_WRITES
    page.goto(f"{live_server.url}/reports/{report.pk}/")
    assert page.get_by_test_id("export-report").count() == 0
