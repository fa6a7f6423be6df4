"""In a real browser, under the Content-Security-Policy: pages load without a refusal (the
page fixture fails a test on any), the chart is drawn, progress bars get their width and
the htmx quick search works without eval."""

import pytest

from apps.audit.services import audit_record
from apps.catalog.importing.billing import import_billing
from apps.catalog.models import BillingReport, ImportRun, Organization
from tests.browser.conftest import sign_in
from tests.catalog.generator import write_recon_csv
from tests.catalog.scenarios import march_rows
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def march(tmp_path):
    path = tmp_path / "recon-2022-03.csv"
    write_recon_csv(path, march_rows())
    import_billing([(path, path.name)], actor="tester")
    return BillingReport.objects.get()


def chart_canvas_size(page) -> dict:
    canvas = page.get_by_test_id("cost-chart").locator("canvas")
    canvas.wait_for()
    # Functions, not expressions: Playwright evaluates an expression string with eval(),
    # which the policy refuses.
    page.wait_for_function(
        "() => window.Chartkick && Object.keys(Chartkick.charts).length > 0"
        " && Boolean(Object.values(Chartkick.charts)[0].getChartObject())"
    )
    return canvas.bounding_box()


def test_the_browser_enforces_the_policy_and_the_fixture_sees_refusals(
    page, live_server, administrator, csp_refusals
):
    sign_in(page, live_server.url, administrator.username, TEST_PASSWORD)
    ran = page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.inlineScriptRan = true";
            document.body.appendChild(script);
            return window.inlineScriptRan === true;
        }"""
    )

    assert ran is False
    page.wait_for_timeout(200)  # console messages arrive asynchronously
    assert any("Content Security Policy" in message for message in csp_refusals)
    csp_refusals.clear()  # expected here; any other test fails on one


def test_the_chart_is_drawn_under_the_policy(page, live_server, march, viewer):
    sign_in(page, live_server.url, viewer.username, TEST_PASSWORD)

    for url in (
        "/reports/",
        f"/reports/{march.pk}/",
        f"/organizations/{Organization.objects.get().pk}/",
    ):
        page.goto(f"{live_server.url}{url}")
        box = chart_canvas_size(page)
        assert box["width"] > 100 and box["height"] > 100, (url, box)
        assert page.get_by_test_id("cost-chart").get_by_text("Loading...").count() == 0


def test_a_progress_bar_gets_its_width_from_static_script(page, live_server, viewer):
    run = ImportRun.objects.create(
        status="running", files=[{"name": "recon.csv"}], lines_read=40, lines_total=100
    )
    sign_in(page, live_server.url, viewer.username, TEST_PASSWORD)
    page.goto(f"{live_server.url}/imports/{run.pk}/")

    ratio = (
        "() => { const bar = document.querySelector('[data-testid=import-bar] .progress-bar');"
        " const width = (element) => element.getBoundingClientRect().width;"
        " return width(bar) / width(bar.parentElement); }"
    )
    page.wait_for_function(f"() => {{ const r = ({ratio})(); return r > 0.35 && r < 0.45; }}")
    # The progress is re-fetched by htmx every second while the run runs: still 40%.
    page.wait_for_timeout(1500)
    assert 0.35 < page.evaluate(ratio) < 0.45


def test_quick_search_swaps_the_results_without_eval(page, live_server, march, viewer):
    sign_in(page, live_server.url, viewer.username, TEST_PASSWORD)
    page.goto(f"{live_server.url}/organizations/")
    table = page.get_by_test_id("object-table")
    assert "Contoso" in table.inner_text()

    with page.expect_response(lambda response: "q=no-such-organization" in response.url):
        page.get_by_test_id("quick-search").fill("no-such-organization")
    page.get_by_test_id("empty-state").wait_for()
    assert "q=no-such-organization" in page.url


def test_main_pages_load_without_refusals(page, live_server, march, administrator):
    audit_record(
        operation="Update Markup Rule",
        before={"percent": "5"},
        after={"percent": "10"},
        user=administrator,
    )
    failed = ImportRun.objects.create(status="failed", files=[], error="Line 3: not a number")
    sign_in(page, live_server.url, administrator.username, TEST_PASSWORD)
    pages = [
        "/",
        "/organizations/",
        "/offers/",
        "/subscriptions/",
        "/reports/",
        "/imports/",
        f"/imports/{failed.pk}/",
        "/imports/new/",
        "/prices/",
        "/audit/",
        "/connections/",
        "/connections/new/",
        "/admin/",
        "/admin/auth/user/",
        f"/admin/auth/user/{administrator.pk}/change/",
        "/admin/django_q/schedule/",
        "/no-such-page/",
    ]
    for url in pages:
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")
    # Bootstrap's stylesheet applied (its data: SVG icons are allowed images).
    page.goto(f"{live_server.url}/organizations/")
    page.get_by_role("button", name="Filters").click()
    select = page.locator("#list-filter-form select").first
    assert "data:image/svg+xml" in select.evaluate("el => getComputedStyle(el).backgroundImage")
