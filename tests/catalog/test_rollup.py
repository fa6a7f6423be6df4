"""Monthly roll-up per subscription and per customer's Azure plan (PARTNER_CENTER.md §4-§6).

Every expected figure is worked out by hand in the test, from Microsoft's worked examples
(samples/partner-center/common-billing-scenarios-onetime-recurring.nce-example-lines.csv,
"example N" below) where there is one. Product and availability ids are illustrative.
"""

import datetime as dt
from dataclasses import replace
from decimal import Decimal as D

from apps.catalog.importers.records import ReconLine
from apps.catalog.rollup import (
    SubscriptionMonth,
    UnitCostSource,
    roll_up_subscriptions,
    rounding_allowance,
)
from apps.core.choices import RecordType
from tests.catalog.scenarios import (
    FEBRUARY_2021,
    JANUARY_2021,
    MARCH_SUB,
    OCTOBER_2021,
    SEPTEMBER_2021,
    SEPTEMBER_2022,
    billing_plan_change_annual_to_monthly,
    billing_plan_change_monthly_to_annual,
    cancellation_within_seven_days,
    combined_product_lines,
    full_upgrade_by_convert,
    march_2022_lines,
    marketplace_line,
    partial_upgrade_by_convert,
    perpetual_line,
    purchase_on_the_last_day_of_a_month,
    recon,
    reservation_line,
    row,
    seat_changes_on_one_day,
    trial_conversion,
)


def only(months: list[SubscriptionMonth]) -> SubscriptionMonth:
    assert len(months) == 1, months
    return months[0]


def by_subscription(months: list[SubscriptionMonth]) -> dict[str, SubscriptionMonth]:
    return {m.subscription_id: m for m in months}


MARCH_2022 = dt.date(2022, 3, 1)
JUNE_2021 = dt.date(2021, 6, 1)


# Microsoft's March 2022 example (example 11) -------------------------------------------


def test_month_with_many_changes_microsofts_march_2022_example():
    month = only(roll_up_subscriptions(march_2022_lines(), month=MARCH_2022))

    # Seats: new 10; Mar 7 +15-10 = 15; Mar 10 +25-15 = 25; Mar 12 +23-25 = 23;
    # Mar 14 +20-23 = 20; Mar 25 +30-20 = 30. Largest of the charge rows: 30; final: 30.
    assert month.largest_quantity == D("30")
    assert month.end_quantity == D("30")
    # 120 - 112.25 + 168.38 - 150.96 + 251.61 - 232.25 + 213.67 - 195.87 + 170.32
    #     - 85.16 + 127.74 = 275.23
    assert month.total_cost == D("275.23")
    # The `new` row: 120 / 10 seats / 1 month (Mar 5 .. Apr 4) = 12.00
    assert month.unit_cost_month == D("12.00")
    assert month.unit_cost_source == UnitCostSource.FULL_CYCLE
    assert (month.charge_start, month.charge_end) == (dt.date(2022, 3, 5), dt.date(2022, 4, 4))
    assert month.record_type == RecordType.LICENSE_BASED
    assert month.offer_key == ("CFQ7TTC0LDPB", "0001", "CFQ7TTC0K5BV")
    assert month.month == MARCH_2022
    assert month.currency == "EUR"
    assert month.billing_frequency == "monthly"
    assert month.term_months == 1
    assert month.term_end == dt.date(2022, 4, 4)
    assert not month.cancelled
    assert not month.carried_forward
    assert month.warnings == []


def test_row_order_does_not_matter():
    lines = march_2022_lines()
    shuffled = lines[5:] + lines[:5][::-1]

    assert roll_up_subscriptions(shuffled, month=MARCH_2022) == roll_up_subscriptions(
        lines, month=MARCH_2022
    )


def test_month_given_as_any_day_is_the_first():
    month = only(roll_up_subscriptions(march_2022_lines(), month=dt.date(2022, 3, 17)))

    assert month.month == MARCH_2022


# Seat changes on one day (examples 9 and 10) -------------------------------------------


def test_seat_changes_on_one_day():
    month = only(roll_up_subscriptions(seat_changes_on_one_day(), month=JUNE_2021))

    # Microsoft's same-day rule for Jun 20: Σ charge rows (12 + 8) - Σ refund rows (10 + 12)
    # = -2 on top of the 10 bought on Jun 18: 8 seats.
    assert month.end_quantity == D("8")
    assert month.largest_quantity == D("12")
    # 100.80 - 94.08 + 112.89 - 112.89 + 75.26 = 81.98
    assert month.total_cost == D("81.98")
    # 100.80 / 10 / 1 month (Jun 18 .. Jul 17) = 10.08
    assert month.unit_cost_month == D("10.08")
    assert month.warnings == []


def test_same_day_pairs_in_reverse_order_give_the_same_count():
    # The removeQuantity pair listed before the addQuantity pair it follows.
    lines = seat_changes_on_one_day()
    reordered = [lines[0], lines[3], lines[4], lines[1], lines[2]]

    month = only(roll_up_subscriptions(reordered, month=JUNE_2021))

    assert (month.largest_quantity, month.end_quantity) == (D("12"), D("8"))


def test_same_day_pairs_without_a_known_starting_count():
    # Only Jun 20's two pairs, no earlier line and no previous month. The refund of 10 is
    # the one refunded count that no charge row of the day created: the day starts at 10,
    # and 10 + (12 + 8) - (10 + 12) = 8.
    month = only(roll_up_subscriptions(seat_changes_on_one_day()[1:], month=JUNE_2021))

    assert month.end_quantity == D("8")
    assert month.largest_quantity == D("12")
    # -94.08 + 112.89 - 112.89 + 75.26 = -18.82
    assert month.total_cost == D("-18.82")
    # No full-cycle row and no earlier rate: ROUNDDOWN(UnitPrice 10.08 × rate 1, 2) / 1.
    assert month.unit_cost_month == D("10.08")
    assert month.unit_cost_source == UnitCostSource.ESTIMATED
    assert any("estimated from UnitPrice" in w for w in month.warnings)


def test_seat_change_in_a_month_without_a_cycle_line_uses_the_previous_month():
    # Annual billing: February had the yearly charge (120 / 10 seats / 12 = 1.00 a month);
    # March has only an addQuantity pair 10 -> 15, prorated for the rest of the year.
    annual = {
        "billing_frequency": "Annual",
        "term_and_billing_cycle": "One-Year commitment for monthly/yearly billing",
        "subscription_start_date": "2022-02-01",
        "subscription_end_date": "2023-01-31",
        "charge_end_date": "2023-01-31",
    }
    february = only(
        roll_up_subscriptions(
            [row("2022-02-01", "new", "12", 10, "120.00", **annual)], month=dt.date(2022, 2, 1)
        )
    )
    assert february.unit_cost_month == D("1.0000")  # 120 / 10 / 12

    march = only(
        roll_up_subscriptions(
            [
                row("2022-03-10", "addQuantity", "-10.32", 10, "-103.20", ref="p", **annual),
                row("2022-03-10", "addQuantity", "10.32", 15, "154.80", ref="p", **annual),
            ],
            month=MARCH_2022,
            previous={"sub-1": february},
        )
    )

    assert march.end_quantity == D("15")  # 10 + 15 - 10
    assert march.largest_quantity == D("15")
    assert march.total_cost == D("51.60")  # -103.20 + 154.80
    assert march.unit_cost_month == D("1.0000")
    assert march.unit_cost_source == UnitCostSource.CARRIED
    assert march.billing_frequency == "annual"


# Cancellation within 7 days (example 12) ------------------------------------------------


def test_cancellation_within_seven_days():
    july = only(roll_up_subscriptions(cancellation_within_seven_days(), month=dt.date(2021, 7, 1)))

    assert july.cancelled
    assert july.end_quantity == D("0")  # 10 - 10
    assert july.largest_quantity == D("10")
    assert july.total_cost == D("6.60")  # 100.80 - 94.20
    assert july.unit_cost_month == D("10.08")  # 100.80 / 10 / 1
    assert july.warnings == []
    # A cancelled subscription is not carried into the next month.
    assert roll_up_subscriptions([], month=dt.date(2021, 8, 1), previous={"sub-1": july}) == []


# Upgrades by convert (examples 13 and 14) -----------------------------------------------


def test_full_upgrade_by_convert_in_the_same_subscription():
    month = only(roll_up_subscriptions(full_upgrade_by_convert(), month=JUNE_2021))

    assert month.total_cost == D("2184.00")  # 3024 - 2316 + 1476
    assert month.largest_quantity == D("300")
    assert month.end_quantity == D("300")  # 300 - 300 + 300
    # The subscription ends the month on the upgrade target.
    assert month.offer_key == ("CFQ7TTC0LF8Q", "0001", "CFQ7TTC0K5DM")
    assert month.product_name == "Office 365 E1"
    # E1 has no full-cycle row (the convert covers Jun 25 .. Jul 17 only), so:
    # ROUNDDOWN(UnitPrice 6.43 × 1, 2) / 1 month = 6.43, flagged as an estimate.
    assert month.unit_cost_month == D("6.43")
    assert month.unit_cost_source == UnitCostSource.ESTIMATED
    assert any("more than one product" in w for w in month.warnings)
    assert any("part of a cycle" in w for w in month.warnings)


def test_partial_upgrade_by_convert_into_a_new_subscription():
    months = by_subscription(roll_up_subscriptions(partial_upgrade_by_convert(), month=JUNE_2021))

    base, target = months["base"], months["target"]
    assert base.total_cost == D("2252.00")  # 3024 - 772
    assert base.largest_quantity == D("300")
    assert base.end_quantity == D("200")  # 300 - 100 moved out
    assert base.unit_cost_month == D("10.08")  # 3024 / 300 / 1
    assert target.total_cost == D("492.00")
    assert (target.largest_quantity, target.end_quantity) == (D("100"), D("100"))  # 0 + 100
    assert target.unit_cost_month == D("6.43")  # ROUNDDOWN(6.43 × 1, 2) / 1
    assert target.unit_cost_source == UnitCostSource.ESTIMATED


# Trial conversion (example 15) ----------------------------------------------------------


def test_trial_conversion():
    # The trial that is still a trial has nothing to roll up.
    month = only(roll_up_subscriptions(trial_conversion(), month=JUNE_2021))

    assert month.subscription_id == "trial-sub"
    assert month.total_cost == D("1315.25")
    assert (month.largest_quantity, month.end_quantity) == (D("25"), D("25"))
    # The paid convert row charges a whole first cycle (Jun 25 .. Jul 24):
    # 1315.25 / 25 / 1 = 52.61
    assert month.unit_cost_month == D("52.61")
    assert month.unit_cost_source == UnitCostSource.FULL_CYCLE


# Billing-plan changes (examples 16 and 17), carry-forward --------------------------------


def test_billing_plan_change_monthly_to_annual_then_carried_two_months():
    lines = billing_plan_change_monthly_to_annual()
    september = only(roll_up_subscriptions(lines[SEPTEMBER_2021], month=SEPTEMBER_2021))
    assert september.unit_cost_month == D("20.00")  # 200 / 10 / 1
    assert september.billing_frequency == "monthly"

    october = only(
        roll_up_subscriptions(
            lines[OCTOBER_2021], month=OCTOBER_2021, previous={"plan-change": september}
        )
    )
    # Oct 20, 2021 .. Sep 19, 2022 is 11 months: 2291.60 / 10 / 11 = 20.83272.. -> 20.8327
    assert october.unit_cost_month == D("20.8327")
    assert october.unit_cost_source == UnitCostSource.FULL_CYCLE
    assert october.billing_frequency == "annual"
    assert october.total_cost == D("2291.60")
    assert (october.largest_quantity, october.end_quantity) == (D("10"), D("10"))
    assert october.term_end == dt.date(2022, 9, 19)
    assert october.term_months == 12
    assert october.warnings == []

    november = only(
        roll_up_subscriptions([], month=dt.date(2021, 11, 1), previous={"plan-change": october})
    )
    december = only(
        roll_up_subscriptions([], month=dt.date(2021, 12, 1), previous={"plan-change": november})
    )
    for carried, first_day in ((november, dt.date(2021, 11, 1)), (december, dt.date(2021, 12, 1))):
        assert carried.month == first_day
        assert carried.carried_forward
        assert carried.unit_cost_month == D("20.8327")
        assert carried.unit_cost_source == UnitCostSource.CARRIED
        assert (carried.largest_quantity, carried.end_quantity) == (D("10"), D("10"))
        assert carried.total_cost == D("0")
        assert carried.billing_frequency == "annual"
        assert carried.offer_key == october.offer_key
        assert (carried.charge_start, carried.charge_end) == (
            dt.date(2021, 10, 20),
            dt.date(2022, 9, 19),
        )
        assert carried.warnings == []


def test_billing_plan_change_annual_to_monthly():
    lines = billing_plan_change_annual_to_monthly()
    september_2021 = only(roll_up_subscriptions(lines[SEPTEMBER_2021], month=SEPTEMBER_2021))
    assert september_2021.unit_cost_month == D("20.8333")  # 2500 / 10 / 12 = 20.8333..

    august_2022 = only(
        roll_up_subscriptions(
            [], month=dt.date(2022, 8, 1), previous={"plan-change": september_2021}
        )
    )
    september_2022 = only(
        roll_up_subscriptions(
            lines[SEPTEMBER_2022], month=SEPTEMBER_2022, previous={"plan-change": august_2022}
        )
    )

    assert september_2022.unit_cost_month == D("20.00")  # 200 / 10 / 1
    assert september_2022.unit_cost_source == UnitCostSource.FULL_CYCLE
    assert september_2022.billing_frequency == "monthly"
    assert september_2022.term_end == dt.date(2023, 9, 19)


# Purchase on the last day of a month (example 6) ----------------------------------------


def test_purchase_on_the_last_day_of_a_month():
    lines = purchase_on_the_last_day_of_a_month()
    january = only(roll_up_subscriptions(lines[JANUARY_2021], month=JANUARY_2021))
    # Jan 31 .. Feb 27 is only 28 days but one whole charge cycle: 100.80 / 10 / 1.
    assert january.unit_cost_month == D("10.08")
    assert january.unit_cost_source == UnitCostSource.FULL_CYCLE
    assert (january.charge_start, january.charge_end) == (
        dt.date(2021, 1, 31),
        dt.date(2021, 2, 27),
    )
    assert january.term_end == dt.date(2022, 1, 30)
    assert january.term_months == 12

    february = only(
        roll_up_subscriptions(
            lines[FEBRUARY_2021], month=FEBRUARY_2021, previous={"sub-1": january}
        )
    )
    # Feb 28 .. Mar 30 (31 days, the cycle follows the 31st) is again one cycle.
    assert february.unit_cost_month == D("10.08")
    assert february.unit_cost_source == UnitCostSource.FULL_CYCLE
    assert february.end_quantity == D("10")
    assert february.total_cost == D("100.80")


def test_coterminous_first_cycle_is_not_a_monthly_rate():
    # Example 20: bought Jan 25, 2022, aligned to end Feb 20 (27 of January's 31 days),
    # EffectiveUnitPrice 15.42 of UnitPrice 16.
    line = row(
        "2022-01-25",
        "new",
        "15.42",
        1,
        "15.42",
        charge_end_date="2022-02-20",
        unit_price="16",
        subscription_start_date="2022-01-25",
        subscription_end_date="2022-07-20",
        term_and_billing_cycle="One-Year commitment for monthly/yearly billing",
    )

    month = only(roll_up_subscriptions([line], month=dt.date(2022, 1, 1)))

    # ROUNDDOWN(16 × 1, 2) / 1 month = 16.00, an estimate; the 15.42 row is not used.
    assert month.unit_cost_month == D("16.00")
    assert month.unit_cost_source == UnitCostSource.ESTIMATED
    assert month.total_cost == D("15.42")
    assert month.term_months == 12  # the term is not whole months: read from the text


# Reservation, Marketplace, perpetual licence --------------------------------------------

APRIL_2024 = dt.date(2024, 4, 1)
MARCH_2024 = dt.date(2024, 3, 1)


def test_reservation():
    march = only(roll_up_subscriptions([reservation_line()], month=MARCH_2024))

    assert march.record_type == RecordType.AZURE_RESERVATION
    assert march.billing_frequency == "one_time"
    assert march.term_months == 36
    # 5400.00 / 2 / 36 months (Mar 15, 2024 .. Mar 14, 2027) = 75.00 a month per unit
    assert march.unit_cost_month == D("75.00")
    assert march.total_cost == D("5400.00")
    assert (march.largest_quantity, march.end_quantity) == (D("2"), D("2"))

    april = only(roll_up_subscriptions([], month=APRIL_2024, previous={"reservation": march}))
    assert april.carried_forward
    assert april.unit_cost_month == D("75.00")
    assert april.unit_cost_source == UnitCostSource.CARRIED
    assert april.end_quantity == D("2")
    assert april.total_cost == D("0")


def test_marketplace_saas_line():
    march = only(roll_up_subscriptions([marketplace_line()], month=MARCH_2024))

    assert march.record_type == RecordType.MARKETPLACE
    assert march.billing_frequency == "annual"
    assert march.unit_cost_month == D("100.00")  # 6000.00 / 5 / 12
    assert march.total_cost == D("6000.00")
    assert march.currency == "USD"
    assert march.end_quantity == D("5")

    april = only(roll_up_subscriptions([], month=APRIL_2024, previous={"saas": march}))
    assert april.unit_cost_month == D("100.00")
    assert april.total_cost == D("0")


def test_perpetual_licence():
    march = only(roll_up_subscriptions([perpetual_line()], month=MARCH_2024))

    assert march.record_type == RecordType.PERPETUAL_LICENCE
    assert march.billing_frequency == "one_time"
    # One-time purchase: the unit cost is the one-time price per unit, 3596.00 / 4.
    assert march.unit_cost_month == D("899.00")
    assert march.unit_cost_source == UnitCostSource.FULL_CYCLE
    assert march.total_cost == D("3596.00")
    assert (march.charge_start, march.charge_end) == (dt.date(2024, 3, 10), None)
    assert march.term_end is None
    assert march.term_months is None
    assert march.warnings == []
    # Nothing to carry: a perpetual licence has no term.
    assert roll_up_subscriptions([], month=APRIL_2024, previous={"perpetual": march}) == []


# Combined products ----------------------------------------------------------------------


def test_combined_product_lines_are_summed_and_seats_counted_once():
    month = only(roll_up_subscriptions(combined_product_lines(), month=MARCH_2024))

    # 480.00 + 90.00 - 340.60 + 408.72 - 63.80 + 76.56 = 650.88
    assert month.total_cost == D("650.88")
    # Seats: 10, then + 12 - 10 = 12 (not 10 + 24 - 20 = 14 by counting each part).
    assert month.end_quantity == D("12")
    assert month.largest_quantity == D("12")
    # (480.00 + 90.00) / 10 / 1 month = 57.00
    assert month.unit_cost_month == D("57.00")
    assert month.warnings == []


# Record type reported, not guessed ------------------------------------------------------


def unknown_line(order: str = "2024-03-01", **overrides) -> ReconLine:
    values = {
        "subscription_id": "unknown",
        "term_and_billing_cycle": "",
        "subscription_description": "Contoso sandbox",
        "charge_end_date": "2024-03-31",
        **overrides,
    }
    return row(order, "new", "5", 1, "5.00", **values)


def test_unknown_record_type_is_reported():
    month = only(roll_up_subscriptions([unknown_line()], month=MARCH_2024))

    assert month.record_type is None
    assert any(
        w.startswith("record type not decided") and "Contoso sandbox" in w for w in month.warnings
    )
    assert month.total_cost == D("5.00")


def test_unknown_record_type_keeps_the_previous_months_decision():
    previous = only(roll_up_subscriptions([unknown_line()], month=MARCH_2024))
    previous = replace(previous, record_type=RecordType.LICENSE_BASED.value, warnings=[])

    april = only(
        roll_up_subscriptions(
            [unknown_line("2024-04-01", charge_end_date="2024-04-30")],
            month=APRIL_2024,
            previous={"unknown": previous},
        )
    )

    assert april.record_type == RecordType.LICENSE_BASED
    assert any("taken from the previous month" in w for w in april.warnings)


def test_lines_that_disagree_on_the_record_type_are_reported():
    lines = [
        unknown_line(term_and_billing_cycle="One-Year commitment"),
        unknown_line(term_and_billing_cycle="Reservation, One-Year commitment"),
    ]

    month = only(roll_up_subscriptions(lines, month=MARCH_2024))

    assert month.record_type is None
    assert "record type not decided: the lines say azure_reservation, license_based" in (
        month.warnings
    )


# Whole-report checks --------------------------------------------------------------------


def test_every_line_lands_in_one_subscription_month():
    lines = [
        *combined_product_lines(),
        reservation_line(),
        marketplace_line(),
        perpetual_line(),
        *azure_invoice_lines(),
        row(
            "2024-03-05",
            "new",
            "0",
            5,
            "0",
            subscription_id="t",
            unit_price="0",
            product_qualifiers=("Trial",),
        ),
    ]

    months = roll_up_subscriptions(lines, month=MARCH_2024)

    # 650.88 + 5400.00 + 6000.00 + 3596.00 + (3.97 + 0.30 + 1.20) + 0 (trial dropped)
    assert sum(m.total_cost for m in months) == D("15652.35")
    assert [m.subscription_id for m in months] == [
        "e5",
        "perpetual",
        "reservation",
        "saas",
        "plan-1",
    ]


def test_azure_plan_subscription_in_the_subscription_roll_up():
    month = by_subscription(roll_up_subscriptions(azure_invoice_lines(), month=MARCH_2024))[
        "plan-1"
    ]

    assert month.record_type == RecordType.AZURE_PLAN
    assert month.total_cost == D("5.47")  # 3.97 + 0.30 + 1.20 (third-party meter)
    assert month.unit_cost_month is None
    assert month.unit_cost_source == UnitCostSource.NONE
    assert (month.largest_quantity, month.end_quantity) == (None, None)
    assert any("third-party (Marketplace) meters" in w and "1.20" in w for w in month.warnings)
    # Azure plan usage is not carried into a month without lines.
    assert roll_up_subscriptions([], month=APRIL_2024, previous={"plan-1": month}) == []


def test_line_outside_the_month_is_counted_and_reported():
    lines = [
        *march_2022_lines(),
        row("2022-02-27", "customerCredit", "-1", 1, "-1.00", subscription_id=MARCH_SUB),
    ]

    month = only(roll_up_subscriptions(lines, month=MARCH_2022))

    assert month.total_cost == D("274.23")  # 275.23 - 1.00
    assert month.end_quantity == D("30")  # a credit is no seat change
    assert any("outside 2022-03" in w for w in month.warnings)


def test_carry_forward_warns_when_a_monthly_plan_or_the_term_has_no_line():
    march = only(roll_up_subscriptions(march_2022_lines(), month=MARCH_2022))

    may = only(
        roll_up_subscriptions(
            [], month=dt.date(2022, 5, 1), previous={march.subscription_id: march}
        )
    )

    assert may.end_quantity == D("30")
    assert "billed monthly but no line this month" in may.warnings
    assert any(w.startswith("term ended 2022-04-04") for w in may.warnings)


def test_unknown_charge_type_is_counted_and_reported():
    lines = [
        *march_2022_lines(),
        row("2022-03-30", "Cycle fee", "1", 30, "30.00", subscription_id=MARCH_SUB),
    ]

    month = only(roll_up_subscriptions(lines, month=MARCH_2022))

    assert month.total_cost == D("305.23")  # 275.23 + 30.00
    assert month.end_quantity == D("30")
    assert any("ChargeType 'Cycle fee' not known" in w for w in month.warnings)


# Azure plan per customer ----------------------------------------------------------------

AZURE_PLAN = {
    "customer_id": "cust-az",
    "customer_name": "Fabrikam",
    "subscription_id": "plan-1",
    "subscription_description": "Azure plan",
    "term_and_billing_cycle": "",
    "charge_type": "usage",
    "currency": "USD",
    "pricing_currency": "USD",
    "billing_frequency": "",
    "order_date": "2024-03-31",
    "charge_start_date": "2024-03-01",
    "charge_end_date": "2024-03-31",
    "subscription_start_date": None,
    "subscription_end_date": None,
}
PEC = '["15.0% Partner earned credit for services managed"]'


def azure_invoice_lines() -> list[ReconLine]:
    return [
        # D2 v3 VM: list 0.08/h, PEC 15 % -> 0.068/h, 58.5 h:
        # ROUNDDOWN(ROUNDDOWN(0.068 × 58.5, 2) × 1, 2) = ROUNDDOWN(3.978, 2) = 3.97
        recon(
            **AZURE_PLAN,
            product_id="DZH318Z0BNVV",
            sku_id="000C",
            unit_price="0.08",
            effective_unit_price="0.068",
            billable_quantity="58.5",
            quantity="58.5",
            subtotal="3.97",
            unit_type="1 Hour",
            meter_description="D2 v3/D2s v3",
            price_adjustment_description=PEC,
        ),
        # Storage, no PEC: 0.0208 × 14.75 = 0.3068 -> 0.30
        recon(
            **AZURE_PLAN,
            product_id="DZH318Z0BNZ5",
            sku_id="0001",
            unit_price="0.0208",
            effective_unit_price="0.0208",
            billable_quantity="14.75",
            quantity="14.75",
            subtotal="0.30",
            unit_type="1 GB/Month",
            meter_description="Tables - LRS Data Stored (GB/Month)",
        ),
        # A third-party image meter billed through the plan: 0.05 × 24 = 1.20
        recon(
            **AZURE_PLAN,
            product_id="DZH318Z0BXWC",
            sku_id="0001",
            publisher_name="Bitnami",
            publisher_id="bitnami",
            unit_price="0.05",
            effective_unit_price="0.05",
            billable_quantity="24",
            quantity="24",
            subtotal="1.20",
            unit_type="1 Hour",
            meter_description="WordPress",
        ),
    ]


def test_rounding_allowance_grows_with_an_exchange_rate():
    # Priced in USD, billed in EUR at 0.9234: one cent per line for the last rounding plus
    # one cent of USD (0.009234 EUR) for the first: 0.01 × (1 + 0.9234) = 0.019234.
    invoice = recon(
        **{**AZURE_PLAN, "currency": "EUR"},
        effective_unit_price="0.068",
        billable_quantity="99.99",
        subtotal="6.26",
        pc_to_bc_exchange_rate="0.9234",
        unit_type="1 Hour",
    )

    assert rounding_allowance([invoice]) == D("0.019234")
    # The three lines of azure_invoice_lines() are in USD: a cent each.
    assert rounding_allowance(azure_invoice_lines()) == D("0.03")
