"""Bootstrap 5 classes for form widgets, shared by every form and filter set."""

from django import forms


def bootstrap_style(fields) -> None:
    """Give each field's widget its Bootstrap class: form-check-input for a checkbox,
    form-select for a select, form-control otherwise; a group of checkboxes is left as it
    is (its boxes are styled by their template)."""
    for field in fields:
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple):
            continue
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
