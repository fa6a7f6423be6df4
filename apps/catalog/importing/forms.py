import datetime as dt

from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"class": "form-control"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files if item]


class ImportForm(forms.Form):
    files = MultipleFileField(
        label="Partner Center files",
        help_text="Invoice reconciliation and daily rated usage files of one month: CSV, or the "
        "Graph export's JSON Lines (plain or .gz). Several at once are imported together: all "
        "of them or none.",
    )
    month = forms.CharField(
        required=False,
        label="Month (optional)",
        help_text="YYYY-MM. Leave empty to take it from the files; every line must be in it.",
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "2026-03"}),
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        if not files:
            raise forms.ValidationError("Choose at least one file.")
        return files

    def clean_month(self):
        text = self.cleaned_data["month"].strip()
        if not text:
            return None
        try:
            return dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError("Write the month as YYYY-MM, e.g. 2026-03.") from None


class PriceListImportForm(forms.Form):
    file = forms.FileField(
        label="Price list",
        help_text="Your own price list (CSV with the columns ProductId, SkuId, AvailabilityId, "
        "Term, BillingFrequency, Currency, UnitPrice; a blank AvailabilityId prices every "
        "availability) or Microsoft's new-commerce licence price list (CSV). Which one it is "
        "comes from the header. All rows or none are imported.",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,.gz"}),
    )
