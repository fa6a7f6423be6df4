"""Sales prices: the rules in order, the report resolver, the MSP price list, the screens.

Every expected value is worked out by hand in the comment beside it.
"""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.models import (
    BillingReport,
    MarkupRule,
    MicrosoftPrice,
    MspPrice,
    Offer,
    Organization,
    Subscription,
    SubscriptionMonth,
)
from apps.catalog.prices.month_prices import (
    priced_months,
    resolve_report_prices,
    resolved_sales_total,
)
from apps.catalog.prices.rules import ResolvedPrice, resolve_sales_price
from apps.catalog.prices.services import msp_price_list_import
from tests.catalog.factories import MspPriceFactory, OfferFactory, OrganizationFactory
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

FEB = dt.date(2025, 2, 1)
MSP_HEADER = "ProductId,SkuId,AvailabilityId,Term,BillingFrequency,Currency,UnitPrice\n"


def make_offer(product_id="CFQ7TTC0LH18", **values) -> Offer:
    """Business Basic, annual, with an availability id (the price rules need all three)."""
    defaults = {
        "availability_id": "CFQ7TTC0K59S",
        "term": "P1Y",
        "billing_frequency": "annual",
        "product_name": "Microsoft 365 Business Basic",
        "sku_name": "Microsoft 365 Business Basic",
    }
    return OfferFactory(product_id=product_id, **{**defaults, **values})


def make_organization(name="Contoso Ltd", country="US", number=1) -> Organization:
    return OrganizationFactory(
        customer_id=f"00000000-0000-4000-8000-{number:012d}", name=name, country=country
    )


def erp_row(erp="132", **values) -> MicrosoftPrice:
    defaults = {
        "product_id": "CFQ7TTC0LH18",
        "sku_id": "0001",
        "term": "P1Y",
        "billing_frequency": "annual",
        "market": "US",
        "currency": "USD",
        "segment": "Commercial",
        "unit_price": D("110"),
        "effective_start": dt.date(2025, 1, 1),
        "effective_end": None,
    }
    return MicrosoftPrice.objects.create(
        erp_price=D(erp) if erp else None, **{**defaults, **values}
    )


@pytest.fixture
def offer():
    return make_offer()


@pytest.fixture
def contoso():
    return make_organization()


def resolve(offer, organization, *, cost="10", record_type="license_based", currency="USD",
            month=FEB, markups=None) -> ResolvedPrice:  # fmt: skip
    return resolve_sales_price(
        offer=offer,
        organization=organization,
        record_type=record_type,
        currency=currency,
        month=month,
        unit_cost=D(cost) if cost is not None else None,
        markups=markups,
    )


# -- the rules, one at a time and in order ------------------------------------------------


def test_each_rule_in_turn_msp_erp_organization_record_type_connection_none(offer, contoso):
    markups = {"license_based": "5"}  # a connection's default markups, as it keeps them
    MspPriceFactory(offer=offer, unit_price=D("12.5"))
    erp_row("132")
    MarkupRule.objects.create(record_type="license_based", organization=contoso, percent=20)
    MarkupRule.objects.create(record_type="license_based", organization=None, percent=15)

    price = resolve(offer, contoso, markups=markups)
    assert (price.unit_price, price.source) == (D("12.50"), "msp_price")  # the MSP's own
    assert "Edited in syncadmin" in price.detail

    MspPrice.objects.all().delete()
    price = resolve(offer, contoso, markups=markups)
    assert (price.unit_price, price.source) == (D("11.00"), "microsoft_erp")  # 132 / 12
    assert "132.00 USD per annual billing ÷ 12" in price.detail

    MicrosoftPrice.objects.all().delete()
    price = resolve(offer, contoso, markups=markups)
    assert (price.unit_price, price.source) == (D("12.00"), "markup_organization")  # 10 × 1.20
    assert "Contoso Ltd" in price.detail

    MarkupRule.objects.filter(organization=contoso).delete()
    price = resolve(offer, contoso, markups=markups)
    assert (price.unit_price, price.source) == (D("11.50"), "markup_record_type")  # 10 × 1.15

    MarkupRule.objects.all().delete()
    price = resolve(offer, contoso, markups=markups)
    assert (price.unit_price, price.source) == (D("10.50"), "markup_connection_default")  # ×1.05
    assert "+ 5% (the connection's default markup for Licence-based" in price.detail

    price = resolve(offer, contoso, markups={"license_based": "five"})
    assert price.source == "none"
    assert "the connection's default markup 'five' is not a number" in price.detail

    price = resolve(offer, contoso, markups=None)
    assert price == ResolvedPrice(None, "none", price.detail)
    assert "no MSP price in USD" in price.detail
    assert "no markup for Licence-based (CSP 365)" in price.detail


def test_another_organizations_rule_does_not_apply(offer, contoso):
    fabrikam = make_organization("Fabrikam", number=2)
    MarkupRule.objects.create(record_type="license_based", organization=fabrikam, percent=50)
    MarkupRule.objects.create(record_type="azure_plan", organization=None, percent=50)
    assert resolve(offer, contoso).source == "none"
    assert resolve(offer, fabrikam).unit_price == D("15.00")  # 10 × 1.50


def test_the_final_price_is_rounded_half_up_to_the_cent(offer, contoso):
    MarkupRule.objects.create(record_type="license_based", organization=None, percent=5)
    assert resolve(offer, contoso, cost="2.50").unit_price == D("2.63")  # 2.625 → 2.63
    assert resolve(offer, contoso, cost="3.33").unit_price == D("3.50")  # 3.4965 → 3.50
    MspPriceFactory(offer=offer, unit_price=D("7.125"))
    assert resolve(offer, contoso).unit_price == D("7.13")


def test_a_markup_without_a_unit_cost_gives_no_price(offer, contoso):
    MarkupRule.objects.create(record_type="license_based", organization=None, percent=20)
    price = resolve(offer, contoso, cost=None)
    assert (price.unit_price, price.source) == (None, "none")
    assert "no unit cost" in price.detail


def test_an_msp_price_in_another_currency_does_not_apply(offer, contoso):
    MspPriceFactory(offer=offer, currency="EUR", unit_price=D("9"))
    erp_row("132")
    assert resolve(offer, contoso).source == "microsoft_erp"


# -- the Microsoft ERP --------------------------------------------------------------------


def test_erp_monthly_equivalent_per_billing_plan(contoso):
    annual = make_offer(availability_id="A")
    monthly = make_offer(availability_id="B", billing_frequency="monthly")
    triennial = make_offer(availability_id="C", term="P3Y", billing_frequency="triennial")
    one_time = make_offer(availability_id="D", term="", billing_frequency="one_time")
    erp_row("132")  # annual
    erp_row("7.2", billing_frequency="monthly")
    erp_row("396", term="P3Y", billing_frequency="triennial")
    erp_row("100", term="", billing_frequency="one_time")
    assert resolve(annual, contoso).unit_price == D("11.00")  # 132 / 12
    assert resolve(monthly, contoso).unit_price == D("7.20")  # 7.20 / 1
    assert resolve(triennial, contoso).unit_price == D("11.00")  # 396 / 36
    price = resolve(one_time, contoso)
    assert price.source == "none"  # no monthly equivalent of a one-time price
    assert "no monthly ERP for the billing plan" in price.detail


def test_erp_in_another_currency_is_skipped(offer, contoso):
    erp_row("120", currency="EUR", market="DE")
    MarkupRule.objects.create(record_type="license_based", organization=None, percent=20)
    price = resolve(offer, contoso, currency="USD")
    assert (price.unit_price, price.source) == (D("12.00"), "markup_record_type")
    assert resolve(offer, contoso, currency="EUR").unit_price == D("10.00")  # 120 / 12


def test_erp_must_match_term_and_billing_plan_and_be_in_force(offer, contoso):
    erp_row("7.2", billing_frequency="monthly")  # another billing plan
    erp_row("80", term="P1M")  # another term
    erp_row("144", effective_start=dt.date(2025, 3, 1))  # from March
    erp_row("156", effective_start=dt.date(2024, 1, 1), effective_end=dt.date(2024, 12, 31))
    assert resolve(offer, contoso).source == "none"
    assert resolve(offer, contoso, month=dt.date(2025, 3, 20)).unit_price == D("12.00")  # 144/12


def test_the_latest_erp_in_force_wins(offer, contoso):
    erp_row("120", effective_start=dt.date(2025, 1, 1))
    erp_row("132", effective_start=dt.date(2025, 2, 1))
    assert resolve(offer, contoso, month=dt.date(2025, 1, 1)).unit_price == D("10.00")  # 120/12
    assert resolve(offer, contoso, month=FEB).unit_price == D("11.00")  # 132 / 12


def test_erp_of_the_organizations_market_first_then_the_lowest_market_code(offer):
    erp_row("144", currency="EUR", market="AT")
    erp_row("120", currency="EUR", market="DE")
    german = make_organization("Contoso GmbH", country="DE", number=3)
    nowhere = make_organization("Contoso", country="", number=4)
    assert resolve(offer, german, currency="EUR").unit_price == D("10.00")  # DE: 120 / 12
    assert resolve(offer, nowhere, currency="EUR").unit_price == D("12.00")  # AT: 144 / 12


def test_an_erp_row_without_erp_falls_through_to_markup(offer, contoso):
    erp_row(None)
    MarkupRule.objects.create(record_type="license_based", organization=None, percent=10)
    assert resolve(offer, contoso).source == "markup_record_type"


# -- charges and Azure --------------------------------------------------------------------


def test_azure_plan_has_its_own_markup_per_customer_and_never_an_erp(contoso):
    azure = make_offer("DZH318Z0BPS6", availability_id="", term="", billing_frequency="monthly",
                       record_type="azure_plan")  # fmt: skip
    erp_row("999", product_id="DZH318Z0BPS6", term="", billing_frequency="monthly")
    MarkupRule.objects.create(record_type="license_based", organization=contoso, percent=50)
    MarkupRule.objects.create(record_type="azure_plan", organization=None, percent=8)
    price = resolve(azure, contoso, cost="200", record_type="azure_plan")
    assert (price.unit_price, price.source) == (D("216.00"), "markup_record_type")  # 200 × 1.08
    MarkupRule.objects.create(record_type="azure_plan", organization=contoso, percent=12)
    price = resolve(azure, contoso, cost="200", record_type="azure_plan")
    assert (price.unit_price, price.source) == (D("224.00"), "markup_organization")  # × 1.12
    assert price.detail.startswith("total cost 200.00 USD + 12%")


# -- a whole report -----------------------------------------------------------------------


@pytest.fixture
def report_setup():
    """Seven subscription months of February 2025 (USD), one per way of pricing."""
    contoso = make_organization()
    fabrikam = make_organization("Fabrikam", number=2)
    report = BillingReport.objects.create(month=FEB, currency="USD")

    def month(code, organization, offer, record_type, *, cost=None, total="0", largest=None):
        subscription = Subscription.objects.create(
            subscription_id=f"sub-{code}", organization=organization, offer=offer,
            record_type=record_type,
        )  # fmt: skip
        return SubscriptionMonth.objects.create(
            report=report,
            subscription=subscription,
            record_type=record_type,
            unit_cost=D(cost) if cost is not None else None,
            total_cost=D(total),
            largest_quantity=D(largest) if largest is not None else None,
        )

    a = make_offer("PROD-A")
    MspPriceFactory(offer=a, unit_price=D("12.5"), source="price_list")
    b = make_offer()
    erp_row("132")
    c = make_offer("PROD-C")
    MarkupRule.objects.create(record_type="license_based", organization=contoso, percent=20)
    MarkupRule.objects.create(record_type="license_based", organization=None, percent=15)
    e = make_offer("DZH318Z0BPS6", availability_id="", term="", billing_frequency="monthly",
                   record_type="azure_plan")  # fmt: skip
    MarkupRule.objects.create(record_type="azure_plan", organization=fabrikam, percent=10)
    f = make_offer("MARKET-F", record_type="marketplace")
    MspPriceFactory(offer=f, unit_price=D("4"))
    g = make_offer("SOFTWARE-G", record_type="software_subscription")
    months = {
        "A": month("a", contoso, a, "license_based", cost="9", largest="10"),  # 12.50 × 10
        "B": month("b", contoso, b, "license_based", cost="9", largest="3"),  # 11.00 × 3
        "C": month("c", contoso, c, "license_based", cost="10", largest="2"),  # 12.00 × 2
        "D": month("d", fabrikam, c, "license_based", cost="8", largest="5"),  # 9.20 × 5
        "E": month("e", fabrikam, e, "azure_plan", total="200"),  # 200 × 1.10
        "F": month("f", fabrikam, f, "marketplace", cost="3", total="9", largest="3"),  # 4 × 3
        "G": month("g", contoso, g, "software_subscription", total="100"),  # none, or × 1.05
    }
    return report, months


def test_the_report_resolver_answers_like_the_single_one_in_four_queries(
    report_setup, django_assert_num_queries
):
    report, months = report_setup
    markups = {"software_subscription": "5"}
    with django_assert_num_queries(4):
        resolved = resolve_report_prices(report=report, markups=markups)
    expected = {
        "A": (D("12.50"), "msp_price"),
        "B": (D("11.00"), "microsoft_erp"),
        "C": (D("12.00"), "markup_organization"),
        "D": (D("9.20"), "markup_record_type"),  # 8 × 1.15
        "E": (D("220.00"), "markup_organization"),  # the month's total × 1.10
        "F": (D("4.00"), "msp_price"),
        "G": (D("105.00"), "markup_connection_default"),  # 100 × 1.05
    }
    assert {code: (resolved[row.pk].unit_price, resolved[row.pk].source)
            for code, row in months.items()} == expected  # fmt: skip
    for row in months.values():
        row = SubscriptionMonth.objects.select_related(
            "subscription__offer", "subscription__organization"
        ).get(pk=row.pk)
        charge = row.record_type != "license_based"
        single = resolve_sales_price(
            offer=row.subscription.offer,
            organization=row.subscription.organization,
            record_type=row.record_type,
            currency="USD",
            month=report.month,
            unit_cost=row.total_cost if charge else row.unit_cost,
            markups=markups,
        )
        assert single == resolved[row.pk]


def test_the_report_resolver_costs_four_queries_whatever_the_size(
    report_setup, django_assert_num_queries
):
    report, _ = report_setup
    organization = Organization.objects.get(name="Fabrikam")
    for number in range(20):
        offer = make_offer(f"MORE-{number}")
        subscription = Subscription.objects.create(
            subscription_id=f"more-{number}", organization=organization, offer=offer
        )
        SubscriptionMonth.objects.create(
            report=report, subscription=subscription, record_type="license_based",
            unit_cost=D("1"), total_cost=D("1"), largest_quantity=D("1"),
        )  # fmt: skip
    with django_assert_num_queries(4):
        assert len(resolve_report_prices(report=report)) == 27


def test_resolved_sales_total(report_setup, django_assert_num_queries):
    report, _ = report_setup
    # 125.00 + 33.00 + 24.00 + 46.00 + 220.00 + 12.00 = 460.00; G has no price: adds nothing
    assert resolved_sales_total(report=report) == D("460.00")
    with django_assert_num_queries(4):
        total = resolved_sales_total(report=report, markups={"software_subscription": 5})
    assert total == D("565.00")  # + G: 100 × 1.05


def test_months_of_several_reports_are_priced_each_by_its_own_month_in_four_queries(
    offer, contoso, django_assert_num_queries
):
    # The ERP changes on Mar 1: 132 a year until then, 144 from then on (÷ 12 a month).
    erp_row("132", effective_end=dt.date(2025, 2, 28))
    erp_row("144", effective_start=dt.date(2025, 3, 1))
    erp_row("99", currency="EUR", market="DE")  # EUR, all the time
    subscription = Subscription.objects.create(
        subscription_id="sub-1", organization=contoso, offer=offer, record_type="license_based"
    )
    reports = {
        (month, currency): BillingReport.objects.create(month=month, currency=currency)
        for month in (FEB, dt.date(2025, 3, 1))
        for currency in ("USD", "EUR")
    }
    for report in reports.values():
        SubscriptionMonth.objects.create(
            report=report, subscription=subscription, record_type="license_based",
            unit_cost=D("9"), total_cost=D("9"), largest_quantity=D("1"),
        )  # fmt: skip

    with django_assert_num_queries(4):
        priced = priced_months(SubscriptionMonth.objects.all())

    assert {(row.month, row.currency): price.unit_price for row, price in priced} == {
        (FEB, "USD"): D("11.00"),  # 132 / 12
        (dt.date(2025, 3, 1), "USD"): D("12.00"),  # 144 / 12
        (FEB, "EUR"): D("8.25"),  # 99 / 12
        (dt.date(2025, 3, 1), "EUR"): D("8.25"),
    }


def test_a_month_is_priced_as_the_offer_it_ended_on(offer, contoso):
    # Upgraded in February: the subscription's month ended on E3, which has an MSP price.
    target = make_offer("CFQ7TTC0LFK5", product_name="Office 365 E3")
    MspPriceFactory(offer=target, unit_price=D("23"))
    subscription = Subscription.objects.create(
        subscription_id="sub-1", organization=contoso, offer=offer, record_type="license_based"
    )
    report = BillingReport.objects.create(month=FEB, currency="USD")
    month = SubscriptionMonth.objects.create(
        report=report, subscription=subscription, offer=target, record_type="license_based",
        unit_cost=D("20"), total_cost=D("20"), largest_quantity=D("2"),
    )  # fmt: skip

    price = resolve_report_prices(report=report)[month.pk]

    assert (price.unit_price, price.source) == (D("23.00"), "msp_price")
    assert resolved_sales_total(report=report) == D("46.00")  # 23.00 × 2


# -- the MSP price list -------------------------------------------------------------------


def write_msp(tmp_path, body: str, name="msp.csv"):
    path = tmp_path / name
    path.write_text(MSP_HEADER + body, encoding="utf-8")
    return path


def test_msp_price_list_import(tmp_path):
    existing = make_offer()  # CFQ7TTC0LH18:0001 / CFQ7TTC0K59S, P1Y annual
    MspPriceFactory(offer=existing, unit_price=D("10"))
    monthly_a = make_offer("CFQ7TTC0LDPB", availability_id="AV1", billing_frequency="monthly")
    monthly_b = make_offer("CFQ7TTC0LDPB", availability_id="AV2", billing_frequency="monthly")
    unchanged = make_offer("CFQ7TTC0LF8Q", availability_id="AV9", term="P1M",
                           billing_frequency="monthly")  # fmt: skip
    MspPriceFactory(offer=unchanged, unit_price=D("3"))
    path = write_msp(
        tmp_path,
        "CFQ7TTC0LH18,0001,CFQ7TTC0K59S,P1Y,Annual,USD,12.50\n"  # changes 10 → 12.50
        "CFQ7TTC0LDPB,1,,P12M,monthly,usd,15\n"  # blank availability: both offers
        "CFQ7TTC0LDPB,0001,AV2,P1Y,Monthly,USD,14\n"  # AV2 named: beats the line above
        "CFQ7TTC0LF8Q,0001,AV9,P1M,Monthly,USD,3.00\n"  # the same price: unchanged
        "NEWPRODUCT01,0002,,P3Y,Triennial,EUR,99\n",  # not sold yet: a new offer
    )
    out = io.StringIO()
    call_command("import_pricelist", str(path), stdout=out)
    assert out.getvalue().strip() == (
        "msp.csv (MSP price list): 5 rows; prices: 3 new, 1 changed, 1 unchanged; offers: 1 new."
    )
    prices = {
        (price.offer.product_id, price.offer.availability_id, price.currency): (
            price.unit_price,
            price.source,
        )
        for price in MspPrice.objects.select_related("offer")
    }
    assert prices == {
        ("CFQ7TTC0LH18", "CFQ7TTC0K59S", "USD"): (D("12.5"), "price_list"),
        ("CFQ7TTC0LDPB", "AV1", "USD"): (D("15"), "price_list"),
        ("CFQ7TTC0LDPB", "AV2", "USD"): (D("14"), "price_list"),
        ("CFQ7TTC0LF8Q", "AV9", "USD"): (D("3"), "edited"),
        ("NEWPRODUCT01", "", "EUR"): (D("99"), "price_list"),
    }
    new = Offer.objects.get(product_id="NEWPRODUCT01")
    assert (new.sku_id, new.term, new.billing_frequency) == ("0002", "P3Y", "triennial")
    assert {monthly_a.pk, monthly_b.pk} <= set(MspPrice.objects.values_list("offer", flat=True))
    entry = AuditEntry.objects.get(operation="Import MSP Price List")
    assert entry.status == "succeeded"
    assert entry.after == {"rows": 5, "prices_new": 3, "prices_changed": 1,
                           "prices_unchanged": 1, "offers_new": 1}  # fmt: skip
    change = next(item for item in entry.details["changes"] if item["offer_id"] == existing.pk)
    assert (change["before"], change["after"], change["line"]) == ("10", "12.5", 2)

    # The same file again changes nothing.
    call_command("import_pricelist", str(path), stdout=out)
    assert "prices: 0 new, 0 changed, 5 unchanged; offers: 0 new." in out.getvalue()


def test_a_bad_msp_line_changes_nothing_and_says_file_line_and_column(tmp_path):
    offer = make_offer()
    MspPriceFactory(offer=offer, unit_price=D("10"))
    path = write_msp(
        tmp_path,
        "CFQ7TTC0LH18,0001,CFQ7TTC0K59S,P1Y,Annual,USD,12.50\n"
        "NEWPRODUCT01,0001,,P1Y,Annual,USD,twelve\n",
    )
    with pytest.raises(ImportValidationError) as problem:
        msp_price_list_import(path=path, name="msp.csv", actor="test")
    assert str(problem.value).startswith("msp.csv, line 3, column UnitPrice: expected a number")
    assert MspPrice.objects.get().unit_price == D("10")
    assert Offer.objects.count() == 1
    failed = AuditEntry.objects.get(operation="Import MSP Price List")
    assert failed.status == "failed"
    assert "line 3" in failed.details["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("CFQ7TTC0LH18,0001,,P1Y,Yearly,USD,1\n",
         "line 2, column BillingFrequency: expected a billing frequency"),
        ("CFQ7TTC0LH18,0001,,1 year,Annual,USD,1\n", "line 2, column Term: expected a term"),
        ("CFQ7TTC0LH18,0001,,P1Y,Annual,USD,-1\n", "line 2, column UnitPrice: expected a number"),
        ("CFQ7TTC0LH18,0001,,P1Y,Annual,USD,1.0000001\n",
         "line 2, column UnitPrice: expected at most 6 decimals"),
        (",0001,,P1Y,Annual,USD,1\n", "line 2, column ProductId: expected an id"),
        ("CFQ7TTC0LH18,0001,,P1Y,Annual,US$,1\n", "line 2, column Currency"),
        ("A,0001,,P1Y,Annual,USD,1\nA,1,,P1Y,Annual,USD,2\n",
         "line 3: the same offer and currency as line 2"),
        ("", "the price list has a header but no rows"),
    ],
)  # fmt: skip
def test_msp_price_list_refusals(tmp_path, body, message):
    path = write_msp(tmp_path, body)
    with pytest.raises(ImportValidationError, match=message):
        msp_price_list_import(path=path, name="msp.csv", actor="test")
    assert not MspPrice.objects.exists()
    assert not Offer.objects.exists()


def test_the_command_tells_the_two_price_lists_apart(tmp_path):
    from django.core.management import CommandError

    from tests.catalog.generator import pricelist_row, write_pricelist_csv

    microsoft = write_pricelist_csv(tmp_path / "microsoft.csv", [pricelist_row()])
    out = io.StringIO()
    call_command("import_pricelist", str(microsoft), stdout=out)
    assert "1 prices imported (0 replaced)" in out.getvalue()
    assert not MspPrice.objects.exists()

    bad = write_msp(tmp_path, "CFQ7TTC0LH18,0001,,P1Y,Annual,USD,abc\n", name="bad.csv")
    with pytest.raises(CommandError, match=r"Nothing was imported\. bad\.csv, line 2"):
        call_command("import_pricelist", str(bad))


# -- screens ------------------------------------------------------------------------------


def test_prices_list_with_search_and_msp_filter(client, viewer, offer):
    other = make_offer("CFQ7TTC0LDPB", product_name="Exchange Online", sku_name="Plan 1")
    MspPriceFactory(offer=offer, unit_price=D("12.5"))
    erp_row("132")
    sign_in(client, viewer)
    url = reverse("prices:price_list")
    page = client.get(url).content.decode()
    assert "12.50 USD" in page  # the MSP price
    assert "11.00 USD" in page  # the ERP per month
    assert "Edit price" not in page  # viewers do not change prices
    with_price = client.get(url, {"has_msp_price": "true"}).content.decode()
    assert "Microsoft 365 Business Basic" in with_price and "Exchange Online" not in with_price
    without = client.get(url, {"has_msp_price": "false"}).content.decode()
    assert "Exchange Online" in without and "Microsoft 365 Business Basic" not in without
    # Exchange Online (CFQ7TTC0LDPB, no MSP price) and Business Basic (CFQ7TTC0LH18, a price).
    exchange_first = {"msp_price": True, "-msp_price": False, "offer": True, "-offer": False,
                      "product": True, "-product": False}  # fmt: skip
    for sort, expected in exchange_first.items():
        page = client.get(url, {"sort": sort}).content.decode()
        assert (page.index(other.product_name) < page.index("Business Basic")) is expected, sort
    searched = client.get(url, {"q": "exchange"}).content.decode()
    assert "Exchange Online" in searched and "Business Basic" not in searched
    # The form as the browser submits it untouched: a search, every filter on "Any".
    response = client.get(url, {"q": "exchange", "has_msp_price": "", "record_type": "",
                                "billing_frequency": ""})  # fmt: skip
    assert response.context["filters_active"] == 0
    assert '<option value="" selected>Any</option>' in response.content.decode()


def test_the_price_list_says_where_the_price_comes_from_as_the_rules_do(client, viewer):
    """The "Price from" column is the rules' own answer: for every offer, what
    `resolve_sales_price` says without an organization (its source's label; a markup over
    cost when neither an MSP price nor the ERP prices the offer). A second copy of the
    rules in the table would drift from them: this fails when the two disagree."""
    from django.utils import timezone

    from apps.catalog.prices.rules import ResolvedPriceSource

    today = timezone.localdate()
    with_msp = make_offer("P-MSP")
    MspPriceFactory(offer=with_msp, unit_price=D("9"))
    erp_row("132", product_id="P-MSP")  # the MSP price beats the ERP
    erp_row("132", product_id="P-ERP")
    make_offer("P-ERP")
    erp_row("132", product_id="P-UNDECIDED")
    make_offer("P-UNDECIDED", record_type="")  # priced like a licence
    erp_row("132", product_id="P-CHARGE")
    make_offer("P-CHARGE", record_type="software_subscription")  # a charge: no ERP
    erp_row(None, product_id="P-NO-ERP")
    make_offer("P-NO-ERP")  # a price list row without an ERP
    erp_row("132", product_id="P-ONCE", billing_frequency="one_time")
    make_offer("P-ONCE", billing_frequency="one_time")  # no monthly ERP
    make_offer("P-NOTHING")
    sign_in(client, viewer)
    table = client.get(reverse("prices:price_list")).context["table"]
    shown = {row.record.product_id: row.get_cell("source") for row in table.page.object_list}

    def by_the_rules(offer: Offer) -> str:
        source = resolve_sales_price(offer=offer, organization=None,
                                     record_type=offer.record_type, currency="USD",
                                     month=today, unit_cost=None).source  # fmt: skip
        if source in (ResolvedPriceSource.MSP_PRICE, ResolvedPriceSource.MICROSOFT_ERP):
            return ResolvedPriceSource(source).label
        return "Markup over cost"

    expected = {offer.product_id: by_the_rules(offer) for offer in Offer.objects.all()}
    assert shown == expected
    assert expected == {
        "P-MSP": "MSP price",
        "P-ERP": "Microsoft ERP",
        "P-UNDECIDED": "Microsoft ERP",
        "P-CHARGE": "Markup over cost",
        "P-NO-ERP": "Markup over cost",
        "P-ONCE": "Markup over cost",
        "P-NOTHING": "Markup over cost",
    }


def test_the_prices_list_costs_the_same_queries_whatever_the_page_size(
    client, viewer, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sign_in(client, viewer)
    url = reverse("prices:price_list")
    for number in range(3):
        make_offer(f"P-{number}")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for number in range(3, 30):
        offer = make_offer(f"P-{number}")
        MspPriceFactory(offer=offer, unit_price=D("1"))
        erp_row("12", product_id=f"P-{number}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url)
    assert page.status_code == 200


def test_operator_edits_a_price_and_the_audit_log_has_before_and_after(client, operator, offer):
    sign_in(client, operator)
    url = reverse("prices:price_edit", args=[offer.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"currency": "usd", "unit_price": "12.50"})
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("prices:price_list")
    price = MspPrice.objects.get(offer=offer)
    assert (price.currency, price.unit_price, price.source) == ("USD", D("12.5"), "edited")
    created = AuditEntry.objects.get(operation="Set MSP Price")
    assert created.actor_name == operator.username
    assert created.before is None
    assert created.after["unit_price"] == "12.500000"

    assert 'value="12.50"' in client.get(url).content.decode()  # the form starts from it

    client.post(url, {"currency": "USD", "unit_price": "13"})
    changed = AuditEntry.objects.filter(operation="Set MSP Price").latest("pk")
    assert (changed.before["unit_price"], changed.after["unit_price"]) == ("12.500000", "13.000000")
    client.post(url, {"currency": "USD", "unit_price": "13.00"})  # no change: no entry
    assert AuditEntry.objects.filter(operation="Set MSP Price").count() == 2

    bad = client.post(url, {"currency": "US", "unit_price": "-1"})
    assert bad.status_code == 200
    assert "three-letter currency code" in bad.content.decode()
    assert MspPrice.objects.get(offer=offer).unit_price == D("13")


def test_viewer_cannot_edit_or_clear_a_price(client, viewer, offer):
    MspPriceFactory(offer=offer, unit_price=D("5"))
    sign_in(client, viewer)
    edit = reverse("prices:price_edit", args=[offer.pk])
    clear = reverse("prices:price_clear", args=[offer.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"currency": "USD", "unit_price": "1"}).status_code == 403
    assert client.get(clear).status_code == 403
    assert client.post(clear, {"confirm": "yes"}).status_code == 403
    assert MspPrice.objects.get().unit_price == D("5")
    assert client.get(reverse("prices:price_list")).status_code == 200
    assert client.get(reverse("prices:markuprule_list")).status_code == 200


def test_operator_clears_a_price_after_confirming(client, operator, offer):
    MspPriceFactory(offer=offer, unit_price=D("5"))
    MspPriceFactory(offer=offer, currency="EUR", unit_price=D("4"))
    sign_in(client, operator)
    url = reverse("prices:price_clear", args=[offer.pk])
    page = client.get(url, {"currency": "USD"})
    assert page.status_code == 200
    assert "5.00 USD" in page.content.decode() and "4.00 EUR" not in page.content.decode()
    client.post(url, {"currency": "USD"})  # not confirmed: nothing happens
    assert MspPrice.objects.count() == 2
    response = client.post(url, {"currency": "USD", "confirm": "yes"})
    assert response.headers["Location"] == reverse("prices:price_edit", args=[offer.pk])
    assert list(MspPrice.objects.values_list("currency", flat=True)) == ["EUR"]
    entry = AuditEntry.objects.get(operation="Clear MSP Price")
    assert entry.before["currency"] == "USD"
    assert entry.after is None


def test_markup_rule_create_edit_delete_with_confirmation(client, operator, viewer, contoso):
    sign_in(client, operator)
    create = reverse("prices:markuprule_create")
    assert client.get(create).status_code == 200
    response = client.post(create, {"record_type": "azure_plan", "organization": contoso.pk,
                                     "percent": "12.5"})  # fmt: skip
    assert response.headers["Location"] == reverse("prices:markuprule_list")
    rule = MarkupRule.objects.get()
    assert (rule.record_type, rule.organization, rule.percent) == ("azure_plan", contoso, D("12.5"))
    assert AuditEntry.objects.get(operation="Create Markup Rule").after["percent"] == "12.50"

    twice = client.post(create, {"record_type": "azure_plan", "organization": contoso.pk,
                                 "percent": "5"})  # fmt: skip
    assert twice.status_code == 200 and MarkupRule.objects.count() == 1
    client.post(create, {"record_type": "azure_plan", "organization": "", "percent": "5"})
    again = client.post(create, {"record_type": "azure_plan", "organization": "", "percent": "6"})
    assert again.status_code == 200  # one rule for everyone per record type
    assert MarkupRule.objects.count() == 2
    below = client.post(create, {"record_type": "marketplace", "percent": "-101"})
    assert below.status_code == 200 and MarkupRule.objects.count() == 2

    edit = reverse("prices:markuprule_edit", args=[rule.pk])
    assert client.get(edit).status_code == 200
    client.post(edit, {"record_type": "azure_plan", "organization": contoso.pk, "percent": "15"})
    rule.refresh_from_db()
    assert rule.percent == D("15")
    changed = AuditEntry.objects.get(operation="Change Markup Rule")
    assert (changed.before["percent"], changed.after["percent"]) == ("12.50", "15.00")

    delete = reverse("prices:markuprule_delete", args=[rule.pk])
    assert "Delete the markup rule" in client.get(delete).content.decode()
    client.post(delete)  # not confirmed
    assert MarkupRule.objects.filter(pk=rule.pk).exists()
    client.post(delete, {"confirm": "yes"})
    assert not MarkupRule.objects.filter(pk=rule.pk).exists()
    deleted = AuditEntry.objects.get(operation="Delete Markup Rule")
    assert deleted.before["organization"] == "Contoso Ltd"

    listing = client.get(reverse("prices:markuprule_list")).content.decode()
    assert "Every organization" in listing and "New markup rule" in listing

    client.logout()
    sign_in(client, viewer)
    assert client.get(create).status_code == 403
    assert client.post(create, {"record_type": "marketplace", "percent": "5"}).status_code == 403
    other = MarkupRule.objects.get()
    assert client.post(reverse("prices:markuprule_delete", args=[other.pk]),
                       {"confirm": "yes"}).status_code == 403  # fmt: skip
    assert "New markup rule" not in client.get(reverse("prices:markuprule_list")).content.decode()
