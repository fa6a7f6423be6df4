"""Record type, term and billing plan of single reconciliation lines (PARTNER_CENTER.md §2)."""

import datetime as dt
from dataclasses import replace

import pytest

from apps.catalog.importers.records import ReconLine
from apps.catalog.record_types import (
    billing_frequency_of,
    is_one_time,
    record_type_of,
    term_months_of,
    whole_months,
)
from apps.core.choices import RecordType
from tests.catalog import scenarios

# A licence line of March 2024 on a one-year term.
BASE = replace(
    scenarios.BASE,
    order_date=dt.date(2024, 3, 1),
    charge_start_date=dt.date(2024, 3, 1),
    charge_end_date=dt.date(2024, 3, 31),
    term_and_billing_cycle="One-Year commitment for monthly/yearly billing",
    subscription_start_date=dt.date(2024, 3, 1),
    subscription_end_date=dt.date(2025, 2, 28),
    reference_id="ref",
)


def recon(**overrides) -> ReconLine:
    return scenarios.recon(BASE, **overrides)


# Record type ---------------------------------------------------------------------------

LICENSE = RecordType.LICENSE_BASED.value
AZURE = RecordType.AZURE_PLAN.value


@pytest.mark.parametrize(
    ("overrides", "expected", "rule"),
    [
        pytest.param({}, LICENSE, "term_license", id="microsoft-one-year-licence"),
        pytest.param(
            {"term_and_billing_cycle": "One-Month commitment for trial"},
            LICENSE,
            "term_license",
            id="one-month",
        ),
        pytest.param(
            {"publisher_name": "MICROSOFT", "term_and_billing_cycle": "Three-Year commitment"},
            LICENSE,
            "term_license",
            id="publisher-any-case",
        ),
        pytest.param(
            # Microsoft's v1 example: a third-party WAF with "1 Year Subscription" text is
            # Marketplace, because the publisher row comes before the "Subscription" row.
            {
                "publisher_name": "Test Networks, Inc.",
                "publisher_id": "21223810",
                "term_and_billing_cycle": "1 Year Subscription",
            },
            RecordType.MARKETPLACE.value,
            "third_party_publisher",
            id="third-party-marketplace",
        ),
        pytest.param(
            {"term_and_billing_cycle": "Reservation, Three-Year commitment"},
            RecordType.AZURE_RESERVATION.value,
            "term_reservation",
            id="reservation",
        ),
        pytest.param(
            {"term_and_billing_cycle": "Savings Plan, One-Year commitment"},
            RecordType.SAVINGS_PLAN.value,
            "term_savings_plan",
            id="savings-plan",
        ),
        pytest.param(
            {"term_and_billing_cycle": "1 Year Subscription"},
            RecordType.SOFTWARE_SUBSCRIPTION.value,
            "term_subscription",
            id="software-subscription-by-text",
        ),
        pytest.param(
            {"sku_name": "Windows Server 2022 Standard - 16 Core License Pack"},
            RecordType.SOFTWARE_SUBSCRIPTION.value,
            "software_sku_name",
            id="software-subscription-by-sku-name",
        ),
        pytest.param(
            # A perpetual SQL Server: no term text, no charge end. Tested before the SKU
            # name, or it would read as a software subscription.
            {
                "sku_name": "SQL Server 2022 Standard",
                "term_and_billing_cycle": "",
                "charge_end_date": None,
            },
            RecordType.PERPETUAL_LICENCE.value,
            "perpetual",
            id="perpetual",
        ),
        pytest.param(
            {"term_and_billing_cycle": "", "subscription_description": "Azure plan"},
            AZURE,
            "azure_plan_description",
            id="azure-plan-description",
        ),
        pytest.param(
            # §2: Azure meter lines sometimes prefix the meter unit to the commitment text.
            {
                "term_and_billing_cycle": "Data Stored (GB/Month), One-Year commitment for "
                "monthly/yearly billing",
                "meter_description": "Tables - LRS Data Stored (GB/Month)",
                "unit_type": "1 GB/Month",
            },
            AZURE,
            "term_on_meter_line",
            id="licence-text-on-meter-line",
        ),
        pytest.param(
            {"term_and_billing_cycle": "", "unit_type": "1 Hour"},
            AZURE,
            "remaining_meter_line",
            id="remaining-meter-line",
        ),
        pytest.param(
            {"product_category": "Azure Reservation"},
            RecordType.AZURE_RESERVATION.value,
            "product_category",
            id="product-category-wins",
        ),
        pytest.param(
            {"product_category": "savings_plan"},
            RecordType.SAVINGS_PLAN.value,
            "product_category",
            id="product-category-enum-value",
        ),
    ],
)
def test_record_type_rules(overrides, expected, rule):
    decision = record_type_of(recon(**overrides))

    assert decision.record_type == expected
    assert decision.rule == rule
    assert decision.decided
    assert decision.reason


def test_unrecognised_product_category_falls_back_and_says_so():
    decision = record_type_of(recon(product_category="Widgets"))

    assert decision.record_type == LICENSE
    assert "ProductCategory 'Widgets' not recognised" in decision.reason


def test_third_party_name_without_publisher_id_is_reported():
    decision = record_type_of(recon(publisher_name="Contoso Software", publisher_id="NA"))

    assert decision.record_type is None
    assert decision.rule == "publisher_without_id"
    assert "no PublisherId" in decision.reason


def test_nothing_matched_is_reported_with_microsofts_fallback():
    # A first-party line with no term text, a charge end, no meter columns and a name the
    # partner gave the subscription: Microsoft's last row says "Azure plan, double-check".
    decision = record_type_of(
        recon(term_and_billing_cycle="", subscription_description="Contoso sandbox")
    )

    assert decision.record_type is None
    assert decision.rule == "no_rule_matched"
    assert decision.fallback == AZURE
    assert "Contoso sandbox" in decision.reason


def test_blank_publisher_never_ends_in_the_last_resort():
    decision = record_type_of(recon(publisher_name="", term_and_billing_cycle="", unit_type="1 GB"))

    assert decision.record_type is None
    assert "PublisherName blank" in decision.reason


def test_blank_publisher_still_decided_by_later_rows():
    decision = record_type_of(recon(publisher_name=""))

    assert decision.record_type == LICENSE
    assert decision.reason.startswith("PublisherName blank")


# Months, term, billing plan -----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        # Microsoft's month-end examples (CSV examples 5-8): all one monthly cycle.
        ("2021-01-31", "2021-02-27", 1),
        ("2021-02-28", "2021-03-27", 1),
        ("2021-02-28", "2021-03-30", 1),  # annual term, anchored on the 31st
        ("2021-05-31", "2021-06-29", 1),
        ("2021-01-30", "2021-02-26", 1),
        ("2021-03-30", "2021-04-28", 1),
        ("2022-03-05", "2022-04-04", 1),
        ("2021-06-18", "2022-06-17", 12),
        ("2021-10-20", "2022-09-19", 11),  # changeBillingPlan to annual: rest of term
        ("2024-03-15", "2027-03-14", 36),
        ("2022-01-25", "2022-02-20", None),  # coterminous first cycle: 27 of 31 days
        ("2022-01-25", "2022-07-20", None),
    ],
)
def test_whole_months(start, end, months):
    assert whole_months(dt.date.fromisoformat(start), dt.date.fromisoformat(end)) == months


def test_whole_months_without_dates():
    assert whole_months(None, dt.date(2024, 1, 1)) is None
    assert whole_months(dt.date(2024, 1, 1), None) is None


def test_term_months_from_dates():
    assert term_months_of(recon()) == 12  # 2024-03-01 .. 2025-02-28
    line = recon(subscription_start_date="2021-05-25", subscription_end_date="2024-05-24")
    assert term_months_of(line) == 36


def test_term_months_falls_back_to_text():
    # Learn's example: "One-year term duration", April 22, 2021 → April 2, 2022 (coterminous).
    line = recon(
        term_and_billing_cycle="One-year term duration",
        subscription_start_date="2021-04-22",
        subscription_end_date="2022-04-02",
    )
    assert term_months_of(line) == 12
    assert term_months_of(replace(line, term_and_billing_cycle="1 Year Subscription")) == 12
    assert term_months_of(replace(line, term_and_billing_cycle="One-Month commitment")) == 1
    assert term_months_of(replace(line, term_and_billing_cycle="")) is None


def test_is_one_time():
    prepaid = recon(
        billing_frequency="",
        charge_start_date="2021-06-18",
        charge_end_date="2022-06-17",
        subscription_start_date="2021-06-18",
        subscription_end_date="2022-06-17",
    )
    assert is_one_time(prepaid)
    # Annual billing of a one-year term has the same span but says "Annual".
    assert not is_one_time(replace(prepaid, billing_frequency="Annual"))
    # Perpetual: no charge end.
    assert is_one_time(recon(billing_frequency="", charge_end_date=None))
    # Blank frequency (unbilled data) on a one-month span inside a one-year term.
    assert not is_one_time(recon(billing_frequency=""))


def test_billing_frequency_of():
    assert billing_frequency_of(recon()) == "monthly"
    assert billing_frequency_of(recon(billing_frequency="Annual")) == "annual"
    assert billing_frequency_of(recon(billing_frequency="", charge_end_date=None)) == "one_time"
    # Blank but not one-time: read from the charge span (one month here).
    assert billing_frequency_of(recon(billing_frequency="")) == "monthly"
    annual_span = recon(billing_frequency="", charge_end_date="2025-02-28")
    assert billing_frequency_of(replace(annual_span, subscription_end_date=None)) == "annual"
    prorated = recon(billing_frequency="", charge_start_date="2024-03-12")
    assert billing_frequency_of(prorated) == ""
