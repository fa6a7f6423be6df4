"""In a real browser, with a real worker: an Administrator creates a sandbox connection,
tests it (on the worker), refreshes it, and watches the companies list fill."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-browser-pass-77"


@pytest.fixture
def administrator_login(monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_USERNAME", "admin")
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", PASSWORD)
    call_command("ensure_demo_admin", stdout=StringIO())


def test_create_test_refresh_and_see_companies(
    page, live_server, sandbox, worker, administrator_login
):
    sandbox.admin("POST", "/reset", json={"seed": "demo"})
    sign_in(page, live_server.url, "admin", PASSWORD)

    page.get_by_test_id("main-nav").get_by_role("link", name="Connections").click()
    page.get_by_text("No connections yet").wait_for()
    page.get_by_role("link", name="New connection").click()
    page.locator("#id_name").fill("Rehearsal")
    page.get_by_label("The built-in Autotask sandbox").check()
    page.get_by_label("Sandbox address").fill(sandbox.root)
    page.get_by_role("button", name="Create connection").click()
    page.get_by_role("heading", name="Rehearsal").wait_for()

    page.get_by_role("button", name="Test connection").click()
    # The worker runs the test; htmx polls the card until it has finished.
    page.get_by_text("Connection “Rehearsal” works.").wait_for(timeout=60_000)
    assert page.get_by_test_id("test-status").inner_text() == "Works"
    entities = page.get_by_test_id("test-entities").locator("tbody tr td:first-child")
    assert "ContractCharges" in entities.all_inner_texts()

    assert page.get_by_test_id("count-companies").inner_text() == "0"
    page.get_by_role("button", name="Refresh", exact=True).click()
    page.get_by_text("Refresh queued").wait_for()
    # htmx polls the card until the worker has finished.
    page.wait_for_function(
        "() => document.querySelector('[data-testid=count-companies]').innerText !== '0'",
        timeout=60_000,
    )
    active = int(page.get_by_test_id("count-companies").inner_text())
    assert 250 <= active <= 301  # the demo tenant's active companies
    assert page.get_by_test_id("refresh-card").get_by_text("Succeeded").is_visible()

    page.get_by_test_id("refresh-card").get_by_role("link", name="Companies").click()
    page.get_by_role("heading", name="Companies in Rehearsal").wait_for()
    assert page.locator("table tbody tr").count() == 50  # the first page of 50
    page.get_by_test_id("quick-search").fill("contoso")
    page.wait_for_function("() => document.querySelectorAll('table tbody tr').length < 50")
    names = page.locator("table tbody tr td:first-child").all_inner_texts()
    assert "Contoso Ltd" in names
    assert all("contoso" in name.lower() for name in names)
