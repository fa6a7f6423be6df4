"""In a real browser, with a real worker: an Operator uploads two billing files, watches
the progress bar finish, and sees the report totals; uploads a price list and sees sales
beside cost in the chart."""

import pytest

from apps.catalog.importing.billing import import_billing
from tests.browser.conftest import sign_in
from tests.catalog.generator import write_recon_csv
from tests.catalog.scenarios import march_rows
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_uploads_two_files_and_sees_the_totals(
    page, live_server, worker, operator, tmp_path
):
    rows = march_rows()
    first, second = tmp_path / "recon-part-1.csv", tmp_path / "recon-part-2.csv"
    write_recon_csv(first, rows[:5])
    write_recon_csv(second, [{**row, "InvoiceNumber": "G000000002"} for row in rows[5:]])

    sign_in(page, live_server.url, operator.username, TEST_PASSWORD)
    page.get_by_test_id("main-nav").get_by_role("link", name="Billing reports").click()
    page.get_by_role("link", name="Import files").click()
    page.get_by_label("Partner Center files").set_input_files([str(first), str(second)])
    page.get_by_role("button", name="Import").click()

    bar = page.get_by_test_id("import-bar")
    bar.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=import-bar]')"
        ".getAttribute('aria-valuenow') === '100'",
        timeout=60_000,
    )
    assert page.get_by_test_id("import-status").inner_text() == "Succeeded"
    totals = page.get_by_test_id("import-totals").inner_text()
    assert "license_based" in totals and "275.23" in totals
    assert "11 of about 11 lines" in page.get_by_test_id("import-lines").inner_text()

    page.get_by_role("link", name="March 2022 (EUR)").click()
    page.get_by_role("heading", name="March 2022 (EUR)").wait_for()
    assert "275.23" in page.content()


def test_operator_uploads_a_price_list_and_the_chart_shows_sales(
    page, live_server, worker, operator, tmp_path
):
    recon = tmp_path / "recon.csv"
    write_recon_csv(recon, march_rows())
    import_billing([(recon, recon.name)], actor="test")
    # Business Standard as billed in the March example (P1Y, monthly), 14.90 EUR a seat.
    prices = tmp_path / "our-prices.csv"
    prices.write_text(
        "ProductId,SkuId,AvailabilityId,Term,BillingFrequency,Currency,UnitPrice\n"
        "CFQ7TTC0LDPB,0001,,P1Y,Monthly,EUR,14.90\n"
    )

    sign_in(page, live_server.url, operator.username, TEST_PASSWORD)
    page.goto(f"{live_server.url}/prices/")
    page.get_by_role("link", name="Import price list").click()
    page.get_by_label("Price list").set_input_files(str(prices))
    page.get_by_role("button", name="Import").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=import-bar]')"
        ".getAttribute('aria-valuenow') === '100'",
        timeout=60_000,
    )
    result = page.get_by_test_id("import-result").inner_text()
    assert "MSP prices: 1 new" in result

    page.goto(f"{live_server.url}/reports/")
    page.get_by_test_id("cost-chart").get_by_text("Figures").click()
    figures = page.get_by_test_id("chart-figures").inner_text()
    # 14.90 × the largest quantity of March, 30 seats = 447.00 beside the cost of 275.23.
    assert "Sales (EUR)" in figures
    assert "275.23" in figures and "447.00" in figures
