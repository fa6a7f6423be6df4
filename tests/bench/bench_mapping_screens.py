"""The mapping screens at an MSP's scale (issue 10): 20,000 organizations, 5,000 companies
and 3,000 offers in use. Each screen's median answer, with filters and sorting applied,
must stay under 150 ms, in as many SQL queries as the same screen with 20 rows."""

import datetime as dt
import statistics
import time
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.roles import Role, role_group
from apps.autotask.models import AutotaskCompany, AutotaskService, Connection
from apps.catalog.models import BillingReport, Offer, Organization, Subscription, SubscriptionMonth
from apps.mappings.models import OfferMapping, OrganizationMapping, OrganizationSuggestion

ORGANIZATIONS = 20_000
COMPANIES = 5_000
OFFERS = 3_000
TARGET_MS = 150
REPEAT = 15

SCREENS = [
    ("organizations, hide mapped", "/organizations/?is_mapped=false"),
    ("organizations, by company", "/organizations/?sort=-company"),
    ("organizations, billed, by best match", "/organizations/?billed=true&sort=-suggestion_score"),
    ("organizations, search", "/organizations/?q=north&sort=name"),
    ("offers, hide mapped", "/offers/?is_mapped=false"),
    ("offers, by service", "/offers/?sort=service&billing_frequency=monthly"),
    ("subscriptions, by company", "/subscriptions/?sort=company"),
    ("subscriptions, unmapped organization", "/subscriptions/?has_company=false&sort=-offer"),
]


def _build(organizations: int, companies: int, offers: int) -> None:
    connection = Connection(name="Bench", username="u", integration_code="c")
    connection.set_secret("s")
    connection.save()
    company_rows = AutotaskCompany.objects.bulk_create(
        AutotaskCompany(
            connection=connection,
            autotask_id=100_000 + number,
            name=f"Company {number:05d} {('North', 'South', 'East', 'West')[number % 4]} Ltd",
            company_type=1,
            web_address=f"www.company{number}.example",
        )
        for number in range(companies)
    )
    services = AutotaskService.objects.bulk_create(
        AutotaskService(
            connection=connection,
            autotask_id=200_000 + number,
            name=f"Service {number:05d}",
            period_type=2,
            unit_cost=Decimal("1.00"),
            unit_price=Decimal("1.20"),
        )
        for number in range(offers)
    )
    offer_rows = Offer.objects.bulk_create(
        Offer(
            product_id=f"P{number:07d}",
            sku_id="0001",
            term="P1M",
            billing_frequency="monthly",
            product_name=f"Product {number:05d}",
            sku_name=f"Product {number:05d} SKU",
            record_type="license_based",
        )
        for number in range(offers)
    )
    organization_rows = Organization.objects.bulk_create(
        Organization(
            customer_id=f"customer-{number:06d}",
            name=f"Customer {number:06d} {('North', 'South', 'East', 'West')[number % 4]}",
            domains=[f"customer{number}.example"],
        )
        for number in range(organizations)
    )
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            subscription_id=f"sub-{number:06d}",
            organization=organization,
            offer=offer_rows[number % len(offer_rows)],
            quantity=Decimal(3),
            status="active",
            billing_frequency="monthly",
            record_type="license_based",
        )
        for number, organization in enumerate(organization_rows)
    )
    report = BillingReport.objects.create(month=dt.date(2026, 10, 1), currency="USD")
    SubscriptionMonth.objects.bulk_create(
        SubscriptionMonth(
            report=report,
            subscription=subscription,
            offer=subscription.offer,
            record_type="license_based",
            total_cost=Decimal("9.00"),
        )
        for subscription in subscriptions[::2]
    )
    OrganizationMapping.objects.bulk_create(
        OrganizationMapping(
            connection=connection,
            organization=organization,
            company=company_rows[number % len(company_rows)],
        )
        for number, organization in enumerate(organization_rows)
        if number % 3 == 0
    )
    OrganizationSuggestion.objects.bulk_create(
        OrganizationSuggestion(
            connection=connection,
            organization=organization,
            company=company_rows[(number * 7) % len(company_rows)],
            score=0.5 + (number % 50) / 100,
            basis="name",
            rank=1,
        )
        for number, organization in enumerate(organization_rows)
        if number % 3
    )
    OfferMapping.objects.bulk_create(
        OfferMapping(connection=connection, offer=offer, service=services[number])
        for number, offer in enumerate(offer_rows)
        if number % 2 == 0
    )


def _client(django_user_model) -> Client:
    user = django_user_model.objects.create_user("bench-viewer")
    user.groups.add(role_group(Role.OPERATOR))
    client = Client()
    client.force_login(user)
    return client


def _queries(client: Client) -> dict[str, int]:
    counts = {}
    for label, url in SCREENS:
        with CaptureQueriesContext(db) as captured:
            assert client.get(url).status_code == 200
        counts[label] = len(captured)
    return counts


@pytest.mark.django_db
def bench_mapping_screens_at_scale(figure, django_user_model):
    client = _client(django_user_model)
    _build(20, 20, 20)
    small = _queries(client)
    for model in (
        OrganizationMapping,
        OrganizationSuggestion,
        OfferMapping,
        SubscriptionMonth,
        BillingReport,
        Subscription,
        Organization,
        Offer,
        Connection,
    ):
        model.objects.all().delete()
    _build(ORGANIZATIONS, COMPANIES, OFFERS)
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")
    assert _queries(client) == small
    slow = []
    for label, url in SCREENS:
        client.get(url)  # warm
        timings = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        median = statistics.median(timings)
        figure(f"mapping screen: {label} ({db.vendor})", median, "ms", f"< {TARGET_MS}")
        if median >= TARGET_MS:
            slow.append(f"{label}: {median:.0f} ms")
    assert not slow, slow
