"""One export operation over HTTP, exactly once (worker threads: no database here).

`send()` makes the write. A create that gets no answer (time-out, dropped connection,
5xx) may have been committed by Autotask, so before it is tried again the object is
looked up by our key (`look_up`): a contract by its key, a charge by its contract and
name, a product by name, a service by the offer key in its description, an adjustment by
the units (and price) it was to leave. Updates are safe to repeat and are retried by the
client itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from apps.autotask.client import AutotaskClient
from apps.autotask.dates import format_date
from apps.autotask.errors import AutotaskUnavailable
from apps.exports.planner import (
    Kind,
    as_date,
    contract_key_of,
    row_unit_prices,
    same_money,
    unit_row_on,
)

logger = logging.getLogger(__name__)

CREATE_ATTEMPTS = 4
DATE_FIELDS = ("startDate", "endDate", "effectiveDate", "datePurchased")
MONEY_FIELDS = (
    "unitPrice",
    "unitCost",
    "adjustedUnitPrice",
    "adjustedUnitCost",
    "unitQuantity",
)


def request_body(body: dict) -> dict:
    """A stored body as Autotask takes it: dates at midnight UTC (so they read back as
    the same calendar day), money as numbers."""
    sent = {}
    for name, value in body.items():
        if value is None:
            continue
        if name in DATE_FIELDS:
            value = format_date(dt.date.fromisoformat(str(value)[:10]))
        elif name in MONEY_FIELDS:
            value = float(Decimal(str(value)))
        sent[name] = value
    return sent


@dataclass
class Outcome:
    autotask_id: int | None
    note: str = ""


def _find_contract(client: AutotaskClient, plan: dict) -> int | None:
    body = plan["body"]
    udfs = body.get("userDefinedFields") or []
    if udfs:
        name, key = udfs[0]["name"], udfs[0]["value"]
        condition = {"op": "eq", "field": name, "udf": True, "value": key}
    else:
        name, key = "", body["contractNumber"]
        condition = {"op": "eq", "field": "contractNumber", "value": key}
    rows = [
        row
        for row in client.query("Contracts", [condition])
        if contract_key_of(row, name).lower() == key.lower()
    ]
    return min(row["id"] for row in rows) if rows else None


def _find_by_name(client: AutotaskClient, entity: str, filters: list[dict]) -> int | None:
    rows = client.query_all(entity, filters, include_fields=["name"])
    return min(row["id"] for row in rows) if rows else None


def line_now(client: AutotaskClient, body: dict) -> tuple[int, tuple | None]:
    """The line's units and (price, cost) per unit in force on the adjustment's day, from
    its ContractServiceUnits row (no row: 0 units, no price)."""
    day = as_date(body["effectiveDate"])
    rows = client.query_all(
        "ContractServiceUnits",
        [
            {"op": "eq", "field": "contractID", "value": body["contractID"]},
            {"op": "eq", "field": "serviceID", "value": body["serviceID"]},
            {"op": "lte", "field": "startDate", "value": day.strftime("%Y-%m-%dT23:59:59Z")},
            {"op": "gte", "field": "endDate", "value": format_date(day)},
        ],
        include_fields=["units", "price", "cost", "startDate", "endDate"],
    )
    row = unit_row_on(rows, day)
    return (int(row.get("units") or 0), row_unit_prices(row)) if row else (0, None)


def adjustment_left_to_do(client: AutotaskClient, plan: dict, body: dict) -> dict | None:
    """What an adjustment still has to change: None when Autotask already shows its
    result (units and price), else its body with `unitChange` worked out again from the
    units the line has now (someone, or an earlier attempt, may have changed them)."""
    wanted = (plan.get("after") or {}).get("units")
    units, prices = line_now(client, body)
    price_due = "adjustedUnitPrice" in body and (
        prices is None
        or not same_money(prices[0], body["adjustedUnitPrice"])
        or not same_money(prices[1], body.get("adjustedUnitCost"))
    )
    if wanted is None:
        return body
    if units == wanted and not price_due:
        return None
    return {**body, "unitChange": wanted - units}


def look_up(client: AutotaskClient, plan: dict, body: dict, parent_id: int | None):
    """The object a create may have made, found by our key; None when it is not there.
    (Adjustments cannot be read: `adjustment_left_to_do` looks at their result.)"""
    kind = plan["kind"]
    if kind == Kind.CREATE_CONTRACT:
        return _find_contract(client, plan)
    if plan["entity"] == "ContractCharges":
        return _find_by_name(
            client,
            "ContractCharges",
            [
                {"op": "eq", "field": "contractID", "value": parent_id},
                {"op": "eq", "field": "name", "value": body["name"]},
            ],
        )
    if kind == Kind.CREATE_PRODUCT:
        by_name = [{"op": "eq", "field": "name", "value": body["name"]}]
        return _find_by_name(client, "Products", by_name)
    if kind == Kind.CREATE_SERVICE:
        by_key = [{"op": "eq", "field": "description", "value": body["description"]}]
        return _find_by_name(client, "Services", by_key)
    return None


def send(
    client: AutotaskClient, plan: dict, body: dict, parent_id: int | None, *, check_first: bool
) -> Outcome:
    """Carry out one operation. ``check_first``: an earlier attempt may have been
    committed (its answer never recorded), so look it up before creating."""
    entity = plan["entity"]
    if not plan["is_create"]:
        return Outcome(client.update(entity, request_body(body), parent_id=parent_id))
    adjustment = entity == "ContractServiceAdjustments"
    problem = None
    for attempt in range(CREATE_ATTEMPTS):
        if adjustment and (check_first or attempt):
            left = adjustment_left_to_do(client, plan, body)
            if left is None:
                return Outcome(None, "Autotask already showed this adjustment's result.")
            body = left
        elif check_first or attempt:
            found = look_up(client, plan, body, parent_id)
            if found:
                return Outcome(found, "Found by its key after an answer was lost.")
        try:
            return Outcome(client.create(entity, request_body(body), parent_id=parent_id))
        except AutotaskUnavailable as lost:
            problem = lost
            logger.info("Create %s failed without an answer (%s); looking it up", entity, lost)
    raise problem
