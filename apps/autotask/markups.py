"""A connection's default markups: rows (`DefaultMarkup`), read as the one dict the price
rules take (`apps.catalog.prices.rules.Markups`: record type → percent)."""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from apps.autotask.models import Connection, DefaultMarkup


def markups_from_rows(rows: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """(record type, percent) pairs as the price rules' dict; a percent reads as entered
    ("12.5", "10"), without the column's trailing zeros."""
    return {record_type: Decimal(f"{percent.normalize():f}") for record_type, percent in rows}


def connection_default_markups(*, connection: Connection) -> dict[str, Decimal]:
    """The connection's default markups, record type → percent. One query."""
    return markups_from_rows(
        DefaultMarkup.objects.filter(connection=connection).values_list("record_type", "percent")
    )


def connection_default_markups_set(
    *, connection: Connection, markups: Mapping[str, Decimal | str | int]
) -> None:
    """Make the connection's default markups ``markups`` (record type → percent): rows of
    other record types go. Unaudited: `services.connection_update` audits the change."""
    DefaultMarkup.objects.filter(connection=connection).exclude(
        record_type__in=list(markups)
    ).delete()
    for record_type, percent in markups.items():
        DefaultMarkup.objects.update_or_create(
            connection=connection, record_type=record_type, defaults={"percent": percent}
        )
