"""End to end: three months of Partner Center files for 40 organizations (tests/exports/
world.py) are imported, exported month by month to the Autotask sandbox over HTTP, and
what Autotask then holds, read back through its REST API, is what DOMAIN.md "Export" says,
field by field. The expected values are computed here from the world with the rules
written out, not by the planner. Exporting the three months again writes nothing.

Rules (DOMAIN.md "Export", "Prices"), as checked:

- One contract per exported subscription of a mapped organization: contractType 7,
  status 1, the mapped companyID, contractPeriodType 2 (monthly) or 5 (yearly) by the
  billing plan, contractNumber = the subscription id, startDate = the first day of the
  first month it was exported, endDate = the last day of the month its term ends (the
  latest report's term: a renewal moves it later), 2099-12-31 for an Azure plan, the last
  day of the cancellation month once cancelled.
- Licences: one service line; for each exported month the unit row covering its first
  day has units = the month's largest quantity, price = units × unit price, cost = units ×
  unit cost, where the unit price is cost × (1 + 20 %) rounded half up to cents and both
  are × 12 on a yearly line.
- Azure plan, Marketplace, reservations: one charge per month, datePurchased = the
  report month's last day, unitQuantity 1, unitCost = the month's Σ Subtotal, unitPrice =
  that × (1 + markup) rounded half up to cents, on the record type's product.
- Unmapped organizations: nothing in Autotask; every run lists their subscriptions as
  skipped, naming the organization.
"""

import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command

from apps.exports.models import ExportRun
from tests.exports.harness import (
    autotask_state,
    connect_world,
    import_world,
    write_log,
)
from tests.exports.world import (
    ANNUAL,
    AZURE_PLAN,
    LICENSE,
    MARKETPLACE,
    RESERVATION,
    build_world,
    month_end,
)

pytestmark = pytest.mark.django_db

D = Decimal
CENT = D("0.01")
MONEY = D("0.0001")
MARKUPS = {LICENSE: 20, AZURE_PLAN: 10, MARKETPLACE: 15, RESERVATION: 5}
PRODUCTS = {AZURE_PLAN: "Azure Plan", MARKETPLACE: "Marketplace", RESERVATION: "Azure Reservation"}
AZURE_PLAN_END = dt.date(2099, 12, 31)
UNMAPPED = (17, 38)  # organization indexes left unmapped


def marked_up(cost: Decimal, record_type: str) -> Decimal:
    return (cost * (1 + D(MARKUPS[record_type]) / 100)).quantize(CENT, ROUND_HALF_UP)


def money(value) -> Decimal:
    return D(str(value)).quantize(MONEY)


def day(value) -> dt.date:
    return dt.date.fromisoformat(str(value)[:10])


# -- what the rules say ---------------------------------------------------------------


def expected_contract(subscription, company_id: int, done: list[dt.date]) -> dict | None:
    months = [m for m in done if m in subscription.periods]
    if not months:
        return None
    periods = [subscription.periods[m] for m in months]
    cancelled = [p.month for p in periods if p.cancelled]
    if subscription.record_type == AZURE_PLAN:
        end = AZURE_PLAN_END
    elif cancelled:
        end = month_end(cancelled[0])
    else:  # the term's month end; a renewal moves it later, nothing moves it earlier
        end = max(max(month_end(p.term_end), month_end(p.month)) for p in periods)
    return {
        "companyID": company_id,
        "contractType": 7,
        "status": 1,
        "contractPeriodType": 5 if subscription.billing_frequency == ANNUAL else 2,
        "contractNumber": subscription.subscription_id,
        "startDate": months[0],
        "endDate": end,
    }


def check_state(world, sandbox, companies: dict[int, int], done: list[dt.date]) -> dict:
    """Autotask holds what the rules say after exporting the months `done`."""
    state = autotask_state(sandbox)
    contracts = {row["contractNumber"]: row for row in state["contracts"]}
    products = {row["name"]: row["id"] for row in state["products"].values()}
    expected_numbers = set()
    for organization, subscription in world.subscriptions():
        company_id = companies.get(organization.index)
        if company_id is None:
            continue
        wanted = expected_contract(subscription, company_id, done)
        if wanted is None:
            continue
        sid = subscription.subscription_id
        expected_numbers.add(sid)
        contract = contracts[sid]
        got = {name: contract[name] for name in wanted}
        got["startDate"], got["endDate"] = day(got["startDate"]), day(got["endDate"])
        assert got == wanted, (organization.name, subscription.kind)
        assert organization.name in contract["contractName"]
        months = [m for m in done if m in subscription.periods]
        lines = state["lines"].get(contract["id"], [])
        charges = state["charges"].get(contract["id"], [])
        if subscription.is_licence:
            assert charges == []
            assert len(lines) == 1, (subscription.kind, lines)
            service = state["services"][lines[0]["serviceID"]]
            assert subscription.product.name in service["name"]
            assert service["periodType"] == wanted["contractPeriodType"]
            check_units(subscription, months, state["units"][contract["id"]])
        else:
            assert lines == []
            check_charges(subscription, months, charges, products)
    assert set(contracts) == expected_numbers  # nothing for unmapped organizations
    return state


def check_units(subscription, months: list[dt.date], rows: list[dict]) -> None:
    per = 12 if subscription.billing_frequency == ANNUAL else 1
    assert min(day(row["startDate"]) for row in rows) == months[0]
    for month in months:
        period = subscription.periods[month]
        covering = [r for r in rows if day(r["startDate"]) <= month <= day(r["endDate"])]
        assert len(covering) == 1, (subscription.kind, month, rows)
        row = covering[0]
        unit_cost = period.unit_cost * per
        unit_price = marked_up(period.unit_cost, LICENSE) * per
        got = (row["units"], money(row["price"]), money(row["cost"]))
        wanted = (
            period.largest,
            money(period.largest * unit_price),
            money(period.largest * unit_cost),
        )
        assert got == wanted, (subscription.kind, month)


def check_charges(subscription, months, charges: list[dict], products: dict[str, int]) -> None:
    assert len(charges) == len(months), (subscription.kind, charges)
    by_date = {day(charge["datePurchased"]): charge for charge in charges}
    for month in months:
        charge = by_date[month_end(month)]
        total = subscription.periods[month].total
        assert subscription.subscription_id in charge["name"]
        assert f"{month:%Y-%m}" in charge["name"]
        assert subscription.subscription_id in charge["description"]
        got = (charge["unitQuantity"], money(charge["unitCost"]), money(charge["unitPrice"]))
        assert got == (1, money(total), money(marked_up(total, subscription.record_type)))
        assert charge["productID"] == products[PRODUCTS[subscription.record_type]]
        assert charge["isBillableToCompany"] is True


# -- the test ---------------------------------------------------------------------------


def export(month: dt.date) -> ExportRun:
    out = io.StringIO()
    call_command("export", "--connection", "Sandbox", "--month", f"{month:%Y-%m}", stdout=out)
    run = ExportRun.objects.filter(dry_run=False).latest("pk")
    assert run.status == "succeeded", out.getvalue()
    return run


def check_skipped(world, run: ExportRun, month: dt.date, exported: set[str]) -> None:
    """Skipped: the subscriptions of unmapped organizations on the report (naming the
    organization), and those with a contract already that the report does not bill
    (reported, never ended)."""
    unmapped = {
        subscription.subscription_id: organization.name
        for organization, subscription in world.subscriptions()
        if organization.index in UNMAPPED and month in subscription.periods
    }
    missing = {
        subscription.subscription_id
        for _, subscription in world.subscriptions()
        if subscription.subscription_id in exported and month not in subscription.periods
    }
    items = run.items.filter(status="skipped").select_related("subscription")
    got = {item.subscription.subscription_id: item.reason for item in items}
    assert set(got) == set(unmapped) | missing
    for sid, name in unmapped.items():
        assert name in got[sid]
        assert "not mapped" in got[sid]
    for sid in missing:
        assert f"Not on the {month:%Y-%m} report" in got[sid]
    assert run.skipped == len(got)


def test_three_months_exported_as_the_rules_say_and_again_without_writes(sandbox, tmp_path):
    world = build_world(organizations=40, seed=7)
    import_world(world, tmp_path)
    connection, companies = connect_world(sandbox, world, markups=MARKUPS, unmapped=UNMAPPED)
    assert connection.name == "Sandbox"

    done, exported = [], set()
    for month in world.months:
        run = export(month)
        assert run.writes > 0
        check_skipped(world, run, month, exported)
        done.append(month)
        state = check_state(world, sandbox, companies, done)
        exported = {row["contractNumber"] for row in state["contracts"]}

    # The world has every case among the mapped organizations, and a few ends spelled out.
    mapped = [(o, s) for o, s in world.subscriptions() if o.index in companies]
    assert {s.kind for _, s in mapped} == {
        "monthly", "monthly_unchanged", "annual", "annual_seats_added", "monthly_term",
        "cancelled", "price_rise", "new_in_second_month", "marketplace", "reservation",
        "azure_plan",
    }  # fmt: skip
    ends = {"monthly_term": dt.date(2026, 4, 30), "cancelled": dt.date(2026, 3, 31),
            "annual": dt.date(2027, 1, 31), "azure_plan": AZURE_PLAN_END}  # fmt: skip
    contracts = {row["contractNumber"]: row for row in state["contracts"]}
    for _, subscription in mapped:
        if subscription.kind in ends:
            end = day(contracts[subscription.subscription_id]["endDate"])
            assert end == ends[subscription.kind]
    assert len(contracts) == len(mapped) == 3 * (len(world.organizations) - len(UNMAPPED))

    writes_before = len(write_log(sandbox))
    for month in world.months:
        run = export(month)
        assert (run.writes, run.failed) == (0, 0), run.done_counts
        check_skipped(world, run, month, exported)
    assert write_log(sandbox)[writes_before:] == []
    assert autotask_state(sandbox) == state
