"""The rows billing lines point to, created or brought up to date on first sight.

An import meets the same few organizations, offers and subscriptions on thousands of
lines: `References` looks each up (or creates it) once, keeps it in memory, and counts
what it created and changed for the import's outcome.
"""

import datetime as dt

from apps.catalog.choices import BillingLineKindChoices
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importers.records import ReconLine, UsageLine
from apps.catalog.importing.outcome import ImportOutcome
from apps.catalog.models import BillingFile, BillingReport, Offer, Organization, Subscription
from apps.catalog.record_types import (
    billing_frequency_of,
    record_type_of,
    term_code,
    term_months_of,
)
from apps.core.choices import RecordType

# Azure plan subscriptions seen only in usage files get Microsoft's Azure plan offer.
AZURE_PLAN_OFFER = {
    "product_id": "DZH318Z0BPS6",
    "sku_id": "0001",
    "availability_id": "",
    "term": "",
    "billing_frequency": "monthly",
}
AZURE_PLAN_NAMES = {
    "product_name": "Azure plan",
    "sku_name": "Azure plan",
    "publisher": "Microsoft",
    "record_type": RecordType.AZURE_PLAN,
}


class References:
    """Reports, organizations, offers and subscriptions of one import, by their keys.

    `given_month`: the month the import was asked for (None: told by the files); daily
    usage of an invoice in another month is then refused.
    """

    def __init__(self, outcome: ImportOutcome, given_month: dt.date | None):
        self.outcome = outcome
        self.given_month = given_month
        self.reports: dict[tuple, BillingReport] = {}
        self.organizations: dict[str, Organization] = {}
        self.offers: dict[tuple, Offer] = {}
        self.subscriptions: dict[str, Subscription] = {}
        # Invoice number → the report holding its reconciliation lines (this import's or
        # an earlier one's), looked up once per number: daily usage goes to that report.
        self.invoice_reports: dict[str, BillingReport] = {}
        # Primary keys of what this import created, and of what it changed (counted once).
        self._created: set[tuple[type, int]] = set()
        self._changed: set[tuple[type, int]] = set()

    def _count_change(self, row) -> bool:
        """Whether `row` (saved just now) is a change to count: not created by this
        import, and not counted before."""
        key = (type(row), row.pk)
        if key in self._created or key in self._changed:
            return False
        self._changed.add(key)
        return True

    def report(self, month: dt.date, currency: str) -> BillingReport:
        key = (month, currency)
        if key not in self.reports:
            report, _ = BillingReport.objects.get_or_create(month=month, currency=currency)
            self.reports[key] = report
        return self.reports[key]

    def invoice_report(self, number: str, line: UsageLine, name: str) -> BillingReport:
        """The report of invoice ``number``: the one holding reconciliation lines with that
        InvoiceNumber, from this import (invoice files are read first) or an earlier one.
        One query per invoice number; a number nobody has is refused."""
        report = self.invoice_reports.get(number)
        if report is None:
            report = self._find_invoice_report(number, line, name)
            report = self.reports.setdefault((report.month, report.currency), report)
            self.invoice_reports[number] = report
        if line.billing_currency != report.currency:
            raise ImportValidationError(
                name,
                line.source_line,
                "BillingCurrency",
                f"expected {report.currency}, the currency of invoice {number}, got "
                f"{line.billing_currency}",
            )
        month = self.given_month
        if month is not None and report.month != month:
            raise ImportValidationError(
                name,
                line.source_line,
                "InvoiceNumber",
                f"invoice {number} belongs to the {report.month:%B %Y} report, not to "
                f"{month:%B %Y}, the month of this import: import this usage file "
                "without a month, or with its invoice's",
            )
        return report

    @staticmethod
    def _find_invoice_report(number: str, line: UsageLine, name: str) -> BillingReport:
        # JSON "contains" is not on SQLite: narrow by text, then compare exactly.
        candidates = BillingFile.objects.filter(
            kind=BillingLineKindChoices.INVOICE, invoice_numbers__icontains=number
        ).order_by("-pk")
        for report_id, numbers in candidates.values_list("report_id", "invoice_numbers"):
            if number in numbers:
                return BillingReport.objects.get(pk=report_id)
        raise ImportValidationError(
            name,
            line.source_line,
            "InvoiceNumber",
            f"invoice {number} is in no invoice reconciliation file of this import "
            "or an earlier one, so the report this daily usage belongs to cannot be "
            f"told: import the invoice reconciliation file of {number} first, or "
            "together with this file",
        )

    def organization(self, line: ReconLine | UsageLine) -> Organization:
        organization = self.organizations.get(line.customer_id)
        if organization is None:
            organization = Organization.objects.filter(customer_id=line.customer_id).first()
            if organization is None:
                organization = Organization.objects.create(
                    customer_id=line.customer_id,
                    name=line.customer_name or line.customer_id,
                    domains=[line.customer_domain_name] if line.customer_domain_name else [],
                    country=line.customer_country[:2],
                )
                self.outcome.organizations_new += 1
                self._created.add((Organization, organization.pk))
            self.organizations[line.customer_id] = organization
        changed = False
        if line.customer_name and organization.name != line.customer_name:
            organization.name, changed = line.customer_name, True
        domain = line.customer_domain_name
        if domain and domain not in organization.domains:
            organization.domains = [*organization.domains, domain]
            changed = True
        if line.customer_country and organization.country != line.customer_country[:2]:
            organization.country, changed = line.customer_country[:2], True
        if changed:
            organization.save()
            if self._count_change(organization):
                self.outcome.organizations_changed += 1
        return organization

    def offer(self, key: dict, names: dict) -> Offer:
        lookup = tuple(key.values())
        offer = self.offers.get(lookup)
        if offer is None:
            offer, created = Offer.objects.get_or_create(**key, defaults=names)
            if created:
                self.outcome.offers_new += 1
            elif any(value and getattr(offer, name) != value for name, value in names.items()):
                for name, value in names.items():
                    if value:
                        setattr(offer, name, value)
                offer.save()
            self.offers[lookup] = offer
        return offer

    def subscription(self, subscription_id: str, organization, offer, values: dict):
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            subscription = Subscription.objects.filter(subscription_id=subscription_id).first()
            if subscription is None:
                subscription = Subscription.objects.create(
                    subscription_id=subscription_id,
                    organization=organization,
                    offer=offer,
                    **values,
                )
                self.outcome.subscriptions_new += 1
                self._created.add((Subscription, subscription.pk))
            self.subscriptions[subscription_id] = subscription
        changes = {"organization": organization, "offer": offer, **values}
        if any(
            value not in (None, "") and getattr(subscription, name) != value
            for name, value in changes.items()
        ):
            for name, value in changes.items():
                if value not in (None, ""):
                    setattr(subscription, name, value)
            subscription.save()
            if self._count_change(subscription):
                self.outcome.subscriptions_changed += 1
        return subscription

    def of_invoice_line(self, line: ReconLine, organization) -> tuple[Offer, Subscription]:
        decision = record_type_of(line)
        billing_frequency = billing_frequency_of(line)
        offer = self.offer(
            {
                "product_id": line.product_id,
                "sku_id": line.sku_id,
                "availability_id": line.availability_id,
                "term": term_code(term_months_of(line)),
                "billing_frequency": billing_frequency,
            },
            {
                "product_name": line.product_name,
                "sku_name": line.sku_name,
                "publisher": line.publisher_name,
                "record_type": decision.record_type or "",
            },
        )
        subscription = self.subscription(
            line.subscription_id,
            organization,
            offer,
            {
                "description": line.subscription_description,
                "term_start": line.subscription_start_date,
                "term_end": line.subscription_end_date,
                "billing_frequency": billing_frequency,
                "record_type": decision.record_type or "",
            },
        )
        if not decision.decided:
            self.outcome.warnings.append(
                f"{line.subscription_id}: record type unknown ({decision.reason})"
            )
        return offer, subscription

    def owner_of(self, line: UsageLine, name: str) -> tuple[int, int]:
        """A usage line without a CustomerId (Microsoft's marketplace examples have them)
        belongs to whoever has its subscription, known from another line of this import
        or an earlier one; a subscription nobody has is refused, not guessed."""
        subscription = self.subscriptions.get(line.subscription_id)
        if subscription is None:
            subscription = Subscription.objects.filter(subscription_id=line.subscription_id).first()
            if subscription is None:
                raise ImportValidationError(
                    name,
                    line.source_line,
                    "CustomerId",
                    f"blank, and subscription {line.subscription_id} is in no other line and "
                    "no earlier import, so whose usage this is cannot be told",
                )
            self.subscriptions[line.subscription_id] = subscription
        return subscription.organization_id, subscription.pk

    def of_usage_line(self, line: UsageLine, organization) -> Subscription:
        offer = self.offer(AZURE_PLAN_OFFER, AZURE_PLAN_NAMES)
        return self.subscription(
            line.subscription_id,
            organization,
            offer,
            {"record_type": RecordType.AZURE_PLAN},
        )
