"""Which connection's default markups price the billing screens' charts.

The catalog prices months with whatever default markups it is given and knows no
connections (`apps.catalog.selectors.default_markups` calls the function that
``settings.CATALOG_DEFAULT_MARKUPS`` names, this module's by default). Choosing belongs
here, with the mappings, because the answer will come from them: once organizations are
mapped to a connection's companies, an organization's months take that connection's
markups.
"""

from decimal import Decimal

from apps.autotask.markups import markups_from_rows
from apps.autotask.models import Connection


def default_markups() -> dict[str, Decimal] | None:
    """The default markups (record type → percent) of the only connection there is; with
    none or several, None (no default markup applies). One query: the first two
    connections joined with their markups."""
    first_two = Connection.objects.order_by("pk").values("pk")[:2]
    rows = list(
        Connection.objects.filter(pk__in=first_two).values_list(
            "pk", "default_markup_rows__record_type", "default_markup_rows__percent"
        )
    )
    if len({pk for pk, _, _ in rows}) != 1:
        return None
    return markups_from_rows((kind, percent) for _, kind, percent in rows if kind)
