"""Price lists into the database: Microsoft's licence price list, or the MSP's own.

`import_price_list` tells them apart by the header; the MSP's is imported by
`prices.services.msp_price_list_import`, Microsoft's here: each (product, SKU, term,
plan, market, currency, start) row replaces the one imported before, all or nothing.
"""

from collections.abc import Callable
from pathlib import Path

from django.db import transaction

from apps.audit.choices import AuditEntryStatusChoices
from apps.audit.services import audit_record
from apps.catalog.importers import read_any
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importers.msp_pricelist_csv import BILLING_FREQUENCIES, is_msp_price_list
from apps.catalog.importers.records import PriceListRow
from apps.catalog.models import MicrosoftPrice
from apps.catalog.prices.services import msp_price_list_import

BATCH = 2000
"""Rows written at a time, and between progress reports."""


def import_microsoft_price_list(
    path: Path, name: str, *, actor: str = "", progress: Callable[[int], None] | None = None
) -> dict:
    """Microsoft's licence price list: each (product, SKU, term, plan, market, currency,
    start) row replaces the one imported before; all or nothing. ``progress`` is told the
    rows read so far, every few thousand."""
    rows = []
    with read_any(path, file_name=name) as stream:
        for row in stream:
            if not isinstance(row, PriceListRow):
                raise ImportValidationError(
                    name, None, None, "this is not a price list: import it as a billing file"
                )
            rows.append(
                MicrosoftPrice(
                    product_id=row.product_id,
                    sku_id=row.sku_id,
                    term=row.term_duration,
                    billing_frequency=BILLING_FREQUENCIES.get(row.billing_plan.lower(), ""),
                    market=row.market,
                    currency=row.currency,
                    segment=row.segment,
                    unit_price=row.unit_price,
                    erp_price=row.erp_price,
                    effective_start=row.effective_start_date,
                    effective_end=row.effective_end_date,
                )
            )
            if progress and len(rows) % BATCH == 0:
                progress(len(rows))
    if not rows:
        raise ImportValidationError(name, None, None, "the price list has a header but no rows")
    if progress:
        progress(len(rows))
    with transaction.atomic():
        replaced = _delete_replaced_prices(rows)
        MicrosoftPrice.objects.bulk_create(rows, batch_size=BATCH)
        audit_record(
            operation="Import Microsoft Price List",
            object_type="MicrosoftPrice",
            object_repr=name,
            after={"rows": len(rows), "replaced": replaced},
            actor_name=actor,
        )
    return {"rows": len(rows), "replaced": replaced}


_PRICE_KEY = (
    "product_id",
    "sku_id",
    "term",
    "billing_frequency",
    "market",
    "currency",
    "effective_start",
)


def _delete_replaced_prices(rows: list[MicrosoftPrice]) -> int:
    """Delete the stored rows that rows of the new list replace (same key): the stored
    rows of the list's products are read once, and deleted by id in batches."""
    incoming = {tuple(getattr(row, name) for name in _PRICE_KEY) for row in rows}
    products = sorted({row.product_id for row in rows})
    doomed = []
    for start in range(0, len(products), BATCH):
        stored = MicrosoftPrice.objects.filter(product_id__in=products[start : start + BATCH])
        doomed += [
            pk for pk, *key in stored.values_list("pk", *_PRICE_KEY) if tuple(key) in incoming
        ]
    for start in range(0, len(doomed), BATCH):
        MicrosoftPrice.objects.filter(pk__in=doomed[start : start + BATCH]).delete()
    return len(doomed)


def import_price_list(
    path: Path, name: str, *, actor: str, progress: Callable[[int], None] | None = None
) -> dict:
    """A price list, Microsoft's or the MSP's own, told apart by its header (the MSP's has
    ProductId, SkuId, AvailabilityId, Term, BillingFrequency, Currency, UnitPrice). The
    result says which (``list``: "msp" or "microsoft") with the counts of its import."""
    if is_msp_price_list(path, file_name=name):
        result = msp_price_list_import(path=Path(path), name=name, actor=actor)
        if progress:
            progress(result["rows"])
        return {"list": "msp", **result}
    try:
        result = import_microsoft_price_list(path, name, actor=actor, progress=progress)
    except ImportValidationError as problem:
        audit_record(
            operation="Import Microsoft Price List",
            object_type="MicrosoftPrice",
            object_repr=name,
            status=AuditEntryStatusChoices.FAILED,
            details={"error": str(problem)},
            actor_name=actor,
        )
        raise
    return {"list": "microsoft", **result}
