"""Mappings from the shell, for scripting. Each writes the same audit entries as the
screens and exits non-zero with the reason when a rule refuses.

    manage.py map organization ORG COMPANY --connection C
    manage.py map offer OFFER SERVICE --connection C
    manage.py map unmap organization|offer KEY --connection C

ORG is the Microsoft customer id, OFFER the offer key (product:sku:availability:term:plan,
as ``map offer --help`` shows), COMPANY and SERVICE Autotask ids.
"""

import getpass

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_context
from apps.autotask.models import AutotaskCompany, AutotaskService, Connection
from apps.catalog.models import Offer, Organization
from apps.mappings.models import OfferMapping, OrganizationMapping
from apps.mappings.services import (
    MappingRefused,
    mapping_delete,
    offer_key,
    offer_mapping_set,
    organization_mapping_set,
)

OFFER_KEY_HELP = (
    "the offer key: PRODUCT:SKU:AVAILABILITY:TERM:PLAN (e.g. CFQ7TTC0LDPB:0001::P1Y:monthly)"
)


class Command(BaseCommand):
    help = "Map organizations to Autotask companies and offers to services."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        organization = actions.add_parser("organization", help="map an organization")
        organization.add_argument("organization", help="the Microsoft customer id")
        organization.add_argument("company", type=int, help="the Autotask company id")
        offer = actions.add_parser("offer", help="map an offer")
        offer.add_argument("offer", help=OFFER_KEY_HELP)
        offer.add_argument("service", type=int, help="the Autotask service id")
        unmap = actions.add_parser("unmap", help="remove a mapping")
        unmap.add_argument("kind", choices=["organization", "offer"])
        unmap.add_argument("key", help="the customer id, or the offer key")
        for sub in (organization, offer, unmap):
            sub.add_argument("--connection", required=True, help="the connection's name")

    def handle(self, *args, **options):
        connection = Connection.objects.filter(name=options["connection"]).first()
        if connection is None:
            raise CommandError(f"No connection called {options['connection']!r}.")
        actor = f"cli:{getpass.getuser()}"
        with audit_context(context="cli", actor_name=actor):
            try:
                message = getattr(self, f"_{options['action']}")(connection, options)
            except MappingRefused as problem:
                raise CommandError(str(problem)) from None
        self.stdout.write(message)

    def _organization(self, connection, options) -> str:
        organization = _organization(options["organization"])
        company = _row(AutotaskCompany, connection, options["company"], "company")
        organization_mapping_set(connection=connection, organization=organization, company=company)
        return f"{organization} → {company.name} ({company.autotask_id})"

    def _offer(self, connection, options) -> str:
        offer = _offer(options["offer"])
        service = _row(AutotaskService, connection, options["service"], "service")
        offer_mapping_set(connection=connection, offer=offer, service=service)
        return f"{offer_key(offer)} → {service.name} ({service.autotask_id})"

    def _unmap(self, connection, options) -> str:
        if options["kind"] == "organization":
            source = _organization(options["key"])
            mapping = OrganizationMapping.objects.filter(
                connection=connection, organization=source
            ).first()
        else:
            source = _offer(options["key"])
            mapping = OfferMapping.objects.filter(connection=connection, offer=source).first()
        if mapping is None:
            return f"{source} was not mapped on {connection.name}: nothing changed."
        mapping_delete(mapping=mapping)
        return f"{source} is no longer mapped on {connection.name}."


def _organization(customer_id: str) -> Organization:
    organization = Organization.objects.filter(customer_id=customer_id).first()
    if organization is None:
        raise CommandError(f"No organization with the customer id {customer_id!r}.")
    return organization


def _offer(key: str) -> Offer:
    parts = key.split(":")
    if len(parts) != 5:
        raise CommandError(f"{key!r} is not an offer key; expected {OFFER_KEY_HELP}.")
    product, sku, availability, term, plan = parts
    offer = Offer.objects.filter(
        product_id=product, sku_id=sku, availability_id=availability, term=term,
        billing_frequency=plan,
    ).first()  # fmt: skip
    if offer is None:
        raise CommandError(f"No offer with the key {key!r}.")
    return offer


def _row(model, connection, autotask_id: int, noun: str):
    row = model.objects.filter(connection=connection, autotask_id=autotask_id).first()
    if row is None:
        raise CommandError(
            f"No {noun} {autotask_id} in {connection.name}'s copy of Autotask; refresh the "
            "connection if it is new."
        )
    return row
