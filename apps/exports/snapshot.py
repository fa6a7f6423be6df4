"""Everything a plan needs from Autotask, read in bulk: `in` batches of at most 500 ids
and pages of 500 rows, never one request per subscription.

For a month of N subscriptions: contracts by our key (N / 500 requests), hand-mapped
contracts by id, their service lines and the month's unit rows (one batch of contracts
each), the month's charges of the charge contracts, the posted periods of cancelled
subscriptions' contracts, and the charge products by name (one request).
"""

from __future__ import annotations

import datetime as dt

from apps.autotask.client import MAX_IN_BATCH, AutotaskClient
from apps.autotask.dates import format_date
from apps.core.choices import RecordType
from apps.exports.planner import (
    CHARGE_PRODUCTS,
    Snapshot,
    SubscriptionFacts,
    as_date,
    contract_key_of,
    month_end,
    service_key,
)

CONTRACT_FIELDS = [
    "contractName",
    "contractNumber",
    "contractType",
    "contractPeriodType",
    "status",
    "companyID",
    "serviceLevelAgreementID",
    "contractCategory",
    "startDate",
    "endDate",
]
LINE_FIELDS = ["contractID", "serviceID", "unitPrice", "unitCost"]
UNIT_FIELDS = [
    "contractID",
    "contractServiceID",
    "serviceID",
    "startDate",
    "endDate",
    "units",
    "price",
    "cost",
    "approveAndPostDate",
]
CHARGE_FIELDS = [
    "contractID",
    "name",
    "description",
    "datePurchased",
    "unitQuantity",
    "unitCost",
    "unitPrice",
    "isBilled",
    "productID",
]


def _batches(values) -> list[list]:
    values = sorted(set(values))
    return [values[i : i + MAX_IN_BATCH] for i in range(0, len(values), MAX_IN_BATCH)]


def _end_of_day(day: dt.date) -> str:
    return day.strftime("%Y-%m-%dT23:59:59") + "Z"


def contracts_by_key(
    client: AutotaskClient, subscription_ids, *, key_udf: str = ""
) -> dict[str, dict]:
    found = {}
    for batch in _batches(subscription_ids):
        if key_udf:
            condition = {"op": "in", "field": key_udf, "udf": True, "value": batch}
            rows = client.query(
                "Contracts", [condition, {"op": "eq", "field": "contractType", "value": 7}]
            )
        else:
            condition = {"op": "in", "field": "contractNumber", "value": batch}
            rows = client.query(
                "Contracts",
                [condition, {"op": "eq", "field": "contractType", "value": 7}],
                include_fields=CONTRACT_FIELDS,
            )
        wanted = {value.lower(): value for value in batch}
        for row in rows:
            key = wanted.get(contract_key_of(row, key_udf).lower())
            if key and (key not in found or row["id"] < found[key]["id"]):
                found[key] = row  # two with one key: the first one created is ours
    return found


def read_snapshot(
    client: AutotaskClient,
    *,
    month: dt.date,
    subscriptions: list[SubscriptionFacts],
    mapped_contracts: dict[str, int],
    mapped_offers: set[int] = frozenset(),
    key_udf: str = "",
) -> Snapshot:
    start, end = month, month_end(month)
    snapshot = Snapshot()
    ids = [facts.subscription_id for facts in subscriptions]
    snapshot.contracts = contracts_by_key(client, ids, key_udf=key_udf)
    by_hand = {
        sub: contract_id
        for sub, contract_id in mapped_contracts.items()
        if sub in set(ids) and sub not in snapshot.contracts
    }
    if by_hand:
        rows = {
            row["id"]: row
            for row in client.get_many(
                "Contracts", by_hand.values(), include_fields=CONTRACT_FIELDS
            )
        }
        for sub, contract_id in by_hand.items():
            if contract_id in rows:
                snapshot.contracts[sub] = rows[contract_id]

    kinds = {facts.subscription_id: facts for facts in subscriptions}
    licence_contracts, charge_contracts, cancelled_contracts = set(), set(), set()
    for sub, contract in snapshot.contracts.items():
        facts = kinds[sub]
        if facts.record_type == RecordType.LICENSE_BASED:
            licence_contracts.add(contract["id"])
        else:
            charge_contracts.add(contract["id"])
        if facts.cancelled:
            cancelled_contracts.add(contract["id"])

    for batch in _batches(licence_contracts):
        for row in client.query(
            "ContractServices",
            [{"op": "in", "field": "contractID", "value": batch}],
            include_fields=LINE_FIELDS,
        ):
            snapshot.lines.setdefault(row["contractID"], []).append(row)
        for row in client.query(
            "ContractServiceUnits",
            [
                {"op": "in", "field": "contractID", "value": batch},
                {"op": "lte", "field": "startDate", "value": _end_of_day(end)},
                {"op": "gte", "field": "endDate", "value": format_date(start)},
            ],
            include_fields=UNIT_FIELDS,
        ):
            snapshot.units.setdefault(row["contractServiceID"], []).append(row)

    for batch in _batches(charge_contracts):
        for row in client.query(
            "ContractCharges",
            [
                {"op": "in", "field": "contractID", "value": batch},
                {"op": "gte", "field": "datePurchased", "value": format_date(start)},
                {"op": "lte", "field": "datePurchased", "value": _end_of_day(end)},
            ],
            include_fields=CHARGE_FIELDS,
        ):
            snapshot.charges.setdefault(row["contractID"], []).append(row)

    for batch in _batches(cancelled_contracts):
        for row in client.query(
            "ContractServiceUnits",
            [
                {"op": "in", "field": "contractID", "value": batch},
                {"op": "exist", "field": "approveAndPostDate"},
                {"op": "gt", "field": "endDate", "value": _end_of_day(end)},
            ],
            include_fields=UNIT_FIELDS,
        ):
            day = as_date(row.get("endDate"))
            known = snapshot.posted_after.get(row["contractID"])
            if day and (known is None or day > known):
                snapshot.posted_after[row["contractID"]] = day

    # Services an export created for offers not mapped (yet): by the key in their
    # description, so a create whose answer (or record) was lost is not made again.
    keys = sorted(
        {
            service_key(f)
            for f in subscriptions
            if f.record_type == RecordType.LICENSE_BASED and f.offer_pk not in mapped_offers
        }
    )
    for batch in _batches(keys):
        for row in client.query(
            "Services",
            [{"op": "in", "field": "description", "value": batch}],
            include_fields=["name", "description", "periodType", "isActive"],
        ):
            snapshot.services.setdefault(row["description"], row)

    names = sorted(
        {CHARGE_PRODUCTS[f.record_type] for f in subscriptions if f.record_type in CHARGE_PRODUCTS}
    )
    if names:
        for row in client.query(
            "Products",
            [
                {"op": "in", "field": "name", "value": names},
                {"op": "eq", "field": "isActive", "value": True},
            ],
            include_fields=["name", "isActive"],
        ):
            snapshot.products.setdefault(row["name"], row)
    return snapshot
