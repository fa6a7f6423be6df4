"""Forms and list filters of the price screens. They validate; `services` acts."""

import django_filters
from django import forms

from apps.catalog.choices import BillingFrequencyChoices
from apps.catalog.models import MarkupRule, Offer, Organization
from apps.core.choices import RecordType
from apps.core.filtersets import SearchFilterSet, tri_state
from apps.core.forms import bootstrap_style


class MspPriceForm(forms.Form):
    """The MSP's sales price of one offer in one currency."""

    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        label="Currency",
        help_text="Three letters, the billing currency of the reports it prices (USD, EUR…).",
        error_messages={"invalid": "Enter a three-letter currency code such as USD or EUR."},
    )
    unit_price = forms.DecimalField(
        max_digits=20,
        decimal_places=6,
        min_value=0,
        label="Sales price per unit per month",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_style(self.fields.values())

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()


class MarkupRuleForm(forms.ModelForm):
    """A markup rule. Validation includes the model's constraints: one rule per record
    type and organization, one rule per record type for every organization."""

    percent = forms.DecimalField(
        max_digits=7,
        decimal_places=2,
        min_value=-100,
        label="Markup (%)",
        help_text="Over cost: 20 sells at cost × 1.20. Not below −100.",
    )

    class Meta:
        model = MarkupRule
        fields = ["record_type", "organization", "percent"]
        help_texts = {
            "organization": "Blank: every organization without a rule of its own.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.order_by("name", "id")
        self.fields["organization"].empty_label = "Every organization"
        bootstrap_style(self.fields.values())


class OfferPriceFilterSet(SearchFilterSet):
    search_fields = ("product_name", "sku_name", "product_id", "sku_id")

    has_msp_price = tri_state("Has an MSP price", "filter_has_msp_price")
    record_type = django_filters.ChoiceFilter(choices=RecordType.choices, label="Record type")
    billing_frequency = django_filters.ChoiceFilter(
        choices=BillingFrequencyChoices.choices, label="Billing plan"
    )

    class Meta:
        model = Offer
        fields = ["has_msp_price", "record_type", "billing_frequency"]

    def filter_has_msp_price(self, queryset, name, value):
        return queryset.filter(has_msp_price=value)


class MarkupRuleFilterSet(SearchFilterSet):
    search_fields = ("organization__name", "organization__customer_id")

    record_type = django_filters.ChoiceFilter(choices=RecordType.choices, label="Record type")
    has_organization = tri_state("For one organization", "filter_has_organization")

    class Meta:
        model = MarkupRule
        fields = ["record_type", "has_organization"]

    def filter_has_organization(self, queryset, name, value):
        return queryset.filter(organization__isnull=not value)
