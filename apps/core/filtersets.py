"""The base of every list page's filter set: a quick search ``q`` and Bootstrap widgets."""

import django_filters
from django.db.models import Q
from django_filters.widgets import BooleanWidget

from apps.core.forms import bootstrap_style


class SearchFilterSet(django_filters.FilterSet):
    """Adds the quick search ``q`` (any word of it, case-insensitive, in any of
    ``search_fields``) and styles the form's widgets for Bootstrap 5."""

    search_fields: tuple[str, ...] = ()

    q = django_filters.CharFilter(method="search", label="Search")

    def search(self, queryset, name, value):
        condition = Q()
        for word in value.split():
            any_field = Q()
            for field in self.search_fields:
                any_field |= Q(**{f"{field}__icontains": word})
            condition &= any_field
        return queryset.filter(condition) if condition else queryset

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_styled", False):
            bootstrap_style(form.fields.values())
            form._styled = True
        return form

    @property
    def active_filter_count(self) -> int:
        """How many filters other than the quick search have a value."""
        if not self.is_bound:
            return 0
        return sum(1 for name in self.filters if name != "q" and self.data.get(name))


class TriStateSelect(BooleanWidget):
    """django-filter's yes/no select (``true``/``false``, also ``1``/``0``) with its blank
    choice named "Any"; blank is an empty value, so it is not counted as a filter."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), *self.choices[1:]]


def tri_state(label: str, method) -> django_filters.BooleanFilter:
    """A yes/no filter whose blank choice means any (``method``: a name or a callable)."""
    return django_filters.BooleanFilter(label=label, method=method, widget=TriStateSelect)
