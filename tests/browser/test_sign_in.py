"""In a real browser: the demo administrator signs in; a wrong password does not."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "demo-browser-pass-31"


@pytest.fixture
def demo_admin(monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_USERNAME", "admin")
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", DEMO_PASSWORD)
    call_command("ensure_demo_admin", stdout=StringIO())
    return "admin"


def test_demo_administrator_lands_on_the_dashboard(page, live_server, demo_admin):
    sign_in(page, live_server.url, demo_admin, DEMO_PASSWORD)
    assert page.url == f"{live_server.url}/"
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_test_id("current-user").inner_text().split() == ["admin", "Administrator"]
    assert page.get_by_test_id("dashboard-role").inner_text() == "Administrator"
    # Bootstrap's stylesheet was served and applied (the navbar is dark).
    background = page.locator("nav.navbar").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(33, 37, 41)"
    assert page.evaluate("typeof window.htmx") == "object"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("You are signed out.").is_visible()
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url


def test_wrong_password_shows_an_error_and_no_session(page, live_server, demo_admin):
    sign_in(page, live_server.url, demo_admin, "not-the-password")
    error = page.get_by_test_id("login-error")
    assert error.is_visible()
    assert "Please enter a correct username and password" in error.inner_text()
    cookie_names = {cookie["name"] for cookie in page.context.cookies()}
    assert "sessionid" not in cookie_names
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
