"""Price screens: the offers' sales prices, the MSP price of one offer, markup rules.

Viewers read the lists; Operators change prices and rules (every form and confirmation
page needs the Operator role, and every change is a POST answered with a message and a
redirect). Thin: forms validate, `apps.catalog.prices.services` acts and writes the audit
entries.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from apps.accounts.roles import Role, RoleRequiredMixin, has_role
from apps.catalog.choices import ImportRunKindChoices
from apps.catalog.importing.forms import PriceListImportForm
from apps.catalog.importing.runs import import_run_create
from apps.catalog.models import BillingReport, MarkupRule, MspPrice, Offer
from apps.catalog.prices import rules, services
from apps.catalog.prices.forms import (
    MarkupRuleFilterSet,
    MarkupRuleForm,
    MspPriceForm,
    OfferPriceFilterSet,
)
from apps.catalog.prices.tables import MarkupRuleTable, OfferPriceTable
from apps.catalog.rollup.figures import CENT
from apps.core.lists import ObjectListView

TEMPLATES = "catalog/prices"

# -- lists ----------------------------------------------------------------------------


class OperatorControlsMixin:
    def get_table_kwargs(self):
        return {**super().get_table_kwargs(), "can_operate": self._can_operate()}

    def _can_operate(self) -> bool:
        return has_role(self.request.user, Role.OPERATOR)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_operate"] = self._can_operate()
        return context


class PriceListView(OperatorControlsMixin, ObjectListView):
    """Every offer with its MSP prices, its Microsoft ERP this month, and which of them
    the price comes from (markup when neither: it depends on the organization)."""

    title = "Sales prices"
    table_class = OfferPriceTable
    filterset_class = OfferPriceFilterSet
    template_name = f"{TEMPLATES}/price_list.html"
    empty_text = "No offers match. Offers appear with the first billing import or price list."
    search_placeholder = "Search product, SKU or their ids"

    def get_queryset(self):
        return Offer.objects.annotate(
            has_msp_price=Exists(MspPrice.objects.filter(offer=OuterRef("pk")))
        ).prefetch_related("msp_prices")

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        page = getattr(table, "page", None)
        if page is not None:
            offers = list(page.object_list.data)  # evaluated once; the template reuses it
            erp = rules.offers_erp(offers=offers, month=timezone.localdate())
            for offer in offers:
                offer.erp_prices = erp.get(offer.pk, [])
        return table


class MarkupRuleListView(OperatorControlsMixin, ObjectListView):
    title = "Markup rules"
    table_class = MarkupRuleTable
    filterset_class = MarkupRuleFilterSet
    template_name = f"{TEMPLATES}/markuprule_list.html"
    empty_text = "No markup rules. Without one, the connection's default markup applies."
    search_placeholder = "Search organization"

    def get_queryset(self):
        return MarkupRule.objects.select_related("organization")


# -- price list upload -----------------------------------------------------------------


class PriceListImportView(RoleRequiredMixin, View):
    """Upload a price list (the MSP's or Microsoft's); a worker imports it like billing
    files, and the import's page shows progress and the result."""

    required_role = Role.OPERATOR
    template_name = f"{TEMPLATES}/price_list_import.html"

    def get(self, request):
        return render(request, self.template_name, {"form": PriceListImportForm()})

    def post(self, request):
        form = PriceListImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})
        run = import_run_create(
            uploads=[form.cleaned_data["file"]],
            user=request.user,
            kind=ImportRunKindChoices.PRICE_LIST,
        )
        return redirect("imports:importrun_detail", pk=run.pk)


# -- the MSP price of one offer -------------------------------------------------------


def _offer_context(offer: Offer) -> dict:
    return {
        "offer": offer,
        "msp_prices": list(offer.msp_prices.all()),
        "erp_prices": rules.offers_erp(offers=[offer], month=timezone.localdate())[offer.pk],
    }


class PriceEditView(RoleRequiredMixin, View):
    required_role = Role.OPERATOR
    template_name = f"{TEMPLATES}/price_edit.html"

    def get(self, request, pk):
        offer = get_object_or_404(Offer, pk=pk)
        context = _offer_context(offer)
        currencies = [price.currency for price in context["msp_prices"]]
        if len(currencies) == 1:
            price = context["msp_prices"][0].unit_price
            cents = price.quantize(CENT)  # 12.500000 is shown as 12.50
            initial = {"currency": currencies[0],
                       "unit_price": cents if cents == price else price.normalize()}  # fmt: skip
        else:
            latest = BillingReport.objects.order_by("-month").first()
            initial = {"currency": latest.currency} if latest else {}
        form = MspPriceForm(initial=initial)
        return render(request, self.template_name, {**context, "form": form})

    def post(self, request, pk):
        offer = get_object_or_404(Offer, pk=pk)
        form = MspPriceForm(request.POST)
        if form.is_valid():
            try:
                price = services.msp_price_set(
                    offer=offer,
                    currency=form.cleaned_data["currency"],
                    unit_price=form.cleaned_data["unit_price"],
                    user=request.user,
                )
            except ValidationError as problem:
                form.add_error(None, problem)
            else:
                messages.success(
                    request,
                    f"The MSP price of “{offer}” is {price.unit_price:.2f} {price.currency} "
                    "per unit per month.",
                )
                return redirect("prices:price_list")
        context = _offer_context(offer)
        return render(request, self.template_name, {**context, "form": form})


class PriceClearView(RoleRequiredMixin, View):
    """Clear the MSP price of an offer (``currency``: one currency; blank: all), after a
    confirmation page: the POST must carry ``confirm=yes``."""

    required_role = Role.OPERATOR
    template_name = f"{TEMPLATES}/price_confirm_clear.html"

    def _context(self, offer: Offer, currency: str) -> dict:
        rows = offer.msp_prices.all()
        if currency:
            rows = rows.filter(currency=currency.upper())
        return {"offer": offer, "currency": currency.upper(), "msp_prices": list(rows)}

    def get(self, request, pk):
        offer = get_object_or_404(Offer, pk=pk)
        context = self._context(offer, request.GET.get("currency", ""))
        if not context["msp_prices"]:
            messages.info(request, f"“{offer}” has no MSP price to clear.")
            return redirect("prices:price_edit", pk=offer.pk)
        return render(request, self.template_name, context)

    def post(self, request, pk):
        offer = get_object_or_404(Offer, pk=pk)
        currency = request.POST.get("currency", "")
        if request.POST.get("confirm") != "yes":
            messages.warning(request, "Confirm to clear the price.")
            return render(request, self.template_name, self._context(offer, currency))
        removed = services.msp_price_clear(
            offer=offer, currency=currency or None, user=request.user
        )
        if removed:
            messages.success(
                request,
                f"MSP price of “{offer}” cleared: it is priced by the Microsoft ERP or a "
                "markup now.",
            )
        else:
            messages.info(request, f"“{offer}” had no MSP price to clear.")
        return redirect("prices:price_edit", pk=offer.pk)


# -- markup rules ---------------------------------------------------------------------


class MarkupRuleCreateView(RoleRequiredMixin, View):
    required_role = Role.OPERATOR
    template_name = f"{TEMPLATES}/markuprule_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": MarkupRuleForm()})

    def post(self, request):
        form = MarkupRuleForm(request.POST)
        if form.is_valid():
            try:
                rule = services.markup_rule_create(
                    record_type=form.cleaned_data["record_type"],
                    organization=form.cleaned_data["organization"],
                    percent=form.cleaned_data["percent"],
                    user=request.user,
                )
            except ValidationError as problem:
                form.add_error(None, problem)
            else:
                messages.success(request, f"Markup rule created: {rule}.")
                return redirect("prices:markuprule_list")
        return render(request, self.template_name, {"form": form})


class MarkupRuleEditView(RoleRequiredMixin, View):
    required_role = Role.OPERATOR
    template_name = f"{TEMPLATES}/markuprule_form.html"

    def get(self, request, pk):
        rule = get_object_or_404(MarkupRule, pk=pk)
        form = MarkupRuleForm(instance=rule)
        return render(request, self.template_name, {"form": form, "rule": rule})

    def post(self, request, pk):
        rule = get_object_or_404(MarkupRule, pk=pk)
        # The form validates a copy: the service reads "before" from the database.
        form = MarkupRuleForm(request.POST, instance=MarkupRule.objects.get(pk=rule.pk))
        if form.is_valid():
            try:
                rule = services.markup_rule_update(
                    rule=rule,
                    record_type=form.cleaned_data["record_type"],
                    organization=form.cleaned_data["organization"],
                    percent=form.cleaned_data["percent"],
                    user=request.user,
                )
            except ValidationError as problem:
                form.add_error(None, problem)
            else:
                messages.success(request, f"Markup rule saved: {rule}.")
                return redirect("prices:markuprule_list")
        return render(request, self.template_name, {"form": form, "rule": rule})


class MarkupRuleDeleteView(RoleRequiredMixin, View):
    """Delete a rule after a confirmation page: the POST must carry ``confirm=yes``."""

    required_role = Role.OPERATOR
    template_name = f"{TEMPLATES}/markuprule_confirm_delete.html"

    def get(self, request, pk):
        rule = get_object_or_404(MarkupRule.objects.select_related("organization"), pk=pk)
        return render(request, self.template_name, {"rule": rule})

    def post(self, request, pk):
        rule = get_object_or_404(MarkupRule.objects.select_related("organization"), pk=pk)
        if request.POST.get("confirm") != "yes":
            messages.warning(request, "Confirm to delete the rule.")
            return render(request, self.template_name, {"rule": rule})
        text = str(rule)
        services.markup_rule_delete(rule=rule, user=request.user)
        messages.success(request, f"Markup rule deleted: {text}.")
        return redirect("prices:markuprule_list")
