"""Price changes: the MSP price of an offer, markup rules, the MSP price list import.

Each change writes one audit entry (before and after); the rules that turn these into a
sales price are in `apps.catalog.prices.rules`.
"""

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.choices import AuditEntryStatusChoices
from apps.audit.services import audit_record
from apps.catalog.choices import PriceSourceChoices
from apps.catalog.importers import msp_pricelist_csv
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.models import MarkupRule, MspPrice, Offer, Organization
from apps.catalog.rollup.figures import CENT

# -- services: MSP prices -----------------------------------------------------------------


def msp_price_snapshot(price: MspPrice) -> dict:
    return {
        "offer": str(price.offer),
        "offer_id": price.offer_id,
        "currency": price.currency,
        "unit_price": f"{Decimal(price.unit_price).quantize(Decimal('0.000001')):f}",
        "source": price.source,
    }


@transaction.atomic
def msp_price_set(*, offer: Offer, currency: str, unit_price: Decimal, user=None) -> MspPrice:
    """Set the MSP's price for ``offer`` in ``currency`` (source "edited"). The same price
    again changes nothing and writes no audit entry."""
    currency = currency.strip().upper()
    if unit_price < 0:
        raise ValidationError("A sales price cannot be negative.")
    price = MspPrice.objects.select_for_update().filter(offer=offer, currency=currency).first()
    before = None
    if price is None:
        price = MspPrice(offer=offer, currency=currency)
    elif price.unit_price == unit_price:
        return price
    else:
        before = msp_price_snapshot(price)
    price.unit_price = unit_price
    price.source = PriceSourceChoices.EDITED
    price.full_clean()
    price.save()
    audit_record(
        operation="Set MSP Price",
        obj=price,
        before=before,
        after=msp_price_snapshot(price),
        user=user,
    )
    return price


@transaction.atomic
def msp_price_clear(*, offer: Offer, currency: str | None = None, user=None) -> int:
    """Remove the MSP's price of ``offer`` in ``currency`` (None: in every currency); the
    offer is then priced by the next rule. Returns how many prices were removed."""
    prices = MspPrice.objects.select_for_update().filter(offer=offer)
    if currency:
        prices = prices.filter(currency=currency.strip().upper())
    removed = 0
    for price in prices:
        audit_record(
            operation="Clear MSP Price", obj=price, before=msp_price_snapshot(price), user=user
        )
        price.delete()
        removed += 1
    return removed


# -- services: markup rules ---------------------------------------------------------------


def markup_rule_snapshot(rule: MarkupRule) -> dict:
    return {
        "record_type": rule.record_type,
        "organization": str(rule.organization) if rule.organization_id else None,
        "organization_id": rule.organization_id,
        "percent": f"{Decimal(rule.percent).quantize(CENT):f}",
    }


def _save_rule(rule: MarkupRule) -> None:
    rule.full_clean()
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise ValidationError(
            "There is already a markup rule for this record type and organization."
        ) from None


@transaction.atomic
def markup_rule_create(
    *, record_type: str, organization: Organization | None, percent: Decimal, user=None
) -> MarkupRule:
    rule = MarkupRule(record_type=record_type, organization=organization, percent=percent)
    _save_rule(rule)
    audit_record(
        operation="Create Markup Rule", obj=rule, after=markup_rule_snapshot(rule), user=user
    )
    return rule


@transaction.atomic
def markup_rule_update(
    *,
    rule: MarkupRule,
    record_type: str,
    organization: Organization | None,
    percent: Decimal,
    user=None,
) -> MarkupRule:
    """Change a rule; ``before`` is read from the database, whatever ``rule`` holds."""
    # Lock the rule only: its organization is on the nullable side of an outer join.
    current = MarkupRule.objects.select_for_update(of=("self",)).select_related("organization")
    current = current.get(pk=rule.pk)
    before = markup_rule_snapshot(current)
    current.record_type, current.organization, current.percent = (
        record_type,
        organization,
        percent,
    )
    _save_rule(current)
    audit_record(
        operation="Change Markup Rule",
        obj=current,
        before=before,
        after=markup_rule_snapshot(current),
        user=user,
    )
    return current


@transaction.atomic
def markup_rule_delete(*, rule: MarkupRule, user=None) -> None:
    audit_record(
        operation="Delete Markup Rule", obj=rule, before=markup_rule_snapshot(rule), user=user
    )
    rule.delete()


# -- services: the MSP price list import --------------------------------------------------

AUDIT_DETAIL_LIMIT = 200


def msp_price_list_import(*, path: Path, name: str, actor: str) -> dict:
    """Import the MSP's price list CSV (`importers.msp_pricelist_csv`): all or nothing.

    Each row sets the MSP price (source "price_list") of its offer in its currency; prices
    not in the file are left as they are. A row with an AvailabilityId prices that offer
    (key: product, SKU, availability, term, billing plan). A row with a blank
    AvailabilityId prices every offer of that product, SKU, term and billing plan, whatever
    its availability (Microsoft changes availabilities; the MSP's price does not), except
    where a row of the file names the offer's availability: that row wins. An offer that
    does not exist yet is created (blank availability for a blank AvailabilityId), so a
    price list may cover offers not sold yet; the billing import fills in its names and
    record type later. The same offer key and currency twice in the file is refused.

    One audit entry, "Import MSP Price List" (a failed one when the file is refused).
    Returns the counts: rows, prices_new, prices_changed, prices_unchanged, offers_new.
    """
    try:
        rows = _read_msp_price_list(path, name)
        with transaction.atomic():
            return _apply_msp_price_list(rows, name, actor)
    except ImportValidationError as problem:
        audit_record(
            operation="Import MSP Price List",
            object_type="MspPrice",
            object_repr=name,
            status=AuditEntryStatusChoices.FAILED,
            details={"error": str(problem)},
            actor_name=actor,
        )
        raise


def _read_msp_price_list(path: Path, name: str) -> list:
    rows = []
    seen: dict[tuple, int] = {}
    with msp_pricelist_csv.read(path, file_name=name) as stream:
        for row in stream:
            key = (row.product_id, row.sku_id, row.availability_id, row.term,
                   row.billing_frequency, row.currency)  # fmt: skip
            if key in seen:
                raise ImportValidationError(
                    name,
                    row.source_line,
                    None,
                    f"the same offer and currency as line {seen[key]}; expected each offer "
                    "once per currency",
                )
            seen[key] = row.source_line
            rows.append(row)
    if not rows:
        raise ImportValidationError(name, None, None, "the price list has a header but no rows")
    return rows


def _apply_msp_price_list(rows: list, name: str, actor: str) -> dict:
    def offer_key(item) -> tuple:
        return (item.product_id, item.sku_id, item.availability_id, item.term,
                item.billing_frequency)  # fmt: skip

    def plan_key(item) -> tuple:
        return (item.product_id, item.sku_id, item.term, item.billing_frequency)

    offers = {
        offer_key(offer): offer
        for offer in Offer.objects.filter(product_id__in={row.product_id for row in rows})
    }
    by_plan: dict[tuple, list[Offer]] = defaultdict(list)
    for offer in offers.values():
        by_plan[plan_key(offer)].append(offer)
    created = []
    for row in sorted(rows, key=lambda item: not item.availability_id):  # named ones first
        key = offer_key(row)
        missing = key not in offers if row.availability_id else not by_plan.get(plan_key(row))
        if missing:
            offer = Offer(
                product_id=row.product_id,
                sku_id=row.sku_id,
                availability_id=row.availability_id,
                term=row.term,
                billing_frequency=row.billing_frequency,
            )
            offers[key] = offer
            by_plan[plan_key(row)].append(offer)
            created.append(offer)
    Offer.objects.bulk_create(created)

    wanted: dict[tuple[int, str], object] = {}  # (offer id, currency) → row
    for row in sorted(rows, key=lambda item: bool(item.availability_id)):  # blank first
        targets = [offers[offer_key(row)]] if row.availability_id else by_plan[plan_key(row)]
        for offer in targets:
            wanted[(offer.pk, row.currency)] = row
    names = {offer.pk: offer for offer in offers.values()}
    existing = {
        (price.offer_id, price.currency): price
        for price in MspPrice.objects.filter(offer_id__in={pk for pk, _ in wanted})
    }
    new, changed, changes = [], [], []
    now = timezone.now()
    for (offer_id, currency), row in wanted.items():
        price = existing.get((offer_id, currency))
        if price is None:
            price = MspPrice(offer_id=offer_id, currency=currency, unit_price=row.unit_price,
                             source=PriceSourceChoices.PRICE_LIST)  # fmt: skip
            new.append(price)
            before = None
        elif price.unit_price != row.unit_price:
            before = f"{price.unit_price.normalize():f}"
            price.unit_price = row.unit_price
            price.source = PriceSourceChoices.PRICE_LIST
            price.updated_at = now
            changed.append(price)
        else:
            continue
        changes.append(
            {
                "offer": str(names[offer_id]),
                "offer_id": offer_id,
                "currency": currency,
                "before": before,
                "after": f"{row.unit_price.normalize():f}",
                "line": row.source_line,
            }
        )
    MspPrice.objects.bulk_create(new)
    MspPrice.objects.bulk_update(changed, ["unit_price", "source", "updated_at"])
    result = {
        "rows": len(rows),
        "prices_new": len(new),
        "prices_changed": len(changed),
        "prices_unchanged": len(wanted) - len(new) - len(changed),
        "offers_new": len(created),
    }
    audit_record(
        operation="Import MSP Price List",
        object_type="MspPrice",
        object_repr=name,
        after=result,
        details={
            "changes": changes[:AUDIT_DETAIL_LIMIT],
            "changes_not_listed": max(0, len(changes) - AUDIT_DETAIL_LIMIT),
            "offers_created": [
                "/".join(part or "-" for part in offer_key(offer))
                for offer in created[:AUDIT_DETAIL_LIMIT]
            ],
        },
        actor_name=actor,
    )
    return result
