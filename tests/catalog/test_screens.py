"""The billing screens: organizations, offers, subscriptions and billing reports.

Data comes in through `import_billing` from generated files (the March 2022 example of
tests/catalog/test_importing.py: 275.23 EUR, 30 seats), or as model objects where a test
needs many rows.
"""

import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.autotask.markups import connection_default_markups_set
from apps.autotask.models import Connection
from apps.catalog.importing.billing import import_billing
from apps.catalog.models import (
    AzureMonth,
    BillingFile,
    BillingReport,
    MarkupRule,
    MspPrice,
    Offer,
    Organization,
    Subscription,
    SubscriptionMonth,
)
from tests.catalog.generator import (
    azure_plan_recon_row,
    usage_row,
    write_recon_csv,
    write_usage_csv,
)
from tests.catalog.scenarios import CUSTOMER, SUBSCRIPTION, march_rows
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

AZURE_CUSTOMER = "0e195b37-4574-4539-bc42-0e539b9684c0"
AZURE_PLAN = "9d7d1f3d-c8de-461c-db6d-91debd5129f0"


@pytest.fixture
def signed_in(client, viewer):
    return sign_in(client, viewer)


@pytest.fixture
def march(tmp_path):
    """Microsoft's March 2022 example, imported: Contoso, 30 seats, 275.23 EUR."""
    path = tmp_path / "recon-2022-03.csv"
    write_recon_csv(path, march_rows())
    import_billing([(path, path.name)], actor="tester")
    return BillingReport.objects.get()


def azure_files(tmp_path: Path, *, usage_totals: tuple[str, str]) -> list[tuple[Path, str]]:
    """November 2025 in USD: Fabrikam's Azure plan, two invoice lines (3.26 + 0.52 = 3.78)
    and two days of usage adding up to ``usage_totals``."""
    common = {
        "CustomerId": AZURE_CUSTOMER,
        "CustomerName": "Fabrikam Inc",
        "CustomerDomainName": "fabrikam.onmicrosoft.com",
        "SubscriptionId": AZURE_PLAN,
        "InvoiceNumber": "G127575010",
    }
    invoice = tmp_path / "recon-azure.csv"
    write_recon_csv(
        invoice,
        [
            azure_plan_recon_row(**common, EffectiveUnitPrice="0.068", BillableQuantity="48",
                                 Quantity="48", Subtotal="3.26", Total="3.26"),
            azure_plan_recon_row(**common, EffectiveUnitPrice="0.05", BillableQuantity="10.5",
                                 Quantity="10.5", Subtotal="0.52", Total="0.52"),
        ],
    )  # fmt: skip
    usage = tmp_path / "usage-azure.csv"
    base = {key: common[key] for key in ("CustomerId", "CustomerName", "CustomerDomainName",
                                         "SubscriptionId")}  # fmt: skip
    write_usage_csv(
        usage,
        [
            usage_row(**base, UsageDate="11/3/2025", BillingPreTaxTotal=usage_totals[0]),
            usage_row(**base, UsageDate="11/4/2025", BillingPreTaxTotal=usage_totals[1]),
        ],
    )
    return [(invoice, invoice.name), (usage, usage.name)]


def make_month(
    month: dt.date,
    *,
    organizations: int,
    currency: str = "EUR",
    cost: str = "10.00",
    prefix: str = "Org",
) -> BillingReport:
    """A report with one organization, offer and subscription per row, as model objects;
    called again with more organizations, it adds the missing ones."""
    report, _ = BillingReport.objects.get_or_create(
        month=month, currency=currency, defaults={"invoice_numbers": [f"G{month:%Y%m}"]}
    )
    BillingFile.objects.update_or_create(
        sha256=f"{month:%Y%m}{currency}{prefix}".ljust(64, "0"),
        defaults={"line_count": organizations * 2},
        create_defaults={
            "report": report,
            "name": f"recon-{month:%Y-%m}-{currency}-{prefix}.csv",
            "format": "recon_csv",
            "kind": "invoice",
            "size": 100,
            "line_count": organizations * 2,
        },
    )
    for number in range(organizations):
        organization, _ = Organization.objects.get_or_create(
            customer_id=f"{prefix}-{number:04d}",
            defaults={"name": f"{prefix} {number:04d}", "domains": [f"o{number}.example"]},
        )
        offer, _ = Offer.objects.get_or_create(
            product_id=f"P{prefix}{number:04d}",
            sku_id="0001",
            defaults={"product_name": f"Product {number:04d}", "sku_name": f"SKU {number:04d}",
                      "record_type": "license_based", "billing_frequency": "monthly"},
        )  # fmt: skip
        subscription, _ = Subscription.objects.get_or_create(
            subscription_id=f"sub-{prefix}-{number:04d}",
            defaults={"organization": organization, "offer": offer, "quantity": D(number + 1),
                      "record_type": "license_based", "billing_frequency": "monthly"},
        )  # fmt: skip
        SubscriptionMonth.objects.get_or_create(
            report=report,
            subscription=subscription,
            defaults={"record_type": "license_based", "unit_cost": D("5"),
                      "unit_cost_source": "full-cycle row", "largest_quantity": D(number + 1),
                      "end_quantity": D(number + 1), "total_cost": D(cost),
                      "warnings": ["a warning"] if number % 2 else []},
        )  # fmt: skip
    return report


def get_page(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.content, "html.parser")


def table_rows(soup: BeautifulSoup, testid: str = "object-table") -> list[list[str]]:
    table = soup.select_one(f"[data-testid={testid}]")
    if table is None:
        return []
    return [
        [cell.get_text(" ", strip=True) for cell in row.select("td")]
        for row in table.select("tbody tr")
    ]


def table_headers(soup: BeautifulSoup, testid: str = "object-table") -> list[str]:
    table = soup.select_one(f"[data-testid={testid}]")
    return [th.get_text(strip=True) for th in table.select("thead th")]


def column(soup: BeautifulSoup, header: str, testid: str = "object-table") -> list[str]:
    """The cells of one column, top to bottom ([] when the empty state shows)."""
    if soup.select_one(f"[data-testid={testid}]") is None:
        assert soup.select_one("[data-testid=empty-state]") is not None, f"no {testid}"
        return []
    index = table_headers(soup, testid).index(header)
    return [row[index] for row in table_rows(soup, testid)]


def chart_figures(soup: BeautifulSoup) -> list[list[str]]:
    return table_rows(soup, "chart-figures")


def assert_assets_from_the_app(soup: BeautifulSoup) -> None:
    sources = [tag["src"] for tag in soup.select("script[src]")]
    assert "/static/chartkick/Chart.bundle.js" in sources
    assert "/static/chartkick/chartkick.js" in sources
    assert all(source.startswith("/static/") for source in sources), sources
    assert not any(
        (tag.get("href") or "").startswith(("http://", "https://", "//"))
        for tag in soup.select("link")
    )
    # No inline script (the Content-Security-Policy refuses it): the chart is an element
    # with its data, drawn by static/js/charts.js (tests/test_csp.py has the details).
    assert "/static/js/charts.js" in sources
    assert not [tag for tag in soup.select("script") if not tag.get("src")]
    assert soup.select_one("[data-testid=cost-chart] [data-chart]") is not None
    for name in ("chartkick/Chart.bundle.js", "chartkick/chartkick.js"):
        found = finders.find(name)
        assert found and "site-packages/chartkick/" in Path(found).as_posix(), found


# -- navigation and access -------------------------------------------------------------


def test_the_navigation_links_to_the_billing_screens(signed_in):
    soup = get_page(signed_in, "/")
    links = {a.get_text(strip=True): a["href"] for a in soup.select("[data-testid=main-nav] a")}
    # The mapping screens, with "Hide mapped" on (issue 10).
    assert links["Organizations"] == "/organizations/?is_mapped=false"
    assert links["Offers"] == "/offers/?is_mapped=false"
    assert links["Subscriptions"] == "/subscriptions/"
    assert links["Billing reports"] == "/reports/"


def test_detail_pages_answer_404_for_an_unknown_id(signed_in):
    for name in ("organization_detail", "subscription_detail", "billingreport_detail"):
        assert signed_in.get(reverse(f"catalog:{name}", args=[999999])).status_code == 404


# -- organizations ---------------------------------------------------------------------


def test_organization_list_shows_the_march_example(signed_in, march):
    soup = get_page(signed_in, "/organizations/")
    assert table_headers(soup) == [
        "Name",
        "Customer id",
        "Domains",
        "Country",
        "Autotask company",
        "Best match",
        "Subscriptions",
        "Cost March 2022",
    ]
    assert table_rows(soup) == [
        [
            "Contoso Ltd",
            CUSTOMER,
            "contoso.onmicrosoft.com",
            "US",
            "Not mapped",
            "—",
            "1",
            "275.23 EUR",
        ]
    ]
    organization = Organization.objects.get()
    link = soup.select_one("[data-testid=object-table] tbody a")
    assert link["href"] == f"/organizations/{organization.pk}/"


def test_organization_cost_is_of_the_latest_month_only(signed_in):
    make_month(dt.date(2025, 1, 1), organizations=2, cost="7.00")
    make_month(dt.date(2025, 2, 1), organizations=1, cost="9.50")
    soup = get_page(signed_in, "/organizations/")
    assert column(soup, "Cost February 2025") == ["9.50 EUR", "—"]
    make_month(dt.date(2025, 2, 1), organizations=1, cost="1.25", prefix="Low")
    for order in ("month_cost", "-month_cost"):  # no cost: last either way, on any database
        soup = get_page(signed_in, f"/organizations/?sort={order}")
        assert column(soup, "Cost February 2025")[-1] == "—"
    assert column(soup, "Cost February 2025") == ["9.50 EUR", "1.25 EUR", "—"]


def test_an_organization_billed_in_two_currencies_is_not_added_up(signed_in):
    make_month(dt.date(2025, 2, 1), organizations=1, cost="9.50", currency="EUR")
    make_month(dt.date(2025, 2, 1), organizations=1, cost="3.00", currency="USD")
    soup = get_page(signed_in, "/organizations/")
    assert column(soup, "Cost February 2025") == ["several currencies"]


def test_organization_search_filters_and_sorting(signed_in):
    make_month(dt.date(2025, 1, 1), organizations=3, prefix="Org")
    Organization.objects.create(customer_id="lonely", name="Lonely Ltd", country="NL")
    names = lambda query: column(get_page(signed_in, "/organizations/" + query), "Name")  # noqa: E731
    assert names("") == ["Lonely Ltd", "Org 0000", "Org 0001", "Org 0002"]
    assert names("?q=0001") == ["Org 0001"]
    assert names("?q=o2.example") == ["Org 0002"]  # a domain
    assert names("?q=org+0002") == ["Org 0002"]  # every word, any field
    assert names("?country=nl") == ["Lonely Ltd"]
    assert names("?has_subscriptions=false") == ["Lonely Ltd"]
    assert names("?has_subscriptions=true") == ["Org 0000", "Org 0001", "Org 0002"]
    assert names("?sort=-name") == ["Org 0002", "Org 0001", "Org 0000", "Lonely Ltd"]
    assert names("?sort=-subscription_count")[-1] == "Lonely Ltd"


def test_organization_detail_lists_subscriptions_and_charts_the_cost(signed_in, march):
    organization = Organization.objects.get()
    soup = get_page(signed_in, f"/organizations/{organization.pk}/")
    assert soup.select_one("[data-testid=title]").get_text(strip=True) == "Contoso Ltd"
    assert column(soup, "Offer", "subscription-table") == [
        "Microsoft 365 Business Standard (monthly)"
    ]
    assert column(soup, "Quantity", "subscription-table") == ["30"]
    assert "Organization" not in table_headers(soup, "subscription-table")
    assert chart_figures(soup) == [["Mar 2022", "275.23"]]
    assert soup.select_one("[data-testid=sales-pending]") is not None
    assert_assets_from_the_app(soup)


def test_organization_chart_covers_the_last_12_reports(signed_in):
    for month in range(1, 13):
        make_month(dt.date(2024, month, 1), organizations=1, cost=f"{month}.00")
    make_month(dt.date(2025, 1, 1), organizations=2, cost="20.00")  # Org 0001 starts here
    first = Organization.objects.get(customer_id="Org-0000")
    soup = get_page(signed_in, f"/organizations/{first.pk}/")
    figures = chart_figures(soup)
    assert len(figures) == 12
    assert figures[0] == ["Feb 2024", "2.00"]
    assert figures[-1] == ["Jan 2025", "20.00"]
    second = Organization.objects.get(customer_id="Org-0001")
    figures = chart_figures(get_page(signed_in, f"/organizations/{second.pk}/"))
    assert figures[0] == ["Feb 2024", "0.00"]  # a report without it: nothing billed
    assert figures[-1] == ["Jan 2025", "20.00"]


def test_an_organization_without_cost_has_no_chart(signed_in):
    organization = Organization.objects.create(customer_id="x", name="New Ltd")
    soup = get_page(signed_in, f"/organizations/{organization.pk}/")
    assert soup.select_one("[data-testid=chart-empty]") is not None
    assert soup.select_one("[data-testid=empty-state]").get_text(strip=True) == (
        "No subscriptions for this organization."
    )
    assert not soup.select("script[src*=chartkick]")


# -- offers ----------------------------------------------------------------------------


def test_offer_list_shows_the_offers_in_use_with_their_subscriptions(signed_in, march):
    Offer.objects.create(product_id="UNUSED", sku_id="0001", product_name="Visio Plan 2",
                         sku_name="Visio Plan 2", term="P1M", billing_frequency="monthly",
                         record_type="license_based", publisher="Microsoft")  # fmt: skip
    make_month(dt.date(2025, 1, 1), organizations=1, prefix="Org")
    soup = get_page(signed_in, "/offers/")
    assert table_headers(soup) == [
        "Offer",
        "Billing frequency",
        "Term",
        "Record type",
        "Subscriptions",
        "Autotask service",
    ]
    rows = table_rows(soup)
    # Visio has no subscription: it is not listed (nothing of it is ever exported).
    assert len(rows) == 2
    assert rows[0][0].startswith("Microsoft 365 Business Standard")
    assert rows[0][1:] == [
        "Monthly",
        "P1Y",
        "Licence-based (CSP 365)",
        "1",
        "Not mapped",
    ]
    offers = lambda query: [  # noqa: E731
        text.split(" ")[0] for text in column(get_page(signed_in, "/offers/" + query), "Offer")
    ]
    assert offers("?q=visio") == []
    assert offers("?q=CFQ7TTC0LDPB") == ["Microsoft"]  # the product id
    assert offers("?sort=-product_name")[-1] == "Microsoft"
    assert offers("?record_type=azure_plan") == []


def test_a_blank_tri_state_filter_is_not_counted_as_a_filter(signed_in):
    soup = get_page(signed_in, "/organizations/?has_subscriptions=&q=")
    assert soup.select_one("#list-filter-form.show") is None
    soup = get_page(signed_in, "/organizations/?has_subscriptions=false")
    assert soup.select_one("#list-filter-form.show") is not None
    selected = soup.select_one("select[name=has_subscriptions] option[selected]")
    assert selected.get_text(strip=True) == "No"
    options = soup.select("select[name=has_subscriptions] option")
    assert [(o["value"], o.get_text(strip=True)) for o in options] == [
        ("", "Any"),
        ("true", "Yes"),
        ("false", "No"),
    ]
    # "Hide mapped" has its own toggle: arriving with it does not open the filters.
    soup = get_page(signed_in, "/organizations/?is_mapped=false")
    assert soup.select_one("#list-filter-form.show") is None


# -- subscriptions ---------------------------------------------------------------------


def test_subscription_list_shows_the_march_example(signed_in, march):
    soup = get_page(signed_in, "/subscriptions/")
    assert table_headers(soup) == [
        "Organization",
        "Offer",
        "Quantity",
        "Status",
        "Term end",
        "Billing frequency",
        "Record type",
        "Company",
        "Autotask contract",
        "History",
    ]
    assert table_rows(soup) == [
        [
            "Contoso Ltd",
            "Microsoft 365 Business Standard (monthly)",
            "30",
            "Active",
            "2023-03-04",
            "Monthly",
            "Licence-based (CSP 365)",
            "— not mapped",
            "Map the organization first",
            "Audit log",
        ]
    ]
    subscription = Subscription.objects.get()
    links = [a["href"] for a in soup.select("[data-testid=object-table] tbody a")]
    assert links == [
        f"/organizations/{subscription.organization_id}/",
        f"/subscriptions/{subscription.pk}/",
        f"/audit/?object={subscription.subscription_id}",
    ]


def test_subscription_filters_search_and_sorting(signed_in, tmp_path, march):
    import_billing(azure_files(tmp_path, usage_totals=("1.89", "1.89")))
    make_month(dt.date(2025, 12, 1), organizations=2, prefix="Org")
    Subscription.objects.filter(subscription_id="sub-Org-0001").update(
        status="cancelled", billing_frequency="annual"
    )
    listed = lambda query: column(get_page(signed_in, "/subscriptions/" + query), "Organization")  # noqa: E731
    assert listed("") == ["Contoso Ltd", "Fabrikam Inc", "Org 0000", "Org 0001"]
    assert listed("?status=cancelled") == ["Org 0001"]
    assert listed("?status=active") == ["Contoso Ltd", "Fabrikam Inc", "Org 0000"]
    assert listed("?record_type=azure_plan") == ["Fabrikam Inc"]
    assert listed("?billing_frequency=annual") == ["Org 0001"]
    assert listed("?billing_frequency=annual&status=active") == []
    assert listed("?organization=fabrikam") == ["Fabrikam Inc"]
    assert listed(f"?organization={CUSTOMER}") == ["Contoso Ltd"]
    assert listed("?organization=o1.example") == ["Org 0001"]
    assert listed(f"?q={SUBSCRIPTION[:8]}") == ["Contoso Ltd"]
    assert listed("?q=business+standard") == ["Contoso Ltd"]
    assert listed("?q=nothing-like-this") == []
    assert listed("?sort=-organization") == ["Org 0001", "Org 0000", "Fabrikam Inc", "Contoso Ltd"]
    assert listed("?sort=-quantity")[0] == "Contoso Ltd"  # 30 seats
    assert listed("?sort=quantity")[-1] == "Fabrikam Inc"  # Azure plan: no quantity, last
    assert listed("?sort=-quantity")[-1] == "Fabrikam Inc"


def test_subscription_detail_shows_its_monthly_history(signed_in, march):
    subscription = Subscription.objects.get()
    soup = get_page(signed_in, f"/subscriptions/{subscription.pk}/")
    assert soup.select_one("[data-testid=quantity]").get_text(strip=True) == "30"
    facts = soup.select_one("[data-testid=subscription-facts]").get_text(" ", strip=True)
    assert "Contoso Ltd" in facts
    assert SUBSCRIPTION in facts
    assert table_headers(soup, "month-table") == [
        "Month",
        "Record type",
        "Unit cost / month",
        "Unit cost from",
        "Largest quantity",
        "End quantity",
        "Total",
        "Notes",
        "Warnings",
    ]
    [row] = table_rows(soup, "month-table")
    assert row[:7] == [
        "March 2022 (EUR)",
        "Licence-based (CSP 365)",
        "12.00",
        "full-cycle row",
        "30",
        "30",
        "275.23",
    ]
    assert row[8] == "—"
    report = BillingReport.objects.get()
    assert soup.select_one("[data-testid=month-table] tbody a")["href"] == f"/reports/{report.pk}/"


def test_subscription_detail_shows_warnings_and_carried_months(signed_in):
    make_month(dt.date(2025, 1, 1), organizations=2)
    month = SubscriptionMonth.objects.get(subscription__subscription_id="sub-Org-0001")
    month.carried_forward = True
    month.save()
    soup = get_page(signed_in, f"/subscriptions/{month.subscription_id}/")
    [row] = table_rows(soup, "month-table")
    assert row[7] == "carried forward"
    assert row[8] == "a warning"


def test_a_subscription_without_months_says_so(signed_in):
    make_month(dt.date(2025, 1, 1), organizations=1)
    subscription = Subscription.objects.get()
    SubscriptionMonth.objects.all().delete()
    soup = get_page(signed_in, f"/subscriptions/{subscription.pk}/")
    assert soup.select_one("[data-testid=empty-state]").get_text(strip=True) == (
        "No billing report has this subscription yet."
    )


# -- billing reports -------------------------------------------------------------------


def test_billing_report_list_shows_the_march_example_and_the_chart(signed_in, march):
    soup = get_page(signed_in, "/reports/")
    assert table_headers(soup) == ["Month", "Currency", "Invoices", "Files", "Lines", "Total cost"]
    assert table_rows(soup) == [["March 2022", "EUR", "G000000001", "1", "11", "275.23"]]
    assert soup.select_one("[data-testid=object-table] tbody a")["href"] == f"/reports/{march.pk}/"
    assert chart_figures(soup) == [["Mar 2022", "275.23"]]
    assert table_headers(soup, "chart-figures") == ["Month", "Cost (EUR)"]
    assert soup.select_one("[data-testid=sales-pending]") is not None
    assert_assets_from_the_app(soup)


def test_operators_are_offered_the_import_from_the_reports_page(client, viewer, operator):
    sign_in(client, viewer)
    soup = get_page(client, "/reports/")
    assert "Import files" not in soup.get_text()
    sign_in(client, operator)
    soup = get_page(client, "/reports/")
    link = soup.find("a", string="Import files")
    assert link["href"] == reverse("imports:importrun_create")


def test_the_msp_chart_shows_the_last_12_report_months_per_currency(signed_in):
    for month in range(1, 13):
        make_month(dt.date(2024, month, 1), organizations=2, cost="1.50")
    make_month(dt.date(2025, 1, 1), organizations=3, cost="2.00")
    make_month(dt.date(2025, 1, 1), organizations=1, cost="4.00", currency="USD", prefix="US")
    soup = get_page(signed_in, "/reports/")
    assert table_headers(soup, "chart-figures") == ["Month", "Cost (EUR)", "Cost (USD)"]
    figures = chart_figures(soup)
    assert len(figures) == 12
    assert figures[0] == ["Feb 2024", "3.00", "—"]
    assert figures[-1] == ["Jan 2025", "6.00", "4.00"]
    # The report page: the 12 report months up to its own.
    june = BillingReport.objects.get(month=dt.date(2024, 6, 1))
    figures = chart_figures(get_page(signed_in, f"/reports/{june.pk}/"))
    assert [row[0] for row in figures] == [f"{m} 2024" for m in
                                           ("Jan", "Feb", "Mar", "Apr", "May", "Jun")]  # fmt: skip


def test_the_charts_show_sales_priced_by_the_rules(signed_in):
    for month in (1, 2):  # Org 0000: 1 seat, Org 0001: 2 seats; unit cost 5.00, cost 10.00
        make_month(dt.date(2025, month, 1), organizations=2, cost="10.00")
    first = Organization.objects.get(customer_id="Org-0000")
    second = Organization.objects.get(customer_id="Org-0001")
    soup = get_page(signed_in, "/reports/")
    assert table_headers(soup, "chart-figures") == ["Month", "Cost (EUR)"]
    assert soup.select_one("[data-testid=sales-pending]") is not None

    # An MSP price for Org 0000's offer only: 9.00 × 1 seat; Org 0001 has no price.
    offer = Subscription.objects.get(organization=first).offer
    MspPrice.objects.create(offer=offer, currency="EUR", unit_price=D("9"), source="edited")
    soup = get_page(signed_in, "/reports/")
    assert table_headers(soup, "chart-figures") == ["Month", "Cost (EUR)", "Sales (EUR)"]
    assert chart_figures(soup) == [["Jan 2025", "20.00", "9.00"], ["Feb 2025", "20.00", "9.00"]]
    assert soup.select_one("[data-testid=sales-unpriced]").get_text(" ", strip=True) == (
        "Sales leave out 2 subscription months without a sales price."
    )
    assert soup.select_one("[data-testid=sales-pending]") is None

    # The only connection's default markup of 10 %: Org 0001 at 5.00 × 1.10 = 5.50 × 2 seats.
    connection = Connection(name="Autotask", username="u", integration_code="c")
    connection.set_secret("s")
    connection.save()
    connection_default_markups_set(connection=connection, markups={"license_based": "10"})
    soup = get_page(signed_in, "/reports/")
    assert chart_figures(soup)[-1] == ["Feb 2025", "20.00", "20.00"]  # 9.00 + 11.00
    assert soup.select_one("[data-testid=sales-unpriced]") is None

    # A markup rule of 20 % wins over the connection's: 5.00 × 1.20 = 6.00 × 2 seats.
    MarkupRule.objects.create(record_type="license_based", organization=None, percent=20)
    soup = get_page(signed_in, f"/organizations/{second.pk}/")
    assert chart_figures(soup) == [["Jan 2025", "10.00", "12.00"], ["Feb 2025", "10.00", "12.00"]]
    february = BillingReport.objects.get(month=dt.date(2025, 2, 1))
    soup = get_page(signed_in, f"/reports/{february.pk}/")
    assert chart_figures(soup)[-1] == ["Feb 2025", "20.00", "21.00"]  # 9.00 + 12.00


def test_billing_report_search_and_sorting(signed_in, march):
    make_month(dt.date(2025, 1, 1), organizations=1, currency="USD", cost="5.00")
    make_month(dt.date(2025, 2, 1), organizations=2, currency="EUR", cost="5.00")
    months = lambda query: column(get_page(signed_in, "/reports/" + query), "Month")  # noqa: E731
    assert months("") == ["February 2025", "January 2025", "March 2022"]
    assert months("?q=2022-03") == ["March 2022"]
    assert months("?q=march") == ["March 2022"]
    assert months("?q=2025") == ["February 2025", "January 2025"]
    assert months("?q=jan+2025") == ["January 2025"]
    assert months("?q=usd") == ["January 2025"]
    assert months("?q=G000000001") == ["March 2022"]  # an invoice number
    assert months("?q=recon-2022") == ["March 2022"]  # a file name
    assert months("?currency=eur") == ["February 2025", "March 2022"]
    assert months("?sort=month") == ["March 2022", "January 2025", "February 2025"]
    assert months("?sort=-total_cost") == ["March 2022", "February 2025", "January 2025"]
    assert months("?sort=line_count")[0] == "January 2025"  # 2 lines


def test_billing_report_detail_shows_totals_files_and_chart(signed_in, march):
    soup = get_page(signed_in, f"/reports/{march.pk}/")
    assert soup.select_one("[data-testid=title]").get_text(" ", strip=True) == "March 2022 (EUR)"
    assert soup.select_one("[data-testid=total-cost]").get_text(strip=True) == "275.23 EUR"
    assert table_rows(soup, "record-type-totals") == [["Licence-based (CSP 365)", "1", "275.23"]]
    footer = soup.select_one("[data-testid=record-type-totals] tfoot").get_text(" ", strip=True)
    assert footer == "Total 275.23"
    assert table_headers(soup, "organization-totals") == [
        "Organization",
        "Subscriptions",
        "Licence-based (CSP 365)",
        "Total cost",
    ]
    assert table_rows(soup, "organization-totals") == [["Contoso Ltd", "1", "275.23", "275.23"]]
    files = table_rows(soup, "report-files")
    assert [(row[0], row[4], row[6]) for row in files] == [("recon-2022-03.csv", "11", "tester")]
    assert soup.select_one("[data-testid=no-warnings]") is not None
    assert soup.select_one("[data-testid=azure-months]") is None
    assert chart_figures(soup) == [["Mar 2022", "275.23"]]
    assert_assets_from_the_app(soup)


def test_report_organization_totals_sort_and_split_by_record_type(signed_in, tmp_path):
    import_billing(azure_files(tmp_path, usage_totals=("1.89", "1.89")))
    report = make_month(dt.date(2025, 11, 1), organizations=3, currency="USD", cost="2.00")
    SubscriptionMonth.objects.filter(subscription__subscription_id="sub-Org-0002").update(
        total_cost=D("100.00")
    )
    soup = get_page(signed_in, f"/reports/{report.pk}/")
    assert table_headers(soup, "organization-totals") == [
        "Organization",
        "Subscriptions",
        "Licence-based (CSP 365)",
        "Azure plan",
        "Total cost",
    ]
    assert table_rows(soup, "organization-totals") == [
        ["Fabrikam Inc", "1", "—", "3.78", "3.78"],
        ["Org 0000", "1", "2.00", "—", "2.00"],
        ["Org 0001", "1", "2.00", "—", "2.00"],
        ["Org 0002", "1", "100.00", "—", "100.00"],
    ]
    url = f"/reports/{report.pk}/?organizations-sort=-total"
    first = table_rows(get_page(signed_in, url), "organization-totals")[0]
    assert first[0] == "Org 0002"
    assert table_rows(soup, "record-type-totals") == [
        ["Licence-based (CSP 365)", "3", "104.00"],
        ["Azure plan", "1", "3.78"],
    ]
    assert soup.select_one("[data-testid=total-cost]").get_text(strip=True) == "107.78 USD"


def test_report_azure_months_and_warnings(signed_in, tmp_path):
    # Usage 2.00 + 2.00 = 4.00 against the invoice's 3.78: more than rounding explains.
    import_billing(azure_files(tmp_path, usage_totals=("2.00", "2.00")))
    make_month(dt.date(2025, 11, 1), organizations=2, currency="USD")  # Org 0001 warns
    report = BillingReport.objects.get()
    assert AzureMonth.objects.get().warnings
    soup = get_page(signed_in, f"/reports/{report.pk}/")
    assert table_rows(soup, "azure-months") == [
        [
            "Fabrikam Inc",
            AZURE_PLAN,
            "3.78",
            "4.00",
            "+0.220",
            "daily usage adds up to 4.00, the invoice to 3.78: +0.22, more than rounding "
            "explains (up to 0.02)",
        ]
    ]
    warnings = [
        item.get_text(" ", strip=True) for item in soup.select("[data-testid=report-warnings] li")
    ]
    assert warnings == [
        "Org 0001 · sub-Org-0001 a warning",
        f"Fabrikam Inc · {AZURE_PLAN} Azure: daily usage adds up to 4.00, the invoice to 3.78: "
        "+0.22, more than rounding explains (up to 0.02)",
    ]


# -- empty states ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("/organizations/", "No organizations match."),
        ("/offers/", "No offers match."),
        ("/subscriptions/", "No subscriptions match."),
        ("/reports/", "No billing reports match."),
    ],
)
def test_empty_lists_say_so(signed_in, url, text):
    soup = get_page(signed_in, url)
    empty = soup.select_one("[data-testid=empty-state]").get_text(" ", strip=True)
    assert empty.startswith(text)
    assert "Clear search and filters" not in empty
    soup = get_page(signed_in, url + "?q=nothing")
    assert "Clear search and filters" in soup.select_one("[data-testid=empty-state]").get_text()


def test_the_reports_page_without_reports_has_no_chart(signed_in):
    soup = get_page(signed_in, "/reports/")
    assert soup.select_one("[data-testid=chart-empty]").get_text(strip=True) == (
        "No billing reports yet."
    )
    assert not soup.select("script[src*=chartkick]")


# -- a fixed number of queries per page ------------------------------------------------


def queries_for(client, url: str, testid: str = "object-table") -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        rows = len(table_rows(get_page(client, url), testid))
    return rows, len(queries)


@pytest.mark.parametrize(
    ("url", "testid"),
    [
        # The mapping screens show 25 rows a page: 50 puts all 30 on one.
        ("/organizations/?per_page=50", "object-table"),
        ("/offers/?per_page=50", "object-table"),
        ("/subscriptions/?per_page=50", "object-table"),
        ("/reports/", "object-table"),
    ],
)
def test_a_list_costs_the_same_queries_for_3_and_30_rows(signed_in, url, testid):
    make_month(dt.date(2025, 1, 1), organizations=3, prefix="A")
    if url == "/reports/":
        for month in (2, 3):
            make_month(dt.date(2025, month, 1), organizations=1, prefix=f"M{month}")
    few = queries_for(signed_in, url, testid)
    make_month(dt.date(2025, 1, 1), organizations=27, prefix="B")
    if url == "/reports/":
        for month in range(4, 13):
            make_month(dt.date(2025, month, 1), organizations=1, prefix=f"M{month}")
        for month in range(1, 19):
            make_month(dt.date(2024, month % 12 + 1, 1), organizations=1,
                       currency="USD" if month > 12 else "EUR", prefix=f"Y{month}")  # fmt: skip
    many = queries_for(signed_in, url, testid)
    assert (few[0], many[0]) == (3, 30)
    assert few[1] == many[1]


def test_detail_pages_cost_the_same_queries_for_3_and_30_rows(signed_in):
    """An organization with 3, then 30 subscriptions; a report with 3, then 30
    organizations; a subscription in 3, then 30 reports (each month with a warning)."""
    report = make_month(dt.date(2020, 1, 1), organizations=3, prefix="A")
    big = Organization.objects.get(customer_id="A-0000")
    subscription = Subscription.objects.get(subscription_id="sub-A-0000")

    def grow(count: int) -> None:
        start = Subscription.objects.filter(organization=big).count()
        offer = subscription.offer
        for number in range(start, count):
            Subscription.objects.create(
                subscription_id=f"big-{number}", organization=big, offer=offer, quantity=1
            )
        make_month(report.month, organizations=count, prefix="A")
        months = SubscriptionMonth.objects.filter(subscription=subscription).count()
        for number in range(months, count):
            other = BillingReport.objects.create(month=dt.date(2021 + number, 1, 1), currency="EUR")
            SubscriptionMonth.objects.create(
                report=other, subscription=subscription, total_cost=D(1), warnings=["w"]
            )

    pages = {
        f"/organizations/{big.pk}/": "subscription-table",
        f"/reports/{report.pk}/": "organization-totals",
        f"/subscriptions/{subscription.pk}/": "month-table",
    }
    grow(3)
    few = [queries_for(signed_in, url, testid) for url, testid in pages.items()]
    grow(30)
    many = [queries_for(signed_in, url, testid) for url, testid in pages.items()]
    assert [rows for rows, _ in few] == [3, 3, 3]
    assert [rows for rows, _ in many] == [30, 30, 30]
    assert [count for _, count in few] == [count for _, count in many]
