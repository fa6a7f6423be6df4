"""The top navigation. An entry whose page is not installed yet is shown disabled."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    query: str = ""  # what the entry adds to the URL, e.g. "is_mapped=false" (Hide mapped)


NAVIGATION = (
    NavEntry("Dashboard", "core:dashboard"),
    NavEntry("Organizations", "mappings:organization_list", "is_mapped=false"),
    NavEntry("Offers", "mappings:offer_list", "is_mapped=false"),
    NavEntry("Subscriptions", "mappings:subscription_list"),
    NavEntry("Billing reports", "catalog:billingreport_list"),
    NavEntry("Exports", "exports:exportrun_list"),
    NavEntry("Audit log", "audit:auditentry_list"),
    NavEntry("Connections", "autotask:connection_list"),
)


def navigation_items(current_path: str) -> list[dict]:
    items = []
    for entry in NAVIGATION:
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            url = None
        active = url is not None and (
            current_path == url if url == "/" else current_path.startswith(url)
        )
        if url is not None and entry.query:
            url = f"{url}?{entry.query}"
        items.append({"label": entry.label, "url": url, "active": active})
    return items
