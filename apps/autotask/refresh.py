"""Copy a connection's reference data from Autotask into local tables.

A full refresh reads every company, service, product and billing code (500 a page, only
the fields we keep), the contract category and SLA picklists, every Recurring Service
contract (those a subscription can be mapped to, by hand or by an export) and, by id,
any other contract syncadmin knows; rows Autotask no longer returns are marked gone,
never deleted. An incremental refresh reads only companies, services and Recurring
Service contracts modified since the last refresh (their last-modified fields), and the
small tables in full.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.autotask.choices import ContractTypeChoices
from apps.autotask.client import AutotaskClient
from apps.autotask.dates import format_datetime, parse_datetime
from apps.autotask.models import (
    AutotaskBillingCode,
    AutotaskCompany,
    AutotaskContract,
    AutotaskPicklistValue,
    AutotaskProduct,
    AutotaskService,
    Connection,
)
from apps.autotask.signals import references_refreshed

PICKLISTS = [("Contracts", "contractCategory"), ("Contracts", "serviceLevelAgreementID")]


@dataclass(frozen=True)
class Source:
    entity: str
    model: type
    fields: dict[str, str]  # Autotask field -> model field
    modified: str | None = None  # Autotask's last-modified field, if any
    filters: tuple[dict, ...] = ()  # which rows to read (default: all)


COMPANIES = Source(
    "Companies",
    AutotaskCompany,
    {
        "companyName": "name",
        "companyType": "company_type",
        "webAddress": "web_address",
        "isActive": "is_active",
        "lastTrackedModifiedDateTime": "last_modified",
    },
    modified="lastTrackedModifiedDateTime",
)
SERVICES = Source(
    "Services",
    AutotaskService,
    {
        "name": "name",
        "periodType": "period_type",
        "unitCost": "unit_cost",
        "unitPrice": "unit_price",
        "billingCodeID": "billing_code_id",
        "isActive": "is_active",
        "lastModifiedDate": "last_modified",
    },
    modified="lastModifiedDate",
)
PRODUCTS = Source(
    "Products",
    AutotaskProduct,
    {
        "name": "name",
        "unitCost": "unit_cost",
        "unitPrice": "unit_price",
        "productBillingCodeID": "billing_code_id",
        "isActive": "is_active",
    },
)
BILLING_CODES = Source(
    "BillingCodes",
    AutotaskBillingCode,
    {"name": "name", "useType": "use_type", "isActive": "is_active"},
)
CONTRACTS = Source(
    "Contracts",
    AutotaskContract,
    {
        "contractName": "name",
        "companyID": "company_id",
        "contractType": "contract_type",
        "contractNumber": "contract_number",
        "status": "status",
        "startDate": "start_date",
        "endDate": "end_date",
        "lastModifiedDateTime": "last_modified",
    },
    modified="lastModifiedDateTime",
    filters=(
        {"op": "eq", "field": "contractType", "value": ContractTypeChoices.RECURRING_SERVICE},
    ),
)


@dataclass
class RefreshResult:
    counts: dict = field(default_factory=dict)
    watermarks: dict = field(default_factory=dict)


def _value(model, name: str, raw):
    field_type = model._meta.get_field(name).get_internal_type()
    if raw is None:
        if field_type in ("CharField", "TextField"):
            return ""
        if field_type == "BooleanField":
            return True
        return None
    if field_type == "DateTimeField":
        return parse_datetime(raw)
    if field_type == "DateField":
        return parse_datetime(raw).date()
    if field_type == "DecimalField":
        return Decimal(str(raw)).quantize(Decimal("0.0001"))
    if field_type in ("CharField", "TextField"):
        return str(raw)[: model._meta.get_field(name).max_length or None]
    return raw


def store_rows(connection: Connection, source: Source, rows: list[dict], *, complete: bool):
    """Insert new rows, update changed ones; when `rows` is complete, mark the rest gone."""
    model = source.model
    now = timezone.now()
    existing = {row.autotask_id: row for row in model.objects.filter(connection=connection)}
    created, updated, seen = [], [], set()
    names = list(source.fields.values())
    for item in rows:
        values = {
            target: _value(model, target, item.get(origin))
            for origin, target in source.fields.items()
        }
        autotask_id = int(item["id"])
        seen.add(autotask_id)
        row = existing.get(autotask_id)
        if row is None:
            created.append(model(connection=connection, autotask_id=autotask_id, **values))
            continue
        changed = row.gone_at is not None or any(
            getattr(row, name) != value for name, value in values.items()
        )
        if changed:
            for name, value in values.items():
                setattr(row, name, value)
            row.gone_at = None
            updated.append(row)
    gone = []
    if complete:
        for autotask_id, row in existing.items():
            if autotask_id not in seen and row.gone_at is None:
                row.gone_at = now
                gone.append(row)
    with transaction.atomic():
        # Upsert: another process refreshing the same connection may have inserted the row
        # since we read the table (two refreshes can overlap, e.g. a resumed deferred one).
        model.objects.bulk_create(
            created,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["connection", "autotask_id"],
            update_fields=[*names, "gone_at"],
        )
        model.objects.bulk_update(updated, [*names, "gone_at"], batch_size=500)
        model.objects.bulk_update(gone, ["gone_at"], batch_size=500)
    return {"read": len(rows), "new": len(created), "changed": len(updated), "gone": len(gone)}


def store_picklists(connection: Connection, fields_info: dict, entity: str) -> dict:
    wanted = {name for picklist_entity, name in PICKLISTS if picklist_entity == entity}
    now = timezone.now()
    counts = {}
    for info in fields_info.get("fields") or []:
        if info.get("name") not in wanted:
            continue
        seen = set()
        for item in info.get("picklistValues") or []:
            value = int(item["value"])
            seen.add(value)
            AutotaskPicklistValue.objects.update_or_create(
                connection=connection,
                entity=entity,
                field=info["name"],
                value=value,
                defaults={
                    "label": item.get("label") or str(value),
                    "is_active": bool(item.get("isActive", True)),
                    "gone_at": None,
                },
            )
        AutotaskPicklistValue.objects.filter(
            connection=connection, entity=entity, field=info["name"], gone_at__isnull=True
        ).exclude(value__in=seen).update(gone_at=now)
        counts[info["name"]] = len(seen)
    return counts


def _read(client: AutotaskClient, source: Source, watermark: str | None) -> list[dict]:
    filters = [dict(item) for item in source.filters]
    if watermark and source.modified:
        # The watermark is Autotask's own newest timestamp (not our clock); `gte` re-reads
        # the rows stamped exactly then, so a change in that same instant is not missed.
        since = parse_datetime(watermark)
        filters.append({"op": "gte", "field": source.modified, "value": format_datetime(since)})
    return client.query_all(
        source.entity, filters or None, include_fields=["id", *source.fields.keys()]
    )


def _read_contracts(
    connection: Connection, client: AutotaskClient, watermark: str | None
) -> list[dict]:
    """The Recurring Service contracts (since ``watermark``, if any); without a watermark
    also, by id, the other contracts already copied, so that the rows are complete."""
    rows = _read(client, CONTRACTS, watermark)
    if watermark is None:
        seen = {int(row["id"]) for row in rows}
        known = AutotaskContract.objects.filter(connection=connection).values_list(
            "autotask_id", flat=True
        )
        others = [autotask_id for autotask_id in known if autotask_id not in seen]
        if others:
            rows += client.get_many(
                "Contracts", others, include_fields=["id", *CONTRACTS.fields.keys()]
            )
    return rows


def _newest(source: Source, rows: list[dict], previous: str | None) -> str | None:
    stamps = [parse_datetime(row.get(source.modified)) for row in rows if row.get(source.modified)]
    candidates = [stamp for stamp in stamps if stamp] + (
        [parse_datetime(previous)] if previous else []
    )
    return max(candidates).isoformat() if candidates else None


def refresh_reference_data(
    connection: Connection, client: AutotaskClient, *, full: bool
) -> RefreshResult:
    """Read Autotask and update the local tables. Autotask calls run outside transactions.
    Once every table is stored, ``signals.references_refreshed`` is sent."""
    result = RefreshResult(watermarks=dict(connection.refresh_watermarks or {}))
    client.check_budget()
    result.counts["picklists"] = store_picklists(
        connection, client.entity_information("Contracts", "fields"), "Contracts"
    )
    for source in (COMPANIES, SERVICES):
        watermark = None if full else result.watermarks.get(source.entity)
        rows = _read(client, source, watermark)
        result.counts[source.entity] = store_rows(
            connection, source, rows, complete=watermark is None
        )
        result.watermarks[source.entity] = _newest(source, rows, watermark)
    for source in (PRODUCTS, BILLING_CODES):
        rows = _read(client, source, None)
        result.counts[source.entity] = store_rows(connection, source, rows, complete=True)
    watermark = None if full else result.watermarks.get(CONTRACTS.entity)
    rows = _read_contracts(connection, client, watermark)
    result.counts["Contracts"] = store_rows(connection, CONTRACTS, rows, complete=watermark is None)
    result.watermarks[CONTRACTS.entity] = _newest(CONTRACTS, rows, watermark)
    references_refreshed.send_robust(sender=Connection, connection=connection, full=full)
    return result
