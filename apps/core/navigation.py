"""The top navigation. An entry whose page is not installed yet is shown disabled."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str


NAVIGATION = (
    NavEntry("Dashboard", "core:dashboard"),
    NavEntry("Organizations", "catalog:organization_list"),
    NavEntry("Offers", "catalog:offer_list"),
    NavEntry("Subscriptions", "catalog:subscription_list"),
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
        items.append({"label": entry.label, "url": url, "active": active})
    return items
