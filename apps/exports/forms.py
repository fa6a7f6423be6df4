"""The form that starts a preview: which connection, which report, and (from an
organization's or a subscription's page) which part of it."""

from django import forms

from apps.autotask.models import Connection
from apps.catalog.models import BillingReport, Organization, Subscription, SubscriptionMonth
from apps.core.forms import bootstrap_style


class ExportPreviewForm(forms.Form):
    connection = forms.ModelChoiceField(
        queryset=Connection.objects.order_by("name"),
        empty_label=None,
        label="Autotask connection",
    )
    report = forms.ModelChoiceField(
        queryset=BillingReport.objects.order_by("-month", "currency"),
        empty_label=None,
        label="Billing report",
    )
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.all(), required=False, widget=forms.HiddenInput
    )
    subscription = forms.ModelChoiceField(
        queryset=Subscription.objects.select_related("organization", "offer"),
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_style(self.fields.values())

    def clean(self):
        data = super().clean()
        report = data.get("report")
        organization = data.get("organization")
        subscription = data.get("subscription")
        if report is None:
            return data
        if organization is not None and subscription is not None:
            raise forms.ValidationError("Export one organization or one subscription, not both.")
        months = SubscriptionMonth.objects.filter(report=report)
        if subscription is not None and not months.filter(subscription=subscription).exists():
            self.add_error("report", f"{subscription} is not billed in {report}: pick its month.")
        if (
            organization is not None
            and not months.filter(subscription__organization=organization).exists()
        ):
            self.add_error("report", f"{organization.name} has nothing billed in {report}.")
        return data
