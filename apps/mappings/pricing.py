"""Which connection's default markups price the billing screens' charts.

The catalog prices months with whatever default markups it is given and knows no
connections (`apps.catalog.selectors.default_markups` calls the function that
``settings.CATALOG_DEFAULT_MARKUPS`` names, this module's by default). Choosing belongs
here, with the mappings, because the answer will come from them: once organizations are
mapped to a connection's companies, an organization's months take that connection's
markups.
"""

from apps.autotask.models import Connection


def default_markups() -> dict | None:
    """The default markups (record type → percent) of the only connection there is; with
    none or several, None (no default markup applies). One query."""
    markups = list(Connection.objects.order_by("pk").values_list("default_markups", flat=True)[:2])
    return (markups[0] or {}) if len(markups) == 1 else None
