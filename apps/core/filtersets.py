"""The base of every list page's filter set: a quick search ``q`` and Bootstrap widgets."""

import django_filters
from django import forms
from django.db.models import Q


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
            for field in form.fields.values():
                widget = field.widget
                if isinstance(widget, forms.CheckboxInput):
                    css = "form-check-input"
                elif isinstance(widget, forms.Select):
                    css = "form-select"
                else:
                    css = "form-control"
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
            form._styled = True
        return form

    @property
    def active_filter_count(self) -> int:
        """How many filters other than the quick search have a value."""
        if not self.is_bound:
            return 0
        return sum(1 for name in self.filters if name != "q" and self.data.get(name))
