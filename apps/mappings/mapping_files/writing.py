"""Mapping files out: every row of a queryset the caller filtered and sorted, with the
connection's current mapping, as CSV lines (for a StreamingHttpResponse or a file).

One query whatever the number of rows: the mapping comes in by subquery annotations and
the rows are read in chunks from one cursor (``iterator()``)."""

import csv
from collections.abc import Iterable, Iterator

from django.db.models import OuterRef, QuerySet, Subquery

from apps.autotask.models import Connection
from apps.catalog.models import Offer
from apps.mappings.mapping_files.plan import HEADERS, OFFERS, ORGANIZATIONS
from apps.mappings.models import OfferMapping, OrganizationMapping
from apps.mappings.services import offer_key

CHUNK_SIZE = 2000
# A cell a spreadsheet would run as a formula gets a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # so that Excel reads the file as UTF-8


class _Echo:
    """csv.writer's target: hands each line back instead of keeping it."""

    def write(self, text: str) -> str:
        return text


def safe_cell(value) -> str:
    """The value as text, with a leading apostrophe if a spreadsheet would take it for a
    formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def offer_id(offer: Offer) -> str:
    """The id the Offers screen shows under an offer's name."""
    return f"{offer.product_id}:{offer.sku_id}"


def organizations_csv_lines(connection: Connection, organizations: QuerySet) -> Iterator[str]:
    """Each organization of the queryset, in its order, with its company on ``connection``."""
    mapping = OrganizationMapping.objects.filter(connection=connection, organization=OuterRef("pk"))
    rows = organizations.annotate(
        file_company_id=Subquery(mapping.values("company__autotask_id")[:1]),
        file_company_name=Subquery(mapping.values("company__name")[:1]),
    ).values_list("customer_id", "name", "file_company_id", "file_company_name")
    return _csv_lines(HEADERS[ORGANIZATIONS], rows.iterator(chunk_size=CHUNK_SIZE))


def offers_csv_lines(connection: Connection, offers: QuerySet) -> Iterator[str]:
    """Each offer of the queryset, in its order, with its service on ``connection``."""
    mapping = OfferMapping.objects.filter(connection=connection, offer=OuterRef("pk"))
    annotated = offers.annotate(
        file_service_id=Subquery(mapping.values("service__autotask_id")[:1]),
        file_service_name=Subquery(mapping.values("service__name")[:1]),
    )
    rows = (
        (offer_key(offer), str(offer), offer_id(offer), offer.file_service_id,
         offer.file_service_name)
        for offer in annotated.iterator(chunk_size=CHUNK_SIZE)
    )  # fmt: skip
    return _csv_lines(HEADERS[OFFERS], rows)


def mapping_file_lines(kind: str, connection: Connection, queryset: QuerySet) -> Iterator[str]:
    """The CSV lines of ``kind`` (organizations or offers) for ``queryset``."""
    if kind == ORGANIZATIONS:
        return organizations_csv_lines(connection, queryset)
    return offers_csv_lines(connection, queryset)


def write_organizations_csv(connection: Connection, organizations: QuerySet, out) -> None:
    """Write the organizations file to ``out`` (a text file opened with newline="")."""
    out.writelines(organizations_csv_lines(connection, organizations))


def write_offers_csv(connection: Connection, offers: QuerySet, out) -> None:
    """Write the offers file to ``out`` (a text file opened with newline="")."""
    out.writelines(offers_csv_lines(connection, offers))
