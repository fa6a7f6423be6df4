"""Catalog rows for tests (factory-boy), as tests/audit/factories.py does for audit entries.

The offer is the one the mapping tests share: Microsoft 365 Business Standard, licence-based,
monthly (term P1M) unless told otherwise (any other billing plan: term P1Y). A subscription
takes its billing plan and record type from its offer."""

import datetime as dt
from decimal import Decimal

import factory

from apps.catalog.models import BillingReport, MspPrice, Offer, Organization, Subscription


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    customer_id = factory.Sequence(lambda n: f"c-{n}")
    name = factory.Sequence(lambda n: f"Organization {n}")


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    product_id = "CFQ7TTC0LDPB"
    sku_id = "0001"
    billing_frequency = "monthly"
    term = factory.LazyAttribute(
        lambda offer: "P1M" if offer.billing_frequency == "monthly" else "P1Y"
    )
    product_name = "Microsoft 365 Business Standard"
    sku_name = "Microsoft 365 Business Standard"
    record_type = "license_based"


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    subscription_id = factory.Sequence(lambda n: f"sub-{n}")
    organization = factory.SubFactory(OrganizationFactory)
    offer = factory.SubFactory(OfferFactory)
    quantity = Decimal(5)
    status = "active"
    billing_frequency = factory.SelfAttribute("offer.billing_frequency")
    record_type = factory.SelfAttribute("offer.record_type")


class BillingReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingReport

    month = dt.date(2026, 3, 1)
    currency = "USD"


class MspPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MspPrice

    offer = factory.SubFactory(OfferFactory)
    currency = "USD"
    unit_price = Decimal("10")
    source = "edited"
