"""The Content-Security-Policy: on every kind of response, exactly as decided, and pages that
need nothing it refuses (no inline script, event handler, style attribute or <style>)."""

import json

import pytest
from bs4 import BeautifulSoup
from django.test import Client
from django.urls import reverse

from apps.audit.services import audit_record
from apps.catalog.importing.billing import import_billing
from apps.catalog.models import BillingReport, ImportRun, MarkupRule, MspPrice, Offer, Organization
from tests.catalog.generator import write_recon_csv
from tests.catalog.scenarios import march_rows
from tests.conftest import log_in
from tests.test_access import all_patterns, sample_url

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy_of(response) -> dict[str, list[str]]:
    """The header as {directive: sources} (django-csp does not keep the directives' order)."""
    header = response.headers["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, header
        directives[name] = sources
    return directives


@pytest.fixture
def norole(make_user):
    return make_user("nora-norole", None)


def signed_in_client(user) -> Client:
    client = Client()
    assert log_in(client, user.username)
    return client


def test_every_kind_of_response_carries_the_policy(viewer, norole, administrator):
    anonymous = Client()
    viewing = signed_in_client(viewer)
    answers = {
        "page": viewing.get("/"),
        "redirect": anonymous.get("/"),
        "sign-in page": anonymous.get(reverse("accounts:login")),
        "healthz": anonymous.get(reverse("core:healthz")),
        "404": viewing.get("/no-such-page/"),
        "403": signed_in_client(norole).get("/"),
        "405": viewing.get(reverse("accounts:logout")),
        "admin": signed_in_client(administrator).get("/admin/"),
    }
    statuses = {kind: response.status_code for kind, response in answers.items()}
    assert statuses == {
        "page": 200,
        "redirect": 302,
        "sign-in page": 200,
        "healthz": 200,
        "404": 404,
        "403": 403,
        "405": 405,
        "admin": 200,
    }
    for kind, response in answers.items():
        assert policy_of(response) == POLICY, kind
        assert "Content-Security-Policy-Report-Only" not in response.headers, kind


def test_the_other_security_headers_are_set(viewer):
    response = signed_in_client(viewer).get("/")

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


# -- the pages themselves -------------------------------------------------------------


def inline_code(html: bytes) -> list[str]:
    """Everything in a page the policy would refuse: inline scripts (JSON data blocks
    aside), event handler attributes, javascript: URLs, style attributes and elements,
    and htmx features that need eval."""
    soup = BeautifulSoup(html, "html.parser")
    found = []
    for script in soup.find_all("script"):
        if not script.get("src") and script.get("type") != "application/json":
            found.append(f"inline script: {script.get_text()[:80]!r}")
    found += [f"<style>: {style.get_text()[:80]!r}" for style in soup.find_all("style")]
    for tag in soup.find_all(True):
        for name, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if name == "style":
                found.append(f"style attribute on <{tag.name}>: {text!r}")
            elif name.startswith("on"):
                found.append(f"{name} handler on <{tag.name}>: {text!r}")
            elif name.startswith(("hx-on", "data-hx-on")) or (
                name in ("hx-vals", "hx-vars", "hx-headers") and text.startswith("js:")
            ):
                found.append(f"{name} on <{tag.name}> (htmx eval)")
            elif name in (
                "href",
                "src",
                "action",
                "formaction",
            ) and text.strip().lower().startswith("javascript:"):
                found.append(f"javascript: URL in <{tag.name} {name}>")
    return found


def test_the_page_check_finds_what_the_policy_refuses():
    from chartkick.django import ColumnChart

    page = f"""<html><head><style>p {{ color: red }}</style></head><body>
        <p style="color: red" onclick="go()">Hello</p>
        <a href="javascript:go()">Go</a>
        <button hx-on:click="go()">Go</button>
        <script src="/static/js/charts.js"></script>
        <script type="application/json">{{"data": 1}}</script>
        {ColumnChart([["Mar 2022", "275.23"]], height="260px")}
        </body></html>"""

    found = inline_code(page.encode())

    assert [problem.split(":")[0] for problem in found] == [
        "inline script",  # chartkick's own template output
        "<style>",
        "style attribute on <p>",
        "onclick handler on <p>",
        "javascript",
        "hx-on",
        "style attribute on <div>",  # chartkick's chart element
    ]


@pytest.fixture
def everything(tmp_path, administrator):
    """Data on every page: the March 2022 example with a sales price and a markup rule,
    imports in each state, audit entries with changes, a connection."""
    path = tmp_path / "recon-2022-03.csv"
    write_recon_csv(path, march_rows())
    import_billing([(path, path.name)], actor="tester")
    offer = Offer.objects.get(product_id="CFQ7TTC0LDPB")
    MspPrice.objects.create(offer=offer, currency="EUR", unit_price="14.90")
    MarkupRule.objects.create(record_type="azure_plan", percent=10)
    for status, extra in (
        ("queued", {}),
        ("running", {"lines_read": 40, "lines_total": 100}),
        ("failed", {"error": "Line 3, column Quantity: not a number.\nSecond line."}),
    ):
        ImportRun.objects.create(status=status, files=[{"name": "recon.csv"}], **extra)
    audit_record(
        operation="Update Markup Rule",
        object_repr="Azure plan +10%",
        before={"percent": "5"},
        after={"percent": "10"},
        user=administrator,
    )
    return {
        "organization": Organization.objects.get(),
        "report": BillingReport.objects.get(),
        "runs": list(ImportRun.objects.all()),
    }


def test_no_page_needs_inline_code(everything, administrator, viewer, norole):
    """Every URL pattern (the Django admin's included; tests/test_access.py makes their
    sample objects, some owned by the viewer), fetched as an Administrator with data
    present, plus the pages with the chart, import runs in each state, the error pages and
    the sign-in page."""
    client = signed_in_client(administrator)
    urls = {sample_url(key, pattern, administrator) for key, pattern in all_patterns()}
    urls |= {
        f"/organizations/{everything['organization'].pk}/",
        f"/reports/{everything['report'].pk}/",
        *(reverse("imports:importrun_detail", args=[run.pk]) for run in everything["runs"]),
        *(reverse("imports:importrun_progress", args=[run.pk]) for run in everything["runs"]),
        "/no-such-page/",
    }
    checked, problems = set(), {}
    for url in sorted(urls):
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        checked.add(url)
        if found := inline_code(response.content):
            problems[url] = found
    for name, response in (
        ("sign-in page", Client().get(reverse("accounts:login"))),
        ("403 page", signed_in_client(norole).get("/")),
    ):
        checked.add(name)
        if found := inline_code(response.content):
            problems[name] = found

    assert not problems
    assert {"/", "/reports/", "/admin/", "/audit/", "/no-such-page/", "sign-in page"} <= checked
    assert len(checked) > 40


def test_the_chart_is_markup_and_a_static_script(everything, viewer):
    soup = BeautifulSoup(signed_in_client(viewer).get("/reports/").content, "html.parser")

    chart = json.loads(soup.select_one("[data-testid=cost-chart] [data-chart]")["data-chart"])
    assert chart["type"] == "ColumnChart"
    assert chart["options"] == {"thousands": ",", "round": 2, "zeros": True, "legend": "bottom"}
    assert [series["name"] for series in chart["data"]] == ["Cost (EUR)", "Sales (EUR)"]
    assert chart["data"][0]["data"] == [["Mar 2022", "275.23"]]
    # Deferred, in this order: they run once the page is parsed, the chart element included.
    chart_scripts = ["chartkick/Chart.bundle.js", "chartkick/chartkick.js", "js/charts.js"]
    found = [
        tag
        for tag in soup.select("script[src]")
        if tag["src"].removeprefix("/static/") in chart_scripts
    ]
    assert [tag["src"].removeprefix("/static/") for tag in found] == chart_scripts
    assert all(tag.has_attr("defer") for tag in found)


def test_htmx_is_told_not_to_inject_styles_or_eval(viewer):
    soup = BeautifulSoup(signed_in_client(viewer).get("/").content, "html.parser")

    config = json.loads(soup.select_one("meta[name=htmx-config]")["content"])
    assert config == {"includeIndicatorStyles": False, "allowEval": False}
