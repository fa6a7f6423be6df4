"""ContractServiceUnits, derived from contracts, contract services and adjustments.

One row per billing period of the contract (periods start on the contract's start day and
last `contractPeriodType` months), split at every adjustment's effective date inside the
period. `units` is the absolute count on the row's start date; `price` and `cost` are the
row's extended amounts (units × the unit price and cost in effect). Row ids are stable:
the same contract service and start date keep the same id as rows are recomputed.

Prices change in the order the changes were made: a priced adjustment sets the price of the
rows from its effective date on, an update of the line's `unitPrice` sets it on every row
that was not yet approved and posted when it was made. Neither reaches a posted row.
"""

import datetime as dt
from calendar import monthrange

from apps.sandbox.schema import PERIOD_MONTHS
from apps.sandbox.store import Store
from apps.sandbox.values import parse_datetime, stored_date, times

MAX_PERIODS = 120  # rows stop after ten years of monthly periods


def add_months(day: dt.date, months: int, anchor_day: int) -> dt.date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return dt.date(year, month, min(anchor_day, monthrange(year, month)[1]))


def billing_periods(contract: dict) -> list[tuple[dt.date, dt.date]]:
    start = parse_datetime(contract.get("startDate"))
    end = parse_datetime(contract.get("endDate"))
    if start is None or end is None:
        return []
    start, end = start.date(), end.date()
    months = PERIOD_MONTHS.get(contract.get("contractPeriodType") or 2, 1)
    periods = []
    period_start = start
    index = 0
    while period_start <= end and len(periods) < MAX_PERIODS:
        index += 1
        next_start = add_months(start, months * index, start.day)
        periods.append((period_start, min(next_start - dt.timedelta(days=1), end)))
        period_start = next_start
    return periods


def price_changes(contract_service: dict, adjustments: list[dict]) -> list[dict]:
    """The line's price and cost changes in the order they were made.

    Each is `{"from": day}` (a priced adjustment: rows starting on or after the day) or
    `{"unposted_after": day | None}` (a `unitPrice` update: rows ending after the day that
    was posted through when it was made), with the `unitPrice` and/or `unitCost` it sets.
    """
    ordered = []
    for item in adjustments:
        change = {}
        if item.get("adjustedUnitPrice") is not None:
            change["unitPrice"] = item["adjustedUnitPrice"]
        if item.get("adjustedUnitCost") is not None:
            change["unitCost"] = item["adjustedUnitCost"]
        if change:
            change["from"] = parse_datetime(item["effectiveDate"]).date()
            ordered.append(((item["id"], 0, 0), change))
    for index, edit in enumerate(contract_service.get("_priceEdits") or ()):
        posted = edit.get("postedThrough")
        change = {
            "unitPrice": edit.get("unitPrice"),
            "unposted_after": dt.date.fromisoformat(posted) if posted else None,
        }
        ordered.append(((edit.get("afterAdjustment") or 0, 1, index), change))
    return [change for _, change in sorted(ordered, key=lambda pair: pair[0])]


def base_prices(contract_service: dict) -> tuple:
    """The unit price and cost the line had before any change."""
    return (
        contract_service.get("_baseUnitPrice", contract_service.get("unitPrice")),
        contract_service.get("_baseUnitCost", contract_service.get("unitCost")),
    )


def current_prices(contract_service: dict, adjustments: list[dict]) -> tuple:
    """The unit price and cost after the latest change: what the line itself shows."""
    unit_price, unit_cost = base_prices(contract_service)
    for change in price_changes(contract_service, adjustments):
        unit_price = change.get("unitPrice", unit_price)
        unit_cost = change.get("unitCost", unit_cost)
    return unit_price, unit_cost


def prices_for_row(base: tuple, changes: list[dict], row_start: dt.date, row_end: dt.date):
    unit_price, unit_cost = base
    for change in changes:
        if "from" in change:
            applies = change["from"] <= row_start
        else:
            applies = change["unposted_after"] is None or row_end > change["unposted_after"]
        if applies:
            unit_price = change.get("unitPrice", unit_price)
            unit_cost = change.get("unitCost", unit_cost)
    return unit_price, unit_cost


def contract_service_rows(store: Store, contract_service: dict, adjustments: list[dict]):
    contract = store.get("Contracts", contract_service["contractID"])
    if contract is None:
        return
    changes = sorted(
        (parse_datetime(item["effectiveDate"]).date(), item["id"], item) for item in adjustments
    )
    posted = store.posted_through(contract["id"])
    posted_day = dt.date.fromisoformat(posted) if posted else None
    posted_at = store.meta.get("posted_at", {}).get(str(contract["id"]))
    unit_ids = store.meta["unit_ids"]
    base = base_prices(contract_service)
    price_list = price_changes(contract_service, adjustments)

    for period_start, period_end in billing_periods(contract):
        cuts = sorted({day for day, _, _ in changes if period_start < day <= period_end})
        starts = [period_start, *cuts]
        for position, row_start in enumerate(starts):
            row_end = (
                starts[position + 1] - dt.timedelta(days=1)
                if position + 1 < len(starts)
                else period_end
            )
            units = 0
            for day, _, item in changes:
                if day > row_start:
                    break
                units += item.get("unitChange") or 0
            unit_price, unit_cost = prices_for_row(base, price_list, row_start, row_end)
            key = f"{contract_service['id']}:{row_start.isoformat()}"
            row_id = unit_ids.get(key)
            if row_id is None:
                row_id = store.new_id("ContractServiceUnits")
                unit_ids[key] = row_id
                store.set_meta("unit_ids", unit_ids)
            yield {
                "id": row_id,
                "approveAndPostDate": posted_at if posted_day and row_end <= posted_day else None,
                "contractID": contract["id"],
                "contractServiceID": contract_service["id"],
                "cost": times(units, unit_cost or 0),
                "endDate": stored_date(row_end),
                "internalCurrencyPrice": times(units, unit_price or 0),
                "organizationalLevelAssociationID": None,
                "price": times(units, unit_price or 0),
                "serviceID": contract_service["serviceID"],
                "startDate": stored_date(row_start),
                "units": units,
                "vendorCompanyID": None,
                "userDefinedFields": [],
            }


class UnitRows:
    """Derived rows, recomputed only when the store changed since the last read."""

    def __init__(self, store: Store):
        self.store = store
        self._version = None
        self._rows: dict[int, dict] = {}

    def all(self) -> dict[int, dict]:
        with self.store.lock:
            if self._version != self.store.version:
                self._rows = self._derive()
                self._version = self.store.version
            return self._rows

    def _derive(self) -> dict[int, dict]:
        by_service: dict[int, list[dict]] = {}
        for adjustment in self.store.rows("ContractServiceAdjustments"):
            by_service.setdefault(adjustment["contractServiceID"], []).append(adjustment)
        rows = {}
        for contract_service in self.store.rows("ContractServices"):
            for row in contract_service_rows(
                self.store, contract_service, by_service.get(contract_service["id"], [])
            ):
                rows[row["id"]] = row
        return rows

    def units_on(self, contract_service_id: int, day: dt.date, extra: list[dict] = ()) -> int:
        """Units a contract service has on `day`, counting `extra` adjustments too."""
        total = 0
        for adjustment in [*self.store.rows("ContractServiceAdjustments"), *extra]:
            if adjustment["contractServiceID"] != contract_service_id:
                continue
            if parse_datetime(adjustment["effectiveDate"]).date() <= day:
                total += adjustment.get("unitChange") or 0
        return total
