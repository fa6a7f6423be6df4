"""Forms for connections. The secret is write-only: it is never rendered back."""

from decimal import Decimal

from django import forms

from apps.autotask import selectors
from apps.autotask.choices import BillingCodeUseTypeChoices, ContractKeyFieldChoices
from apps.autotask.markups import connection_default_markups
from apps.autotask.models import (
    ACCESS_FIELDS,
    DEFAULT_API_ROOT,
    EDITABLE_FIELDS,
    EXPORT_FIELDS,
    Connection,
)
from apps.autotask.services import SANDBOX_URL
from apps.core.choices import RecordType
from apps.core.forms import bootstrap_style


class BootstrapMixin:
    def _style(self):
        bootstrap_style(self.fields.values())


class ConnectionCreateForm(BootstrapMixin, forms.Form):
    KIND_SANDBOX = "sandbox"
    KIND_AUTOTASK = "autotask"

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(
        choices=[
            (KIND_SANDBOX, "The built-in Autotask sandbox (demo data, safe to try things)"),
            (KIND_AUTOTASK, "An Autotask instance (production or Autotask's own sandbox)"),
        ],
        widget=forms.RadioSelect,
        initial=KIND_SANDBOX,
    )
    sandbox_url = forms.URLField(
        required=False, initial=SANDBOX_URL, label="Sandbox address", assume_scheme="http"
    )
    username = forms.CharField(required=False, max_length=254, label="API user name")
    integration_code = forms.CharField(
        required=False, max_length=100, label="API integration code (tracking identifier)"
    )
    secret = forms.CharField(
        required=False,
        label="Secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again.",
    )
    api_root_url = forms.URLField(
        required=False,
        initial=DEFAULT_API_ROOT,
        label="Zone discovery URL",
        help_text="Leave as it is: Autotask tells syncadmin the zone of your API user.",
        assume_scheme="https",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
        self.fields["kind"].widget.attrs["class"] = "form-check-input"

    def autotask_fields(self):
        return [self[name] for name in ("username", "integration_code", "secret", "api_root_url")]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if selectors.connection_name_taken(name=name):
            raise forms.ValidationError("A connection with this name exists already.")
        return name

    def clean(self):
        data = super().clean()
        if data.get("kind") == self.KIND_AUTOTASK:
            for name in ("username", "integration_code", "secret"):
                if not data.get(name):
                    self.add_error(name, "Required for an Autotask instance.")
        elif not data.get("sandbox_url"):
            self.add_error("sandbox_url", "Give the sandbox's address.")
        return data


class ConnectionSettingsForm(BootstrapMixin, forms.ModelForm):
    """Everything but the secret: access settings and export defaults."""

    service_billing_code_id = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Billing code for created services"
    )
    product_billing_code_id = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Billing code for created products"
    )
    sla_id = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Service level agreement"
    )
    contract_category_id = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Contract category"
    )
    api_root_url = forms.URLField(assume_scheme="https", label="Zone discovery URL")
    secret = forms.CharField(
        required=False,
        label="Secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Needed only when the zone discovery URL changes: the secret is never sent "
        "to a new address without being entered again.",
    )
    export_record_types = forms.MultipleChoiceField(
        choices=RecordType.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        required=False,
        label="Record types to export",
    )

    class Meta:
        model = Connection
        fields = EDITABLE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        connection = self.instance
        for name, use_type in (
            ("service_billing_code_id", BillingCodeUseTypeChoices.RECURRING_SERVICE),
            ("product_billing_code_id", BillingCodeUseTypeChoices.MATERIAL),
        ):
            self.fields[name].choices = _choices(
                selectors.billing_code_options(connection=connection, use_type=use_type)
            )
        for name, field in (
            ("sla_id", "serviceLevelAgreementID"),
            ("contract_category_id", "contractCategory"),
        ):
            self.fields[name].choices = _choices(
                selectors.picklist_options(connection=connection, entity="Contracts", field=field)
            )
        for name in ("service_billing_code_id", "product_billing_code_id", "sla_id",
                     "contract_category_id"):  # fmt: skip
            current = getattr(connection, name)
            known = {value for value, _ in self.fields[name].choices}
            if current is not None and current not in known:
                self.fields[name].choices.append(
                    (current, f"{current} (not in the reference data: refresh it)")
                )
        self.fields["concurrency_limit"].widget = forms.NumberInput(attrs={"min": 1, "max": 3})
        self.markup_fields = []
        markups = connection_default_markups(connection=connection)
        for value, label in RecordType.choices:
            name = f"markup_{value}"
            self.fields[name] = forms.DecimalField(
                required=False,
                max_digits=7,
                decimal_places=2,
                min_value=Decimal("-100"),
                label=f"{label} markup (%)",
                initial=markups.get(value),
            )
            self.markup_fields.append(name)
        self._style()
        if connection.is_sandbox:
            for name in ("username", "integration_code", "api_root_url", "secret"):
                self.fields[name].disabled = True

    def clean(self):
        data = super().clean()
        if data.get("contract_key_field") == ContractKeyFieldChoices.UDF and not data.get(
            "contract_key_udf"
        ):
            self.add_error("contract_key_udf", "Name the contract user-defined field.")
        data["default_markups"] = {
            name.removeprefix("markup_"): str(data[name])
            for name in self.markup_fields
            if data.get(name) is not None
        }
        return data

    def access_fields(self):
        return [self[name] for name in (*ACCESS_FIELDS, "secret")]

    def export_fields(self):
        return [self[name] for name in EXPORT_FIELDS]

    def markup_bound_fields(self):
        return [self[name] for name in self.markup_fields]

    def changes(self) -> dict:
        """The cleaned values the service applies (the secret is not among them)."""
        names = [name for name in self.Meta.fields if not self.fields[name].disabled]
        return {
            **{name: self.cleaned_data[name] for name in names},
            "default_markups": self.cleaned_data["default_markups"],
            "secret": self.cleaned_data.get("secret") or "",
        }


def _choices(rows: list[tuple[int, str]]):
    return [("", "— not set —"), *((value, f"{label} ({value})") for value, label in rows)]


class ConnectionSecretForm(BootstrapMixin, forms.Form):
    secret = forms.CharField(
        label="New secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    confirm = forms.CharField(
        label="New secret again",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self):
        data = super().clean()
        if data.get("secret") and data.get("secret") != data.get("confirm"):
            self.add_error("confirm", "The two entries differ.")
        return data
