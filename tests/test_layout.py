"""The base layout: navigation, the signed-in user and role, messages, version, assets."""

import re
import tomllib

import pytest
from bs4 import BeautifulSoup

from tests.conftest import ROOT, log_in

pytestmark = pytest.mark.django_db

NAVIGATION = [
    "Dashboard",
    "Organizations",
    "Offers",
    "Subscriptions",
    "Billing reports",
    "Exports",
    "Audit log",
    "Connections",
]


def page(client, user, url="/"):
    log_in(client, user.username)
    response = client.get(url)
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def test_navigation_in_order(client, viewer):
    soup = page(client, viewer)
    nav = soup.select_one("[data-testid=main-nav]")
    assert [item.get_text(strip=True) for item in nav.select(".nav-link")] == NAVIGATION
    dashboard = nav.select_one("a.nav-link.active")
    assert dashboard.get_text(strip=True) == "Dashboard"
    assert dashboard["href"] == "/"
    # Pages that later versions add are shown, but not as links that lead nowhere.
    for item in nav.select(".nav-link.disabled"):
        assert item.name == "span"
        assert item["aria-disabled"] == "true"


def test_user_and_role_are_shown(client, operator):
    soup = page(client, operator)
    who = soup.select_one("[data-testid=current-user]").get_text(" ", strip=True)
    assert who == "otto-operator Operator"


def test_administration_link_only_for_administrators(client, operator, administrator):
    assert not page(client, operator).find("a", string="Administration")
    client.logout()
    assert page(client, administrator).find("a", string="Administration")["href"] == "/admin/"


def test_footer_shows_the_project_version(client, viewer):
    declared = re.search(
        r'__version__ = "([^"]+)"', (ROOT / "syncadmin" / "__init__.py").read_text()
    ).group(1)
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["dynamic"][
        "version"
    ] == {"attr": "syncadmin.__version__"}
    assert page(client, viewer).select_one("[data-testid=version]").text == declared


def test_flash_messages_are_shown(client, viewer):
    log_in(client, viewer.username)
    response = client.post("/logout/", follow=True)
    soup = BeautifulSoup(response.content, "html.parser")
    alert = soup.select_one("[data-testid=messages] .alert")
    assert alert.get_text(strip=True) == "You are signed out."
    assert "alert-info" in alert["class"]


def test_assets_come_from_the_app_never_a_cdn(client, viewer):
    soup = page(client, viewer)
    sources = [tag.get("src") or tag.get("href") for tag in soup.select("script, link")]
    assert "/static/bootstrap/css/bootstrap.min.css" in sources
    assert "/static/bootstrap/js/bootstrap.bundle.min.js" in sources
    assert "/static/django_htmx/htmx-2.min.js" in sources
    assert all(source.startswith("/static/") for source in sources), sources
