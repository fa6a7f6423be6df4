"""The export planner against DOMAIN.md "Export", rule by rule (pure: no database, no HTTP).

Every expected value is written out by hand from the rules. The report month is November
2025 throughout: its first day is 2025-11-01, its last 2025-11-30. Expected operations are
``op(kind, entity, body, refs=, parent=, target=)`` tuples, compared with ``ops(...)``."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal as D

import pytest

from apps.core.choices import RecordType
from apps.exports.planner import (
    ExportSettings,
    LedgerEntry,
    Mappings,
    MissingSubscription,
    Skip,
    Snapshot,
    SubscriptionFacts,
    plan_export,
)

NOV_1, NOV_30 = dt.date(2025, 11, 1), dt.date(2025, 11, 30)
TERM_END = dt.date(2026, 10, 31)  # the last day of the month the term (2026-10-14) ends in
COMPANY, SERVICE, CONTRACT, LINE, CHARGE, PRODUCT = 101, 501, 9001, 7001, 8001, 6001
M365 = "Microsoft 365 Business Premium (monthly)"
M365_NAME = "Microsoft 365 Business Premium (monthly) - Contoso"
AZ_DESCRIPTION = "Azure plan for Contoso, November 2025 (subscription AZ-1)"
ADJ, CONTRACTS, CHARGES = "ContractServiceAdjustments", "Contracts", "ContractCharges"
NEW_CONTRACT = {"parent": "contract:SUB-1", "contractID": "contract:SUB-1"}
CHARGE_FIELDS = {"chargeType": 1, "isBillableToCompany": True}


# -- inputs ------------------------------------------------------------------------------


def settings(**overrides) -> ExportSettings:
    values = {
        "record_types": frozenset(RecordType.values),
        "sla_id": 3,
        "contract_category_id": 13,
        "service_billing_code_id": 29682802,
        "product_billing_code_id": 29682811,
    }
    return ExportSettings(**(values | overrides))


def licence(**overrides) -> SubscriptionFacts:
    values = {
        "subscription_id": "SUB-1",
        "organization_pk": 1,
        "organization_name": "Contoso",
        "offer_pk": 11,
        "offer_name": M365,
        "billing_frequency": "monthly",
        "record_type": "license_based",
        "quantity": D(12),
        "unit_cost": D("18.70"),
        "total_cost": D("224.40"),
        "unit_price": D("22.00"),
        "sales_amount": None,
        "price_source": "msp",
        "price_detail": "MSP price list",
        "term_end": dt.date(2026, 10, 14),
    }
    return SubscriptionFacts(**(values | overrides))


def azure(**overrides) -> SubscriptionFacts:
    values = {
        "subscription_id": "AZ-1",
        "offer_pk": 21,
        "offer_name": "Azure plan",
        "record_type": "azure_plan",
        "quantity": None,
        "unit_cost": None,
        "total_cost": D("90.00"),
        "unit_price": None,
        "sales_amount": D("99.00"),
        "term_end": None,
    }
    return licence(**(values | overrides))


def reservation(**overrides) -> SubscriptionFacts:
    values = {"subscription_id": "RES-1", "offer_pk": 22, "offer_name": "Reserved VM Instance"}
    values |= {"record_type": "azure_reservation", "total_cost": D(40), "sales_amount": D(44)}
    return azure(**(values | overrides))


def contract(**overrides) -> dict:
    """The contract syncadmin created for SUB-1 in October, as Autotask returns it."""
    values = {
        "id": CONTRACT,
        "contractNumber": "SUB-1",
        "contractName": M365_NAME,
        "contractType": 7,
        "status": 1,
        "companyID": COMPANY,
        "contractPeriodType": 2,
        "serviceLevelAgreementID": 3,
        "contractCategory": 13,
        "startDate": "2025-10-01T00:00:00Z",
        "endDate": "2026-10-31T00:00:00Z",
    }
    return values | overrides


def contract_ledger() -> LedgerEntry:
    values = {"contractName": M365_NAME, "status": 1, "companyID": COMPANY}
    values |= {"serviceLevelAgreementID": 3, "contractCategory": 13, "endDate": TERM_END}
    return LedgerEntry(CONTRACT, values)


def line(service=SERVICE, price=22.0, cost=18.7) -> dict:
    return {"id": LINE, "contractID": CONTRACT, "serviceID": service} | {
        "unitPrice": price,
        "unitCost": cost,
    }


def unit_rows(units: int, posted=None) -> list[dict]:
    """October's row (5 units: not the one to read) and the row covering 2025-11-01."""
    october = {"startDate": "2025-10-01T00:00:00Z", "endDate": "2025-10-31T00:00:00Z"}
    november = {"startDate": "2025-11-01T00:00:00Z", "endDate": "2025-11-30T00:00:00Z"}
    return [
        {"id": 1, "contractServiceID": LINE, "units": 5, "approveAndPostDate": None} | october,
        {"id": 2, "contractServiceID": LINE, "units": units, "approveAndPostDate": posted}
        | november,
    ]


def licence_state(units=12, **contract_overrides) -> tuple[Snapshot, dict]:
    """SUB-1's contract, line (22.00 / 18.70) and units as the October export left them."""
    snapshot = Snapshot(
        contracts={"SUB-1": contract(**contract_overrides)},
        lines={CONTRACT: [line()]},
        units={LINE: unit_rows(units)},
    )
    return snapshot, {"contract:SUB-1": contract_ledger()}


def charge(**overrides) -> dict:
    """AZ-1's November charge as Autotask returns it."""
    values = {"id": CHARGE, "contractID": CONTRACT, "productID": PRODUCT, "isBilled": False}
    values |= {"name": "Azure Plan 2025-11 AZ-1", "description": AZ_DESCRIPTION}
    values |= {"datePurchased": "2025-11-30T00:00:00Z", "unitQuantity": 1.0}
    return values | {"unitCost": 90.0, "unitPrice": 99.0} | overrides


def azure_state(*charges) -> Snapshot:
    found = contract(contractNumber="AZ-1", contractName="Azure plan - Contoso")
    return Snapshot(
        contracts={"AZ-1": found | {"endDate": "2099-12-31T00:00:00Z"}},
        charges={CONTRACT: list(charges)},
        products={"Azure Plan": {"id": PRODUCT, "name": "Azure Plan"}},
    )


AZ_LEDGER = {"contract:AZ-1": LedgerEntry(CONTRACT, {"endDate": dt.date(2099, 12, 31)})}


def plan(*subscriptions, snapshot=None, ledger=None, mappings=None, settings_=None, missing=()):
    return plan_export(
        month=dt.date(2025, 11, 1),
        subscriptions=list(subscriptions),
        mappings=mappings or Mappings(companies={1: COMPANY}, services={11: SERVICE}),
        settings=settings_ or settings(),
        snapshot=snapshot or Snapshot(),
        ledger=ledger or {},
        missing=list(missing),
    )


def only(result):
    """The one item of a plan that has no shared operation."""
    assert result.shared == []
    [item] = result.items
    return item


# -- expected operations -------------------------------------------------------------------


def ops(operations) -> list[tuple]:
    return [(o.kind, o.entity, o.body, o.refs, o.parent_id, o.target_id) for o in operations]


def op(kind, entity, body, refs=None, parent=None, target=None) -> tuple:
    return (kind, entity, body, refs or {}, parent, target)


def adjustment(**fields) -> dict:
    """An adjustment body on SUB-1's existing contract and line."""
    return {"effectiveDate": NOV_1, "contractID": CONTRACT, "serviceID": SERVICE} | fields


def new_line(**overrides) -> dict:
    values = {"effectiveDate": NOV_1, "contractID": None, "serviceID": SERVICE, "unitChange": 12}
    return values | {"adjustedUnitPrice": D("22.00"), "adjustedUnitCost": D("18.70")} | overrides


def wanted_charge(**overrides) -> dict:
    values = {"name": "Azure Plan 2025-11 AZ-1", "description": AZ_DESCRIPTION}
    values |= {"datePurchased": NOV_30, "unitQuantity": D(1)}
    return values | {"unitCost": D("90.00"), "unitPrice": D("99.00")} | overrides


# -- 1 and 2: a new licence subscription ---------------------------------------------------


def test_new_licence_creates_the_contract_keyed_in_contract_number_and_adds_its_line():
    item = only(plan(licence()))
    contract_body = {
        "contractName": M365_NAME,
        "contractType": 7,
        "status": 1,
        "companyID": COMPANY,
        "contractPeriodType": 2,
        "startDate": NOV_1,
        "endDate": TERM_END,
        "timeReportingRequiresStartAndStopTimes": 0,
        "description": "Microsoft subscription SUB-1: Microsoft 365 Business Premium "
        "(monthly) for Contoso. Kept by syncadmin.",
        "serviceLevelAgreementID": 3,
        "contractCategory": 13,
        "contractNumber": "SUB-1",
    }
    assert ops(item.operations) == [
        op("create_contract", CONTRACTS, contract_body),
        op("add_service_line", ADJ, new_line(), refs=NEW_CONTRACT),
    ]
    assert [o.key for o in item.operations] == ["contract:SUB-1", "units:SUB-1:501:2025-11"]
    assert item.skip == ""


def test_new_licence_keyed_in_the_connections_udf():
    item = only(plan(licence(), settings_=settings(key_udf="Subscription ID")))
    create, add = item.operations
    assert create.body["userDefinedFields"] == [{"name": "Subscription ID", "value": "SUB-1"}]
    assert "contractNumber" not in create.body
    assert (add.kind, add.body, add.refs) == ("add_service_line", new_line(), NEW_CONTRACT)


def test_a_contract_found_by_its_udf_key_is_adopted_as_ours():
    udf = [{"name": "subscription id", "value": "SUB-1"}]
    snapshot, _ = licence_state(contractNumber="", userDefinedFields=udf, endDate="2026-03-31")
    item = only(plan(licence(), snapshot=snapshot, settings_=settings(key_udf="Subscription ID")))
    body = {"id": CONTRACT, "endDate": TERM_END}
    assert ops(item.operations) == [op("extend_end_date", CONTRACTS, body, target=CONTRACT)]
    assert item.notes == ["Contract 9001 found by its key in Autotask: syncadmin's own, adopted."]


# -- 2: units and prices of an existing line -----------------------------------------------


@pytest.mark.parametrize(("current", "change"), [(10, 2), (15, -3)], ids=["up", "down"])
def test_quantity_change_adjusts_units_by_new_minus_current(current, change):
    snapshot, ledger = licence_state(units=current)
    item = only(plan(licence(), snapshot=snapshot, ledger=ledger))
    body = adjustment(unitChange=change)
    assert ops(item.operations) == [op("adjust_units", ADJ, body, parent=CONTRACT)]
    assert (item.operations[0].before["units"], item.operations[0].after["units"]) == (current, 12)


def test_units_are_the_largest_quantity_in_whole_units():
    snapshot, ledger = licence_state(units=10)
    item = only(plan(licence(quantity=D("12.5")), snapshot=snapshot, ledger=ledger))
    assert [(o.kind, o.body["unitChange"]) for o in item.operations] == [("adjust_units", 3)]


def test_price_change_is_an_adjustment_with_no_unit_change():
    snapshot, ledger = licence_state()
    facts = licence(unit_price=D("24.00"), unit_cost=D("19.50"))
    item = only(plan(facts, snapshot=snapshot, ledger=ledger))
    body = adjustment(unitChange=0, adjustedUnitPrice=D("24.00"), adjustedUnitCost=D("19.50"))
    assert ops(item.operations) == [op("adjust_price", ADJ, body, parent=CONTRACT)]


def test_units_and_price_change_together_are_one_adjustment():
    snapshot, ledger = licence_state(units=10)
    item = only(plan(licence(unit_price=D("24.00")), snapshot=snapshot, ledger=ledger))
    body = adjustment(unitChange=2, adjustedUnitPrice=D("24.00"), adjustedUnitCost=D("18.70"))
    assert ops(item.operations) == [op("adjust_units", ADJ, body, parent=CONTRACT)]


def test_unchanged_subscription_writes_nothing():
    snapshot, ledger = licence_state()
    item = only(plan(licence(), snapshot=snapshot, ledger=ledger))
    assert (item.operations, item.skip) == ([], "")
    assert item.notes == ["Unchanged: Autotask already holds what the report says."]


def test_units_of_a_posted_period_are_not_adjusted():
    snapshot, ledger = licence_state()
    snapshot.units[LINE] = unit_rows(10, posted="2025-12-02T00:00:00Z")
    item = only(plan(licence(), snapshot=snapshot, ledger=ledger))
    assert (item.skip, item.operations) == (Skip.PERIOD_POSTED, [])


def test_yearly_licence_has_a_yearly_contract_and_prices_per_year():
    offer = "Microsoft 365 Business Premium (annual)"
    item = only(plan(licence(offer_name=offer, billing_frequency="annual")))
    create, add = item.operations
    assert create.body["contractPeriodType"] == 5
    assert create.body["contractName"] == "Microsoft 365 Business Premium (annual) - Contoso"
    # 22.00 and 18.70 a month, × 12
    body = new_line(adjustedUnitPrice=D("264.00"), adjustedUnitCost=D("224.40"))
    assert (add.kind, add.body) == ("add_service_line", body)


# -- 4: renewal, cancellation, missing ---------------------------------------------------------


def test_renewal_extends_the_contract_to_the_last_day_of_the_new_end_month():
    snapshot, ledger = licence_state()
    item = only(plan(licence(term_end=dt.date(2027, 10, 14)), snapshot=snapshot, ledger=ledger))
    body = {"id": CONTRACT, "endDate": dt.date(2027, 10, 31)}
    assert ops(item.operations) == [op("extend_end_date", CONTRACTS, body, target=CONTRACT)]


def test_cancellation_ends_the_contract_on_the_last_day_of_the_month():
    snapshot, ledger = licence_state()
    item = only(plan(licence(cancelled=True), snapshot=snapshot, ledger=ledger))
    body = {"id": CONTRACT, "endDate": NOV_30}
    assert ops(item.operations) == [op("end_contract", CONTRACTS, body, target=CONTRACT)]


def test_cancellation_in_a_posted_period_changes_nothing_at_all():
    snapshot, ledger = licence_state(units=10)  # a unit change is due as well
    snapshot.posted_after[CONTRACT] = dt.date(2025, 12, 31)
    item = only(plan(licence(cancelled=True), snapshot=snapshot, ledger=ledger))
    assert (item.skip, item.operations) == (Skip.PERIOD_POSTED, [])


@pytest.mark.parametrize("facts", [licence(), azure()], ids=["licence", "azure-plan"])
def test_cancelled_in_its_first_month_the_new_contract_ends_that_month(facts):
    create, *others = plan(replace(facts, cancelled=True)).items[0].operations
    assert (create.kind, create.body["startDate"], create.body["endDate"]) == (
        "create_contract",
        NOV_1,
        NOV_30,
    )
    assert [o.kind for o in others] in (["add_service_line"], ["create_charge"])  # no end


def test_a_subscription_missing_from_the_report_is_reported_not_ended():
    snapshot, ledger = licence_state()
    gone = MissingSubscription("SUB-1", "Contoso", M365_NAME)
    item = only(plan(snapshot=snapshot, ledger=ledger, missing=[gone]))
    assert (item.subscription_id, item.skip, item.operations) == (
        "SUB-1",
        Skip.MISSING_FROM_REPORT,
        [],
    )


# -- 3: charges ------------------------------------------------------------------------------


def test_azure_plan_first_month_creates_product_contract_to_2099_and_the_charge():
    result = plan(azure())
    product = {
        "name": "Azure Plan",
        "description": "Microsoft Azure Plan charges exported by syncadmin (one per month).",
        "productBillingCodeID": 29682811,
        "isActive": True,
        "isSerialized": False,
    }
    assert ops(result.shared) == [op("create_product", "Products", product)]
    assert result.shared[0].key == "product:azure_plan"
    create, created = result.items[0].operations
    assert (create.kind, create.body["contractName"]) == ("create_contract", "Azure plan - Contoso")
    assert (create.body["startDate"], create.body["endDate"]) == (NOV_1, dt.date(2099, 12, 31))
    body = wanted_charge(contractID=None, productID=None) | CHARGE_FIELDS
    refs = {"parent": "contract:AZ-1", "contractID": "contract:AZ-1"}
    refs["productID"] = "product:azure_plan"
    assert ops([created]) == [op("create_charge", CHARGES, body, refs=refs)]
    assert created.key == "charge:AZ-1:2025-11"


def test_azure_plan_later_month_writes_only_the_months_charge_on_the_found_product():
    item = only(plan(azure(), snapshot=azure_state(), ledger=AZ_LEDGER))
    body = wanted_charge(contractID=CONTRACT, productID=PRODUCT) | CHARGE_FIELDS
    assert ops(item.operations) == [op("create_charge", CHARGES, body, parent=CONTRACT)]


def test_a_product_syncadmin_created_is_reused_from_the_ledger():
    snapshot = azure_state()
    snapshot.products = {}
    ledger = AZ_LEDGER | {"product:azure_plan": LedgerEntry(6002, {"name": "Azure Plan"})}
    item = only(plan(azure(), snapshot=snapshot, ledger=ledger))
    body = wanted_charge(contractID=CONTRACT, productID=6002) | CHARGE_FIELDS
    assert ops(item.operations) == [op("create_charge", CHARGES, body, parent=CONTRACT)]


def test_the_product_of_a_record_type_is_created_once():
    other = azure(subscription_id="AZ-2", organization_pk=2, organization_name="Fabrikam")
    result = plan(azure(), other, mappings=Mappings(companies={1: COMPANY, 2: 102}, services={}))
    assert [o.kind for o in result.shared] == ["create_product"]
    charges = [o for item in result.items for o in item.operations if o.entity == CHARGES]
    assert [(o.body["name"], o.refs["productID"]) for o in charges] == [
        ("Azure Plan 2025-11 AZ-1", "product:azure_plan"),
        ("Azure Plan 2025-11 AZ-2", "product:azure_plan"),
    ]


def test_a_reservation_is_folded_into_the_azure_plan_charge_when_the_connection_says_so():
    result = plan(
        azure(), reservation(), snapshot=azure_state(), settings_=settings(fold_reservations=True)
    )
    plan_item, folded = result.items
    description = AZ_DESCRIPTION + "; includes reservations RES-1"
    body = wanted_charge(description=description, unitCost=D(130), unitPrice=D(143))
    body |= {"contractID": CONTRACT, "productID": PRODUCT} | CHARGE_FIELDS
    assert ops(plan_item.operations) == [op("create_charge", CHARGES, body, parent=CONTRACT)]
    assert (folded.subscription_id, folded.skip, folded.operations) == ("RES-1", Skip.FOLDED, [])


def test_a_reservation_not_folded_has_its_own_charge_on_azure_reservation():
    result = plan(reservation(), snapshot=Snapshot(products={"Azure Plan": {"id": PRODUCT}}))
    assert [(o.kind, o.key, o.body["name"]) for o in result.shared] == [
        ("create_product", "product:azure_reservation", "Azure Reservation")
    ]
    create, created = result.items[0].operations
    assert create.kind == "create_contract"
    fields = ("name", "unitQuantity", "unitCost", "unitPrice")
    assert [created.body[name] for name in fields] == [
        "Azure Reservation 2025-11 RES-1",
        D(1),
        D("40.00"),
        D("44.00"),
    ]
    assert created.refs["productID"] == "product:azure_reservation"


@pytest.mark.parametrize(
    ("quantity", "price", "cost", "expected"),
    [
        (D(3), D("30.00"), D("24.00"), [D(3), D("10.00"), D("8.00")]),
        (D(3), D("10.00"), D("8.00"), [D(1), D("10.00"), D("8.00")]),  # 3.3333…: not exact
        (None, D("10.00"), D("8.00"), [D(1), D("10.00"), D("8.00")]),
    ],
    ids=["quantity-divides", "quantity-does-not-divide", "no-quantity"],
)
def test_marketplace_charge_quantity_is_1_unless_meaningful(quantity, price, cost, expected):
    facts = azure(subscription_id="MP-1", offer_name="Acme Backup", record_type="marketplace")
    facts = replace(facts, quantity=quantity, total_cost=cost, sales_amount=price)
    result = plan(facts, snapshot=Snapshot(products={"Marketplace": {"id": 6003}}))
    create, created = only(result).operations
    assert create.body["endDate"] == NOV_30  # no term end: the report month
    fields = ("name", "productID", "datePurchased")
    assert [created.body[name] for name in fields] == ["Marketplace 2025-11 MP-1", 6003, NOV_30]
    fields = ("unitQuantity", "unitPrice", "unitCost")
    assert [created.body[name] for name in fields] == expected


def test_software_subscription_is_charged_on_its_product_until_its_term_ends():
    facts = azure(subscription_id="SW-1", offer_name="Windows Server 2022")
    facts = replace(facts, record_type="software_subscription", term_end=dt.date(2028, 10, 2))
    result = plan(facts)
    assert [o.body["name"] for o in result.shared] == ["Software Subscription"]
    create, created = result.items[0].operations
    assert (create.body["startDate"], create.body["endDate"]) == (NOV_1, dt.date(2028, 10, 31))
    assert created.body["name"] == "Software Subscription 2025-11 SW-1"


def test_perpetual_licence_contract_dates_come_from_the_charge_dates():
    facts = azure(
        subscription_id="PL-1",
        offer_name="Office LTSC 2024",
        record_type="perpetual_licence",
        charge_start=dt.date(2025, 11, 14),
        charge_end=dt.date(2026, 11, 13),
    )
    result = plan(facts)
    assert [o.body["name"] for o in result.shared] == ["Perpetual Licence"]
    create, created = result.items[0].operations
    assert (create.body["startDate"], create.body["endDate"]) == (
        dt.date(2025, 11, 14),
        dt.date(2026, 11, 30),
    )
    assert created.body["name"] == "Perpetual Licence 2025-11 PL-1"


def test_an_unbilled_charge_the_report_changed_is_updated():
    ledger = AZ_LEDGER | {"charge:AZ-1:2025-11": LedgerEntry(CHARGE, wanted_charge())}
    item = only(plan(azure(sales_amount=D(110)), snapshot=azure_state(charge()), ledger=ledger))
    body = {"id": CHARGE} | wanted_charge(unitPrice=D("110.00"))
    expected = op("update_charge", CHARGES, body, parent=CONTRACT, target=CHARGE)
    assert ops(item.operations) == [expected]


def test_an_unchanged_charge_writes_nothing():
    item = only(plan(azure(), snapshot=azure_state(charge()), ledger=AZ_LEDGER))
    assert item.operations == []
    assert item.notes == ["Unchanged: Autotask already holds what the report says."]


def test_a_billed_charge_is_corrected_by_a_flagged_new_charge_for_the_difference():
    snapshot = azure_state(charge(isBilled=True))
    facts = azure(sales_amount=D("110.00"), total_cost=D("100.00"))
    item = only(plan(facts, snapshot=snapshot, ledger=AZ_LEDGER))
    body = {
        "name": "Azure Plan 2025-11 AZ-1 correction 1",
        "description": "Correction of the billed 2025-11 charge 8001: the report now says "
        "price 110.0000, cost 100.0000.",
        "datePurchased": NOV_30,
        "unitQuantity": D(1),
        "unitCost": D("10.00"),
        "unitPrice": D("11.00"),
        "contractID": CONTRACT,
        "productID": PRODUCT,
    } | CHARGE_FIELDS
    assert ops(item.operations) == [op("correct_charge", CHARGES, body, parent=CONTRACT)]
    assert (item.operations[0].flagged, item.operations[0].key) == (
        True,
        "correction:AZ-1:2025-11:1",
    )


def test_a_second_correction_posts_only_what_is_still_missing():
    first = charge(id=8002, name="Azure Plan 2025-11 AZ-1 correction 1", isBilled=True)
    snapshot = azure_state(charge(isBilled=True), first | {"unitPrice": 11.0, "unitCost": 10.0})
    facts = azure(sales_amount=D("120.00"), total_cost=D("105.00"))
    item = only(plan(facts, snapshot=snapshot, ledger=AZ_LEDGER))
    fields = ("name", "unitPrice", "unitCost")
    assert [(o.kind, o.flagged, *(o.body[name] for name in fields)) for o in item.operations] == [
        ("correct_charge", True, "Azure Plan 2025-11 AZ-1 correction 2", D(10), D(5))
    ]


# -- 5: ownership and drift --------------------------------------------------------------------


def test_drifted_contract_fields_are_restored_to_our_values():
    snapshot, ledger = licence_state(contractName="Renamed in Autotask", status=0)
    item = only(plan(licence(), snapshot=snapshot, ledger=ledger))
    body = {"id": CONTRACT, "contractName": M365_NAME, "status": 1}
    assert ops(item.operations) == [op("restore_drift", CONTRACTS, body, target=CONTRACT)]
    assert item.operations[0].before == {"contractName": "Renamed in Autotask", "status": 0}


def test_a_shortened_end_date_is_restored():
    snapshot, ledger = licence_state(endDate="2026-03-31T00:00:00Z")
    item = only(plan(licence(), snapshot=snapshot, ledger=ledger))
    body = {"id": CONTRACT, "endDate": TERM_END}
    assert ops(item.operations) == [op("restore_drift", CONTRACTS, body, target=CONTRACT)]


def test_drift_and_renewal_together_are_one_write_that_also_extends():
    snapshot, ledger = licence_state(contractName="Renamed in Autotask")
    item = only(plan(licence(term_end=dt.date(2027, 10, 14)), snapshot=snapshot, ledger=ledger))
    body = {"id": CONTRACT, "contractName": M365_NAME, "endDate": dt.date(2027, 10, 31)}
    assert ops(item.operations) == [op("restore_drift", CONTRACTS, body, target=CONTRACT)]


def test_drifted_units_are_restored():
    snapshot, ledger = licence_state(units=9)
    wrote = {"units": 12, "unitPrice": D("22.00"), "unitCost": D("18.70")}
    ledger["units:SUB-1:501:2025-11"] = LedgerEntry(None, wrote)
    item = only(plan(licence(), snapshot=snapshot, ledger=ledger))
    body = adjustment(unitChange=3)
    assert ops(item.operations) == [op("restore_drift", ADJ, body, parent=CONTRACT)]


def test_a_drifted_unbilled_charge_is_restored():
    ledger = AZ_LEDGER | {"charge:AZ-1:2025-11": LedgerEntry(CHARGE, wanted_charge())}
    snapshot = azure_state(charge(unitPrice=80.0))
    item = only(plan(azure(), snapshot=snapshot, ledger=ledger))
    body = {"id": CHARGE} | wanted_charge()
    expected = op("restore_drift", CHARGES, body, parent=CONTRACT, target=CHARGE)
    assert ops(item.operations) == [expected]


def hand_mapped() -> tuple[Snapshot, Mappings]:
    """SUB-1 mapped by hand to a contract without our key, shorter than the term."""
    found = contract(contractNumber="CN-2024-17", contractName="Contoso managed services")
    snapshot = Snapshot(contracts={"SUB-1": found | {"endDate": "2026-03-31T00:00:00Z"}})
    mappings = Mappings({1: COMPANY}, {11: SERVICE}, contracts={"SUB-1": CONTRACT})
    return snapshot, mappings


def test_a_hand_mapped_contract_gets_its_line_and_no_contract_field_change():
    snapshot, mappings = hand_mapped()
    facts = licence(term_end=dt.date(2027, 10, 14))  # a renewal: not ours to extend
    item = only(plan(facts, snapshot=snapshot, mappings=mappings))
    body = new_line(contractID=CONTRACT)
    assert ops(item.operations) == [op("add_service_line", ADJ, body, parent=CONTRACT)]
    assert "was mapped by hand" in item.notes[0]


def test_a_cancelled_hand_mapped_contract_is_not_ended_only_noted():
    snapshot, mappings = hand_mapped()
    snapshot.lines, snapshot.units = {CONTRACT: [line()]}, {LINE: unit_rows(12)}
    item = only(plan(licence(cancelled=True), snapshot=snapshot, mappings=mappings))
    assert (item.operations, item.skip) == ([], "")
    assert any(n.startswith("Cancelled, but contract 9001 was mapped by hand") for n in item.notes)


# -- 6: offer change and billing frequency -------------------------------------------------------


def test_offer_change_sets_the_old_line_to_zero_and_adds_the_new_one():
    snapshot, ledger = licence_state(units=10)
    facts = licence(offer_pk=12, offer_name="Microsoft 365 E3 (monthly)")
    facts = replace(facts, unit_price=D(36), unit_cost=D(30))
    mappings = Mappings(companies={1: COMPANY}, services={11: SERVICE, 12: 502})
    item = only(plan(facts, snapshot=snapshot, ledger=ledger, mappings=mappings))
    new = new_line(contractID=CONTRACT, serviceID=502)
    new |= {"adjustedUnitPrice": D("36.00"), "adjustedUnitCost": D("30.00")}
    assert ops(item.operations) == [
        op("adjust_units", ADJ, adjustment(unitChange=-10), parent=CONTRACT),
        op("add_service_line", ADJ, new, parent=CONTRACT),
    ]
    keys = ["units:SUB-1:501:2025-11", "units:SUB-1:502:2025-11"]
    assert [o.key for o in item.operations] == keys


def test_billing_frequency_change_is_skipped_for_a_person_to_decide():
    snapshot, ledger = licence_state(units=10)
    facts = licence(
        offer_name="Microsoft 365 Business Premium (annual)", billing_frequency="annual"
    )
    item = only(plan(facts, snapshot=snapshot, ledger=ledger))
    assert (item.skip, item.operations) == (Skip.BILLING_FREQUENCY_CHANGED, [])


def test_other_billing_cycles_are_not_supported():
    item = only(plan(licence(billing_frequency="triennial")))
    assert (item.skip, item.operations) == (Skip.NOT_SUPPORTED, [])


# -- preconditions: mapped organization, enabled record type, mapped offer ---------------------


def test_unmapped_organization_is_skipped():
    item = only(plan(licence(), mappings=Mappings(companies={}, services={11: SERVICE})))
    assert (item.skip, item.operations) == (Skip.ORGANIZATION_UNMAPPED, [])


@pytest.mark.parametrize(
    ("facts", "skip"),
    [(licence(), Skip.RECORD_TYPE_DISABLED), (licence(record_type=None), Skip.RECORD_TYPE_UNKNOWN)],
)
def test_record_type_not_exported_is_skipped(facts, skip):
    item = only(plan(facts, settings_=settings(record_types=frozenset({"azure_plan"}))))
    assert (item.skip, item.operations) == (skip, [])


def test_unmapped_offer_creates_the_service_and_the_line_refers_to_it():
    """Named with its term (offers differing only in term need services of their own),
    keyed by the offer in its description."""
    facts = licence(term="P1Y", offer_key="CFQ7TTC0LCHC:0002:CFQ7TTC0KDNW:P1Y:monthly")
    result = plan(facts, mappings=Mappings(companies={1: COMPANY}, services={}))
    service = {"name": f"{M365} 1-year term", "periodType": 2, "billingCodeID": 29682802}
    service |= {
        "description": "Microsoft offer CFQ7TTC0LCHC:0002:CFQ7TTC0KDNW:P1Y:monthly, created by "
        "syncadmin"
    }
    service |= {"unitPrice": D("22.00"), "unitCost": D("18.70")}
    service |= {"invoiceDescription": M365, "isActive": True}
    assert ops(result.shared) == [op("create_service", "Services", service)]
    assert result.shared[0].key == "service:11"
    add = result.items[0].operations[1]
    body = new_line()
    del body["serviceID"]
    refs = NEW_CONTRACT | {"serviceID": "service:11"}
    assert ops([add]) == [op("add_service_line", ADJ, body, refs=refs)]


def test_a_service_syncadmin_created_earlier_is_reused_from_the_ledger():
    ledger = {"service:11": LedgerEntry(555, {"offer_pk": 11})}
    result = plan(licence(), mappings=Mappings({1: COMPANY}, {}), ledger=ledger)
    assert only(result).operations[1].body == new_line(serviceID=555)


def test_a_service_an_export_created_is_found_by_its_key_and_not_created_again():
    """Its create's answer (or its record) was lost: Autotask has it, syncadmin does not."""
    facts = licence(offer_key="CFQ7TTC0LCHC:0002:CFQ7TTC0KDNW:P1Y:monthly")
    key = "Microsoft offer CFQ7TTC0LCHC:0002:CFQ7TTC0KDNW:P1Y:monthly, created by syncadmin"
    snapshot = Snapshot(services={key: {"id": 777, "description": key}})
    result = plan(facts, mappings=Mappings({1: COMPANY}, {}), snapshot=snapshot)
    assert result.shared == []
    assert only(result).operations[1].body == new_line(serviceID=777)
    assert "Service 777 found by its key" in only(result).notes[0]


def test_unmapped_offer_is_skipped_when_the_connection_does_not_create_services():
    off = settings(create_missing_services=False)
    item = only(plan(licence(), mappings=Mappings({1: COMPANY}, {}), settings_=off))
    assert (item.skip, item.operations) == (Skip.OFFER_UNMAPPED, [])


def test_months_before_the_contract_starts_are_never_billed():
    snapshot, ledger = licence_state(startDate="2025-12-01T00:00:00Z")
    item = only(plan(licence(), snapshot=snapshot, ledger=ledger))
    assert (item.skip, item.operations) == (Skip.BEFORE_CONTRACT, [])


# -- 7: dates ----------------------------------------------------------------------------------


def test_every_date_written_is_a_calendar_date():
    result = plan(licence(), azure())
    dates = [v for o in result.operations() for v in o.body.values() if isinstance(v, dt.date)]
    assert {type(v) for v in dates} == {dt.date}  # never a datetime
    assert sorted(set(dates)) == [NOV_1, NOV_30, TERM_END, dt.date(2099, 12, 31)]
