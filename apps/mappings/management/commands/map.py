"""Mappings from the shell, for scripting. Each writes the same audit entries as the
screens and exits non-zero with the reason when a rule refuses.

    manage.py map organization ORG COMPANY --connection C
    manage.py map offer OFFER SERVICE --connection C
    manage.py map unmap organization|offer KEY --connection C
    manage.py map suggest --connection C [--accept-above 0.9] [--dry-run]
    manage.py map import FILE.csv --connection C [--kind organizations|offers]

ORG is the Microsoft customer id, OFFER the offer key (product:sku:availability:term:plan,
as ``map offer --help`` shows), COMPANY and SERVICE Autotask ids. FILE is a mapping file as
the Organizations and Offers screens download it (``apps/mappings/mapping_files``): it is
checked whole, its changes printed, and applied all or nothing. ``suggest`` computes the
organizations' suggestions again and prints each with its score; with ``--accept-above`` it
maps every unmapped organization whose best suggestion scores that much or more
(``--dry-run``: prints what it would do and writes nothing, not even the suggestions).
"""

import argparse
import contextlib
import getpass

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.audit.services import audit_context
from apps.autotask.models import AutotaskCompany, AutotaskService, Connection
from apps.catalog.models import Offer, Organization
from apps.mappings.mapping_files import (
    KINDS,
    MAX_FILE_BYTES,
    MappingFilePlan,
    MappingFileRefused,
    apply_mapping_file,
    counts_sentence,
    read_mapping_file,
)
from apps.mappings.models import OfferMapping, OrganizationMapping
from apps.mappings.services import (
    MappingRefused,
    mapping_delete,
    offer_key,
    offer_mapping_set,
    organization_mapping_set,
)
from apps.mappings.suggestions import suggestions_accept, suggestions_compute, suggestions_stored

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
        suggest = actions.add_parser(
            "suggest", help="compute the suggestions again, print them, accept the best"
        )
        suggest.add_argument(
            "--accept-above",
            type=score_fraction,
            metavar="SCORE",
            help="map each unmapped organization whose best suggestion scores SCORE or more "
            "(0 to 1, e.g. 0.9 for 90 %%)",
        )
        suggest.add_argument(
            "--dry-run", action="store_true", help="print what would be mapped, write nothing"
        )
        for sub in (organization, offer, unmap, suggest):
            sub.add_argument("--connection", required=True, help="the connection's name")
        mapping_file = actions.add_parser(
            "import", help="apply a mapping file (CSV) all or nothing, after checking it whole"
        )
        mapping_file.add_argument("file", help="the CSV file, as the screens download it")
        mapping_file.add_argument(
            "--kind", choices=KINDS, help="organizations or offers (default: from the header)"
        )
        mapping_file.add_argument("--connection", required=True, help="the connection's name")

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

    def _suggest(self, connection, options) -> str:
        threshold, dry_run = options["accept_above"], options["dry_run"]
        # A dry run does it all in a transaction it then rolls back.
        with transaction.atomic() if dry_run else contextlib.nullcontext():
            stored = suggestions_compute(connection)
            for row in suggestions_stored(connection):
                self.stdout.write(
                    f"{_organization_text(row.organization)}: #{row.rank} "
                    f"{_company_text(row.company)}, {percent(row.score)} by {row.basis}"
                )
            outcomes = []
            if threshold is not None:
                outcomes = suggestions_accept(connection, threshold, dry_run=dry_run)
            if dry_run:
                transaction.set_rollback(True)  # not even the suggestions are kept
        for item in outcomes:
            self.stdout.write(_outcome_text(item))
        summary = [f"{stored} suggestion{'s' if stored != 1 else ''} on {connection.name}."]
        if threshold is not None:
            done = sum(1 for item in outcomes if item.outcome in ("mapped", "would map"))
            verb = "Would map" if dry_run else "Mapped"
            summary.append(
                f"{verb} {done} organization{'s' if done != 1 else ''} at "
                f"{percent(threshold)} or more."
            )
        if dry_run:
            summary.append("Dry run: nothing was written.")
        refused = [item for item in outcomes if item.outcome == "refused"]
        if refused:
            self.stdout.write(" ".join(summary))
            raise CommandError(
                f"{len(refused)} refused: "
                + "; ".join(f"{item.organization.customer_id}: {item.problem}" for item in refused)
            )
        return " ".join(summary)

    def _import(self, connection, options) -> str:
        plan = read_mapping_file(connection, options["kind"], _file_bytes(options["file"]))
        if not plan.can_apply:
            raise CommandError(_refusal(plan))
        for line in _plan_lines(plan):
            self.stdout.write(line)
        try:
            counts = apply_mapping_file(plan)
        except MappingFileRefused as refusal:
            raise CommandError(str(refusal)) from None
        return f"Applied on {connection.name}: {counts_sentence(counts)}."


def score_fraction(text: str) -> float:
    """--accept-above: a score from 0 to 1 (0.9 is 90 %)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a score from 0 to 1 (write 0.9 for 90 %)."
        )
    return value


def percent(score: float) -> str:
    return f"{score * 100:.0f} %"


def _organization_text(organization: Organization) -> str:
    return f"{organization.customer_id} {organization.name}"


def _company_text(company: AutotaskCompany) -> str:
    return f"{company.name} ({company.autotask_id})"


def _outcome_text(item) -> str:
    what = (
        f"{_organization_text(item.organization)} → {_company_text(item.company)}, "
        f"{percent(item.score)} by {item.basis}"
    )
    if item.outcome == "mapped":
        return f"Mapped {what}."
    if item.outcome == "would map":
        return f"Would map {what}."
    return f"{item.outcome.capitalize()}: {what}: {item.problem}"


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


def _file_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as problem:
        raise CommandError(f"Cannot read {path}: {problem.strerror}.") from None
    return data  # past the limit by a byte: read_mapping_file says so


def _refusal(plan: MappingFilePlan) -> str:
    lines = [f"The file cannot be applied; nothing was changed ({len(plan.errors)} error(s)):"]
    lines += [f"  {error}" for error in plan.errors]
    if plan.more_errors:
        lines.append(f"  ... and {plan.more_errors} more.")
    return "\n".join(lines)


def _target(row) -> str:
    return f"{row.name} ({row.autotask_id})" if row is not None else "unmapped"


def _plan_lines(plan: MappingFilePlan) -> list[str]:
    """What the file changes, a line each, in the file's order."""
    lines = [f"{plan.rows} row(s) of {plan.kind} for {plan.connection.name}:"]
    for change in sorted(plan.changes, key=lambda change: change.line):
        lines.append(
            f"  line {change.line}: {change.action:<6} {change.key} ({change.source}): "
            f"{_target(change.before)} → {_target(change.after)}"
        )
    if not plan.changes:
        lines.append("  nothing to change.")
    return lines


def _row(model, connection, autotask_id: int, noun: str):
    row = model.objects.filter(connection=connection, autotask_id=autotask_id).first()
    if row is None:
        raise CommandError(
            f"No {noun} {autotask_id} in {connection.name}'s copy of Autotask; refresh the "
            "connection if it is new."
        )
    return row
