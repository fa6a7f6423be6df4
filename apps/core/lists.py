"""The generic list page: every list is this view on ``templates/generic/object_list.html``."""

from django.core.paginator import Paginator
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from apps.accounts.roles import Role, RoleRequiredMixin

MAX_PER_PAGE = 200


class BoundedPaginator(Paginator):
    """``?per_page=`` comes from the query string: held between 1 and MAX_PER_PAGE, so
    ``-1``, ``0`` or a 400-digit number neither fails nor loads a whole table."""

    def __init__(self, object_list, per_page, *args, **kwargs):
        super().__init__(object_list, min(max(int(per_page), 1), MAX_PER_PAGE), *args, **kwargs)


def table_pagination(per_page: int) -> dict:
    """What django-tables2's ``RequestConfig(paginate=...)`` takes, bounded."""
    return {"per_page": per_page, "paginator_class": BoundedPaginator}


class ObjectListView(RoleRequiredMixin, SingleTableMixin, FilterView):
    """A table with quick search, filters and pagination.

    Subclasses set ``table_class``, ``filterset_class`` (a ``SearchFilterSet``), ``title``,
    ``empty_text`` and ``get_queryset()``, which does the ``select_related``/``annotate``
    so a page costs a fixed number of queries. Extra controls (buttons beside the title)
    go in the template block ``list_controls`` of a template extending the generic one.
    """

    required_role = Role.VIEWER
    template_name = "generic/object_list.html"
    # Paginated by the table only: ListView's paginate_by would count the rows again.
    table_pagination = table_pagination(50)
    title = ""
    empty_text = "Nothing matches these filters."
    search_placeholder = "Search"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.title,
            empty_text=self.empty_text,
            search_placeholder=self.search_placeholder,
            filterset=self.filterset,
            filters_active=self.filterset.active_filter_count,
            searching=bool(self.filterset.is_bound and self.filterset.data.get("q")),
        )
        return context
