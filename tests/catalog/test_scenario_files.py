"""Microsoft's billing scenarios imported as files, month by month, into the database.

The lines are those of tests/catalog/scenarios.py (Microsoft's worked examples), written
out by the generator as full 47-column reconciliation CSV (or Graph JSON Lines) and read
back by `import_billing`; every expected figure is worked out by hand here. Months
without a line for the scenario's subscription get a file with another customer's line,
as a real month's invoice would have.
"""

import datetime as dt
from decimal import Decimal as D

import pytest

from apps.catalog.importing.billing import import_billing
from apps.catalog.models import BillingLine, Subscription, SubscriptionMonth
from apps.catalog.rollup.figures import UnitCostSource
from tests.catalog import generator
from tests.catalog.scenarios import (
    FEBRUARY_2021,
    JANUARY_2021,
    OCTOBER_2021,
    SEPTEMBER_2021,
    SEPTEMBER_2022,
    billing_plan_change_annual_to_monthly,
    billing_plan_change_monthly_to_annual,
    cancellation_within_seven_days,
    combined_product_lines,
    csv_row,
    full_upgrade_by_convert,
    guid,
    marketplace_line,
    partial_upgrade_by_convert,
    perpetual_line,
    purchase_on_the_last_day_of_a_month,
    reservation_line,
    seat_changes_on_one_day,
    trial_conversion,
)

pytestmark = pytest.mark.django_db

JUNE_2021 = dt.date(2021, 6, 1)
JULY_2021 = dt.date(2021, 7, 1)
MARCH_2024 = dt.date(2024, 3, 1)
APRIL_2024 = dt.date(2024, 4, 1)


def import_month(tmp_path, month: dt.date, lines, *, as_jsonl: bool = False, reverse=False):
    """Write the lines as one file for `month` and import it; the file must import."""
    rows = [csv_row(line) for line in lines]
    if reverse:  # a file's line order is Microsoft's, not the events'
        rows.reverse()
    name = f"recon-{month:%Y-%m}-{rows[0]['Currency']}"
    if as_jsonl:
        path = generator.write_jsonl(tmp_path / f"{name}.json.gz", rows, gzip=True)
    else:
        path = generator.write_recon_csv(tmp_path / f"{name}.csv", rows, bom=True)
    outcome = import_billing([(path, path.name)], actor="tester")
    assert [(f.status, f.lines) for f in outcome.files] == [("imported", len(rows))], outcome
    assert BillingLine.objects.filter(file__name=path.name).count() == len(rows)
    return outcome


def another_customers_month(tmp_path, month: dt.date, currency: str = "EUR"):
    """A month whose invoice has only another customer's monthly licence line."""
    first = month.strftime("%m/01/%Y")
    path = generator.write_recon_csv(
        tmp_path / f"other-{month:%Y-%m}-{currency}.csv",
        [
            generator.recon_row(
                CustomerId=guid("other-customer"),
                CustomerName="Northwind",
                SubscriptionId=guid("other-subscription"),
                OrderDate=first,
                ChargeStartDate=first,
                Currency=currency,
                PricingCurrency=currency,
            )
        ],
    )
    import_billing([(path, path.name)], actor="tester")


def month_of(subscription: str, month: dt.date) -> SubscriptionMonth:
    return SubscriptionMonth.objects.select_related("subscription__offer").get(
        subscription__subscription_id=guid(subscription), report__month=month
    )


def subscription(name: str) -> Subscription:
    return Subscription.objects.select_related("offer").get(subscription_id=guid(name))


@pytest.mark.parametrize("as_jsonl", [False, True], ids=["csv", "graph-jsonl-gzip"])
def test_seat_changes_on_one_day(tmp_path, as_jsonl):
    import_month(tmp_path, JUNE_2021, seat_changes_on_one_day(), as_jsonl=as_jsonl, reverse=True)

    june = month_of("sub-1", JUNE_2021)
    # Jun 18: 10 bought. Jun 20, Microsoft's same-day rule: Σ charge rows (12 + 8)
    # - Σ refund rows (10 + 12) = -2, so 8 seats; the largest charge row says 12.
    assert (june.largest_quantity, june.end_quantity) == (D("12"), D("8"))
    # 100.80 - 94.08 + 112.89 - 112.89 + 75.26 = 81.98
    assert june.total_cost == D("81.98")
    assert june.unit_cost == D("10.08")  # 100.80 / 10 seats / 1 month
    assert june.record_type == "license_based"
    assert subscription("sub-1").quantity == D("8")


def test_cancellation_within_seven_days(tmp_path):
    import_month(tmp_path, JULY_2021, cancellation_within_seven_days())

    july = month_of("sub-1", JULY_2021)
    assert july.cancelled
    assert (july.largest_quantity, july.end_quantity) == (D("10"), D("0"))  # 10, then -10
    assert july.total_cost == D("6.60")  # 100.80 - 94.20
    assert july.unit_cost == D("10.08")  # 100.80 / 10 / 1
    assert subscription("sub-1").status == "cancelled"
    assert subscription("sub-1").quantity == D("0")

    another_customers_month(tmp_path, dt.date(2021, 8, 1))
    # A cancelled subscription is not carried into August.
    assert not SubscriptionMonth.objects.filter(
        subscription__subscription_id=guid("sub-1"), report__month=dt.date(2021, 8, 1)
    ).exists()


@pytest.mark.parametrize("reverse", [False, True], ids=["event-order", "reversed"])
def test_full_upgrade_by_convert(tmp_path, reverse):
    import_month(tmp_path, JUNE_2021, full_upgrade_by_convert(), reverse=reverse)

    june = month_of("284b0ff0", JUNE_2021)
    assert june.total_cost == D("2184.00")  # 3024 - 2316 + 1476
    assert (june.largest_quantity, june.end_quantity) == (D("300"), D("300"))  # 300 - 300 + 300
    # No full E1 cycle this month: ROUNDDOWN(UnitPrice 6.43 × 1, 2) / 1, an estimate.
    assert june.unit_cost == D("6.43")
    assert june.unit_cost_source == UnitCostSource.ESTIMATED
    # The subscription ends the month on the upgrade target, whatever the line order.
    assert subscription("284b0ff0").offer.product_name == "Office 365 E1"
    assert june.offer.product_name == "Office 365 E1"


def test_partial_upgrade_by_convert_into_a_new_subscription(tmp_path):
    import_month(tmp_path, JUNE_2021, partial_upgrade_by_convert(), reverse=True)

    base, target = month_of("base", JUNE_2021), month_of("target", JUNE_2021)
    assert base.total_cost == D("2252.00")  # 3024 - 772
    assert (base.largest_quantity, base.end_quantity) == (D("300"), D("200"))  # 300 - 100
    assert base.unit_cost == D("10.08")  # 3024 / 300 / 1
    assert target.total_cost == D("492.00")
    assert (target.largest_quantity, target.end_quantity) == (D("100"), D("100"))
    assert target.unit_cost == D("6.43")  # ROUNDDOWN(6.43 × 1, 2) / 1
    assert subscription("base").offer.product_name == "Microsoft 365 Business Standard"
    assert subscription("target").offer.product_name == "Office 365 E1"
    assert subscription("target").organization == subscription("base").organization


def test_trial_conversion(tmp_path):
    import_month(tmp_path, JUNE_2021, trial_conversion())

    june = month_of("trial-sub", JUNE_2021)
    assert june.total_cost == D("1315.25")  # 0 + 0 + 1315.25
    assert (june.largest_quantity, june.end_quantity) == (D("25"), D("25"))
    assert june.unit_cost == D("52.61")  # 1315.25 / 25 / 1 (a whole first cycle)
    assert june.unit_cost_source == UnitCostSource.FULL_CYCLE
    # The trial that stayed a trial is known but has nothing to export.
    assert subscription("still-trial").quantity is None
    assert not SubscriptionMonth.objects.filter(
        subscription__subscription_id=guid("still-trial")
    ).exists()


def test_billing_plan_change_monthly_to_annual_then_carried(tmp_path):
    lines = billing_plan_change_monthly_to_annual()
    import_month(tmp_path, SEPTEMBER_2021, lines[SEPTEMBER_2021])
    import_month(tmp_path, OCTOBER_2021, lines[OCTOBER_2021])
    for month in (dt.date(2021, 11, 1), dt.date(2021, 12, 1)):
        another_customers_month(tmp_path, month)

    september = month_of("plan-change", SEPTEMBER_2021)
    assert september.unit_cost == D("20.00")  # 200 / 10 / 1
    assert september.offer.billing_frequency == "monthly"
    october = month_of("plan-change", OCTOBER_2021)
    # Oct 20, 2021 .. Sep 19, 2022 is 11 months: 2291.60 / 10 / 11 = 20.8327..
    assert october.unit_cost == D("20.8327")
    assert october.total_cost == D("2291.60")
    assert october.offer.billing_frequency == "annual"
    for month in (dt.date(2021, 11, 1), dt.date(2021, 12, 1)):
        carried = month_of("plan-change", month)
        assert carried.carried_forward
        assert carried.unit_cost == D("20.8327")
        assert carried.unit_cost_source == UnitCostSource.CARRIED
        assert carried.end_quantity == D("10")
        assert carried.total_cost == D("0")
        assert (carried.charge_start, carried.charge_end) == (
            dt.date(2021, 10, 20),
            dt.date(2022, 9, 19),
        )
        assert carried.offer == october.offer
    assert subscription("plan-change").offer.billing_frequency == "annual"


def test_billing_plan_change_annual_to_monthly(tmp_path):
    lines = billing_plan_change_annual_to_monthly()
    import_month(tmp_path, SEPTEMBER_2021, lines[SEPTEMBER_2021])
    another_customers_month(tmp_path, dt.date(2022, 8, 1))
    import_month(tmp_path, SEPTEMBER_2022, lines[SEPTEMBER_2022])

    assert month_of("plan-change", SEPTEMBER_2021).unit_cost == D("20.8333")  # 2500 / 10 / 12
    august = month_of("plan-change", dt.date(2022, 8, 1))
    assert (august.carried_forward, august.unit_cost) == (True, D("20.8333"))
    september = month_of("plan-change", SEPTEMBER_2022)
    assert september.unit_cost == D("20.00")  # 200 / 10 / 1
    assert september.unit_cost_source == UnitCostSource.FULL_CYCLE
    assert september.offer.billing_frequency == "monthly"
    assert subscription("plan-change").term_end == dt.date(2023, 9, 19)
    assert subscription("plan-change").offer.billing_frequency == "monthly"


def test_purchase_on_the_last_day_of_a_month(tmp_path):
    lines = purchase_on_the_last_day_of_a_month()
    import_month(tmp_path, JANUARY_2021, lines[JANUARY_2021])
    import_month(tmp_path, FEBRUARY_2021, lines[FEBRUARY_2021])

    january, february = month_of("sub-1", JANUARY_2021), month_of("sub-1", FEBRUARY_2021)
    # Jan 31 .. Feb 27 (28 days) and Feb 28 .. Mar 30 (31 days) are each one whole cycle:
    # 100.80 / 10 / 1 = 10.08 both months.
    assert (january.unit_cost, january.unit_cost_source) == (D("10.08"), UnitCostSource.FULL_CYCLE)
    assert (january.charge_start, january.charge_end) == (
        dt.date(2021, 1, 31),
        dt.date(2021, 2, 27),
    )
    assert (february.unit_cost, february.unit_cost_source) == (
        D("10.08"),
        UnitCostSource.FULL_CYCLE,
    )
    assert (february.total_cost, february.end_quantity) == (D("100.80"), D("10"))
    assert subscription("sub-1").term_end == dt.date(2022, 1, 30)


def test_reservation_marketplace_perpetual_and_combined_lines_in_one_month(tmp_path):
    lines = [reservation_line(), marketplace_line(), perpetual_line(), *combined_product_lines()]
    # The Marketplace line is billed in USD; the others are in EUR: one file per currency.
    import_month(tmp_path, MARCH_2024, [line for line in lines if line.currency == "EUR"])
    import_month(tmp_path, MARCH_2024, [marketplace_line()])

    reservation = month_of("reservation", MARCH_2024)
    assert reservation.record_type == "azure_reservation"
    # Priced 3000 USD, billed at 0.9: 2700.00 a unit, × 2 = 5400.00, over 36 months:
    # 5400.00 / 2 / 36 = 75.00 a unit a month.
    assert (reservation.total_cost, reservation.unit_cost) == (D("5400.00"), D("75.00"))
    assert reservation.end_quantity == D("2")
    saas = month_of("saas", MARCH_2024)
    assert saas.record_type == "marketplace"
    assert (saas.total_cost, saas.unit_cost) == (D("6000.00"), D("100.00"))  # 6000 / 5 / 12
    assert saas.report.currency == "USD"
    perpetual = month_of("perpetual", MARCH_2024)
    assert perpetual.record_type == "perpetual_licence"
    assert (perpetual.total_cost, perpetual.unit_cost) == (D("3596.00"), D("899.00"))  # 3596 / 4
    assert subscription("perpetual").offer.billing_frequency == "one_time"
    e5 = month_of("e5", MARCH_2024)
    # 480.00 + 90.00 - 340.60 + 408.72 - 63.80 + 76.56 = 650.88; seats 10, then 12.
    assert (e5.total_cost, e5.end_quantity) == (D("650.88"), D("12"))
    assert e5.unit_cost == D("57.00")  # (480 + 90) / 10 / 1

    # April: nothing billed for them. The reservation and the annual SaaS plan carry their
    # monthly rate; a perpetual licence has nothing to carry.
    another_customers_month(tmp_path, APRIL_2024)
    another_customers_month(tmp_path, APRIL_2024, currency="USD")
    april = month_of("reservation", APRIL_2024)
    assert (april.carried_forward, april.unit_cost, april.total_cost) == (
        True,
        D("75.00"),
        D("0"),
    )
    assert month_of("saas", APRIL_2024).unit_cost == D("100.00")
    assert not SubscriptionMonth.objects.filter(
        subscription__subscription_id=guid("perpetual"), report__month=APRIL_2024
    ).exists()
