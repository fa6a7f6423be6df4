"""The mapping screens: Organizations, Offers and Subscriptions of the connection in view,
with the connection selector. Viewers read; Operators act on a row (``row_views.py``) or
on many (``bulk_views.py``). Every write goes through ``services.py``, which checks the
rules and audits.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.accounts.roles import Role, has_role, role_required
from apps.catalog import selectors as catalog_selectors
from apps.core.lists import ObjectListView, table_pagination
from apps.mappings import selectors
from apps.mappings.filtersets import (
    OfferMappingFilterSet,
    OrganizationMappingFilterSet,
    SubscriptionMappingFilterSet,
)
from apps.mappings.tables import (
    OfferMappingTable,
    OrganizationMappingTable,
    SubscriptionMappingTable,
)

DEFAULT_ACCEPT_PERCENT = 90

ROW_URLS = (
    "organization_map",
    "organization_unmap",
    "company_picker",
    "offer_map",
    "offer_unmap",
    "service_picker",
    "subscription_map",
    "subscription_unmap",
    "contract_picker",
)


def row_urls() -> dict[str, str]:
    """The row actions' URLs, reversed once for a whole page (templates read them from
    ``urls``; the row goes in the form or query string)."""
    return {name: reverse(f"mappings:{name}") for name in ROW_URLS}


def page_rows(table, whole) -> None:
    """A table sorted and paged on keys only: its page's rows read whole from ``whole``,
    in the page's order (one query for the page, whatever the list's size)."""
    page = table.page.object_list
    page.data = selectors.rows_in_order(whole, [row.pk for row in page.data])


def hiding_mapped(request, name: str = "is_mapped") -> bool:
    """Whether the list hides mapped rows: the tri-state filter says "No", in any of the
    spellings django-filter's widget reads (``false``, ``0``)."""
    return request.GET.get(name, "").lower() in ("false", "0")


def toggle_url(request, name: str = "is_mapped") -> str:
    """The current URL with "Hide mapped" flipped (and back to the first page)."""
    query = request.GET.copy()
    query.pop("page", None)
    if hiding_mapped(request, name):
        query.pop(name)
    else:
        query[name] = "false"
    return f"{request.path}?{query.urlencode()}" if query else request.path


class MappingListView(ObjectListView):
    """A mapping screen: the connection selector, the header counts, "Hide mapped"."""

    template_name = "mappings/mapping_list.html"
    # A mapping row carries forms and a picker: 20 rows keep a page quick to draw and to
    # work through (?per_page= shows up to 200).
    table_pagination = table_pagination(20)
    kind = ""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.connection = None

    def get_queryset(self):
        self.connections = selectors.connections()
        self.connection = selectors.connection_in_view(self.request.user, self.connections)
        self.can_map = self.connection is not None and has_role(self.request.user, Role.OPERATOR)
        return self.rows()

    def rows(self):
        raise NotImplementedError

    def counts(self) -> dict:
        return {}

    def get_table_kwargs(self):
        return {}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            kind=self.kind,
            connections=self.connections,
            connection=self.connection,
            can_map=self.can_map,
            counts=self.counts(),
            hide_mapped=hiding_mapped(self.request),
            urls=row_urls(),
            toggle_url=toggle_url(self.request),
        )
        return context


class OrganizationMappingListView(MappingListView):
    title = "Organizations"
    kind = "organizations"
    table_class = OrganizationMappingTable
    filterset_class = OrganizationMappingFilterSet
    empty_text = "No organizations match. Organizations appear when billing files are imported."
    search_placeholder = "Search name, customer id, domain or country"

    # Sorting by a figure needs whole rows; otherwise the list is sorted and paged on
    # keys only (selectors.organization_rows(lean=True)).
    FIGURE_SORTS = ("subscription_count", "month_cost")

    def rows(self):
        self.month = catalog_selectors.latest_report_month()
        query = self.request.GET
        self.lean = not query.get("has_subscriptions") and (
            query.get("sort", "").lstrip("-") not in self.FIGURE_SORTS
        )
        return selectors.organization_rows(
            connection=self.connection, month=self.month, lean=self.lean
        )

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        if self.lean and hasattr(table, "page"):
            whole = selectors.organization_rows(connection=self.connection, month=self.month)
            page_rows(table, whole)
        return table

    def counts(self):
        return {
            "month": self.month,
            **selectors.organization_counts(connection=self.connection, month=self.month),
        }

    def get_table_kwargs(self):
        return {"month": self.month, "can_map": self.can_map}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["accept_percent"] = DEFAULT_ACCEPT_PERCENT
        return context


class OfferMappingListView(MappingListView):
    title = "Offers"
    kind = "offers"
    table_class = OfferMappingTable
    filterset_class = OfferMappingFilterSet
    empty_text = "No offers match. Offers appear when subscriptions to them are imported."
    search_placeholder = "Search product, SKU, ids, publisher or service"

    def rows(self):
        return selectors.offer_rows(connection=self.connection)

    def counts(self):
        return selectors.offer_counts(connection=self.connection)


class SubscriptionMappingListView(MappingListView):
    title = "Subscriptions"
    kind = "subscriptions"
    table_class = SubscriptionMappingTable
    filterset_class = SubscriptionMappingFilterSet
    empty_text = "No subscriptions match. Subscriptions appear when billing files are imported."
    search_placeholder = "Search subscription id, organization or offer"

    def rows(self):
        return selectors.subscription_rows(connection=self.connection, lean=True)

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        if hasattr(table, "page"):
            page_rows(table, selectors.subscription_rows(connection=self.connection))
        return table

    def counts(self):
        return selectors.subscription_counts(connection=self.connection)


def screen_rows(request, kind: str, connection):
    """Every row of the ``kind`` screen its query string selects (filters, search, sort),
    not one page: what its CSV download carries."""
    view = {"organizations": OrganizationMappingListView, "offers": OfferMappingListView}[kind]
    if kind == "organizations":
        rows = selectors.organization_rows(
            connection=connection, month=catalog_selectors.latest_report_month()
        )
    else:
        rows = selectors.offer_rows(connection=connection)
    filterset = view.filterset_class(request.GET, queryset=rows, request=request)
    rows = filterset.qs if filterset.is_valid() else rows.none()
    table = view.table_class(rows)
    sort = request.GET.get("sort")
    if sort and sort.lstrip("-") in table.columns and table.columns[sort.lstrip("-")].orderable:
        table.order_by = sort
        return table.data.data
    if kind == "organizations":
        return rows.order_by("name", "pk")
    return rows.order_by("product_name", "sku_name", "pk")


# -- the connection in view ----------------------------------------------------------------


def back_url(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@role_required(Role.VIEWER)
@require_POST
def connection_choose(request):
    """Remember which connection the mapping screens show for this user."""
    choices = {str(connection.pk): connection for connection in selectors.connections()}
    connection = choices.get(request.POST.get("connection", ""))
    if connection is None:
        messages.error(request, "Choose one of the connections listed.")
    else:
        selectors.connection_in_view_set(request.user, connection)
    return redirect(back_url(request, reverse("mappings:organization_list")))


def connection_or_404(request):
    connection = selectors.connection_in_view(request.user)
    if connection is None:
        raise Http404("Add an Autotask connection first.")
    return connection
