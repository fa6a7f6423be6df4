"""What the planner is given, read from syncadmin's database in a few queries: the
month's subscriptions with their prices, the mappings, the settings and the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from apps.autotask.markups import connection_default_markups
from apps.autotask.models import Connection
from apps.catalog.models import BillingReport, Offer, Organization, Subscription, SubscriptionMonth
from apps.catalog.prices.month_prices import month_sales_amount, months_to_price, price_months
from apps.core.choices import RecordType
from apps.exports.choices import ExportScopeChoices
from apps.exports.models import ExportObject
from apps.exports.planner import (
    ExportSettings,
    LedgerEntry,
    Mappings,
    MissingSubscription,
    SubscriptionFacts,
    as_date,
)
from apps.mappings.models import OfferMapping, OrganizationMapping, SubscriptionMapping
from apps.mappings.services import offer_key

CHUNK = 500
AZURE_PLAN_NAME = "Microsoft Azure plan"  # its offer is named after a meter of the month


@dataclass
class Scope:
    report: BillingReport
    kind: str = ExportScopeChoices.REPORT
    organization: Organization | None = None
    subscription: Subscription | None = None

    def months(self, *, fold_reservations: bool = False):
        """The scope's subscription months. Folding reservations into the Azure plan
        charge, one Azure plan or reservation subscription brings its organization's
        others of both kinds: the charge is the sum of them all, whatever was asked."""
        months = SubscriptionMonth.objects.filter(report=self.report)
        if self.kind == ExportScopeChoices.ORGANIZATION:
            months = months.filter(subscription__organization=self.organization)
        elif self.kind == ExportScopeChoices.SUBSCRIPTION:
            folded = {RecordType.AZURE_PLAN, RecordType.AZURE_RESERVATION}
            if fold_reservations and self.subscription.record_type in folded:
                months = months.filter(
                    subscription__organization_id=self.subscription.organization_id,
                    record_type__in=folded,
                )
            else:
                months = months.filter(subscription=self.subscription)
        return months


def export_settings(connection: Connection) -> ExportSettings:
    return ExportSettings(
        record_types=frozenset(connection.export_record_types or ()),
        create_missing_services=connection.create_missing_services,
        fold_reservations=connection.fold_reservations_into_azure,
        key_udf=connection.contract_key_udf if connection.contract_key_field == "udf" else "",
        sla_id=connection.sla_id,
        contract_category_id=connection.contract_category_id,
        service_billing_code_id=connection.service_billing_code_id,
        product_billing_code_id=connection.product_billing_code_id,
    )


def subscription_facts(connection: Connection, scope: Scope) -> list[SubscriptionFacts]:
    """The scope's subscription months, priced, in report order (organization, offer)."""
    months = scope.months(fold_reservations=connection.fold_reservations_into_azure)
    priced = price_months(
        months_to_price(months), connection_default_markups(connection=connection)
    )
    rows = {
        row["pk"]: row
        for row in months.values(
            "pk",
            "subscription__subscription_id",
            "subscription__organization__name",
            "subscription__billing_frequency",
            "subscription__term_end",
            "charge_start",
            "charge_end",
            "cancelled",
            "figures",
        )
    }
    offers = Offer.objects.in_bulk({price_row.offer.pk for price_row, _ in priced})
    facts = []
    for month, price in priced:
        row = rows[month.pk]
        offer = offers[month.offer.pk]
        figures = row["figures"] or {}
        term_end = as_date(figures.get("term_end")) or row["subscription__term_end"]
        frequency = (
            offer.billing_frequency
            or figures.get("billing_frequency")
            or row["subscription__billing_frequency"]
        )
        facts.append(
            SubscriptionFacts(
                subscription_id=row["subscription__subscription_id"],
                organization_pk=month.organization.pk,
                organization_name=row["subscription__organization__name"],
                offer_pk=offer.pk,
                offer_name=AZURE_PLAN_NAME
                if month.record_type == RecordType.AZURE_PLAN
                else str(offer),
                billing_frequency=frequency,
                record_type=month.record_type or None,
                quantity=month.largest_quantity
                if month.largest_quantity is not None
                else month.end_quantity,
                unit_cost=month.unit_cost,
                total_cost=month.total_cost,
                unit_price=price.unit_price,
                sales_amount=month_sales_amount(month, price),
                price_source=price.source,
                price_detail=price.detail,
                offer_key=offer_key(offer),
                term=offer.term,
                charge_start=row["charge_start"],
                charge_end=row["charge_end"],
                cancelled=row["cancelled"],
                term_end=term_end,
                description=figures.get("subscription_description") or "",
            )
        )
    facts.sort(key=lambda f: (f.organization_name.casefold(), f.offer_name, f.subscription_id))
    return facts


def mappings_for(connection: Connection) -> Mappings:
    return Mappings(
        companies=dict(
            OrganizationMapping.objects.filter(connection=connection).values_list(
                "organization_id", "company__autotask_id"
            )
        ),
        services=dict(
            OfferMapping.objects.filter(connection=connection).values_list(
                "offer_id", "service__autotask_id"
            )
        ),
        contracts=dict(
            SubscriptionMapping.objects.filter(connection=connection).values_list(
                "subscription__subscription_id", "contract__autotask_id"
            )
        ),
    )


def ledger_for(connection: Connection, subscription_ids: list[str]) -> dict[str, LedgerEntry]:
    """The ledger entries of these subscriptions, and the shared ones (products, services)."""
    objects = list(ExportObject.objects.filter(connection=connection, subscription_key=""))
    ids = list(subscription_ids)
    for start in range(0, len(ids), CHUNK):
        objects += ExportObject.objects.filter(
            connection=connection, subscription_key__in=ids[start : start + CHUNK]
        )
    return {
        obj.key: LedgerEntry(obj.autotask_id, obj.values or {}, obj.created_by_export)
        for obj in objects
    }


def missing_subscriptions(
    connection: Connection, scope: Scope, present: set[str]
) -> list[MissingSubscription]:
    """Subscriptions with a contract on this connection (exported or mapped by hand) that
    the scope's report does not bill."""
    if scope.kind == ExportScopeChoices.SUBSCRIPTION:
        return []
    exported = set(
        ExportObject.objects.filter(connection=connection, key__startswith="contract:").values_list(
            "subscription_key", flat=True
        )
    )
    mapped = set(
        SubscriptionMapping.objects.filter(connection=connection).values_list(
            "subscription__subscription_id", flat=True
        )
    )
    wanted = (exported | mapped) - present
    if not wanted:
        return []
    subscriptions = Subscription.objects.filter(subscription_id__in=wanted).select_related(
        "organization", "offer"
    )
    if scope.kind == ExportScopeChoices.ORGANIZATION:
        subscriptions = subscriptions.filter(organization=scope.organization)
    return [
        MissingSubscription(
            sub.subscription_id,
            sub.organization.name,
            f"{sub.offer} - {sub.organization.name} ({sub.subscription_id})",
        )
        for sub in sorted(subscriptions, key=lambda s: (s.organization.name, s.subscription_id))
    ]
