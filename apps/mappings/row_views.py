"""One row of a mapping screen, in place: map, change and unmap an organization, an offer
or a subscription, and the pickers that list what it can be mapped to. htmx swaps the
row's mapping cell with the answer; without script a form post returns to the screen."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.roles import Role, role_required
from apps.autotask.models import AutotaskCompany, AutotaskContract, AutotaskService
from apps.catalog import selectors as catalog_selectors
from apps.catalog.models import Offer, Organization, Subscription
from apps.mappings import selectors
from apps.mappings.models import OfferMapping, OrganizationMapping, SubscriptionMapping
from apps.mappings.services import (
    MappingRefused,
    mapping_delete,
    offer_key,
    offer_mapping_set,
    organization_mapping_set,
    subscription_mapping_set,
)
from apps.mappings.views import back_url, connection_or_404, row_urls


def _row_pk(data, name: str) -> int:
    value = str(data.get(name, ""))
    if not value.isdigit():
        raise Http404(f"Say which {name}.")
    return int(value)


@dataclass(frozen=True)
class RowKind:
    """One kind of mapping screen row: what it maps (``source``, named ``name`` in the
    form) to what (``target``, the form's ``target_field``), and how its cell is drawn."""

    name: str
    source: type
    target: type
    target_field: str
    mapping: type
    set_mapping: Callable
    rows: Callable  # (connection) -> the screen's rows, each with its mapping annotated
    template: str
    screen: str

    def record(self, connection, pk: int):
        return get_object_or_404(self.rows(connection), pk=pk)

    def target_of(self, connection, value):
        if not str(value or "").isdigit():
            return None
        return self.target.objects.filter(connection=connection, pk=int(value)).first()


ORGANIZATION = RowKind(
    name="organization",
    source=Organization,
    target=AutotaskCompany,
    target_field="company",
    mapping=OrganizationMapping,
    set_mapping=organization_mapping_set,
    rows=lambda connection: selectors.organization_rows(
        connection=connection, month=catalog_selectors.latest_report_month()
    ),
    template="mappings/_organization_mapping.html",
    screen="mappings:organization_list",
)
OFFER = RowKind(
    name="offer",
    source=Offer,
    target=AutotaskService,
    target_field="service",
    mapping=OfferMapping,
    set_mapping=offer_mapping_set,
    rows=lambda connection: selectors.offer_rows(connection=connection),
    template="mappings/_offer_mapping.html",
    screen="mappings:offer_list",
)
SUBSCRIPTION = RowKind(
    name="subscription",
    source=Subscription,
    target=AutotaskContract,
    target_field="contract",
    mapping=SubscriptionMapping,
    set_mapping=subscription_mapping_set,
    rows=lambda connection: selectors.subscription_rows(connection=connection),
    template="mappings/_subscription_mapping.html",
    screen="mappings:subscription_list",
)


def company_of(connection, value) -> AutotaskCompany | None:
    return ORGANIZATION.target_of(connection, value)


def _answer(request, kind: RowKind, connection, pk: int, problem: str | None = None):
    """htmx gets the row's mapping cell again (with the refusal, if any); a plain form
    post goes back to the screen with the outcome as a message."""
    if request.htmx:
        return render(
            request,
            kind.template,
            {
                "record": kind.record(connection, pk),
                "connection": connection,
                "can_map": True,
                "problem": problem,
                "urls": row_urls(),
            },
        )
    if problem:
        messages.error(request, problem)
    return redirect(back_url(request, reverse(kind.screen)))


def map_view(kind: RowKind):
    """POST ``<kind.name>`` and ``<kind.target_field>``: map the row (checked, audited)."""

    @role_required(Role.OPERATOR)
    @require_POST
    def view(request):
        connection = connection_or_404(request)
        pk = _row_pk(request.POST, kind.name)
        source = get_object_or_404(kind.source, pk=pk)
        target = kind.target_of(connection, request.POST.get(kind.target_field))
        problem = None
        if target is None:
            problem = f"Choose a {kind.target_field} from the list."
        else:
            try:
                kind.set_mapping(
                    connection=connection,
                    **{kind.name: source, kind.target_field: target},
                    user=request.user,
                )
            except MappingRefused as refusal:
                problem = str(refusal)
        return _answer(request, kind, connection, pk, problem)

    return view


def unmap_view(kind: RowKind):
    """POST ``<kind.name>``: remove the row's mapping (audited), if it has one."""

    @role_required(Role.OPERATOR)
    @require_POST
    def view(request):
        connection = connection_or_404(request)
        pk = _row_pk(request.POST, kind.name)
        mapping = kind.mapping.objects.filter(
            connection=connection, **{f"{kind.name}_id": pk}
        ).first()
        if mapping is not None:
            mapping_delete(mapping=mapping, user=request.user)
        return _answer(request, kind, connection, pk)

    return view


organization_map = map_view(ORGANIZATION)
organization_unmap = unmap_view(ORGANIZATION)
offer_map = map_view(OFFER)
offer_unmap = unmap_view(OFFER)
subscription_map = map_view(SUBSCRIPTION)
subscription_unmap = unmap_view(SUBSCRIPTION)


@role_required(Role.OPERATOR)
@require_GET
def company_picker(request):
    """Companies for the picker: the organization's suggestions first when nothing is
    typed, else those matching every typed word (name, web address) or the id."""
    connection = connection_or_404(request)
    text = (request.GET.get("q") or request.GET.get("company_search") or "").strip()
    organization = None
    if str(request.GET.get("organization", "")).isdigit():
        organization = Organization.objects.filter(pk=int(request.GET["organization"])).first()
    choose = request.GET.get("mode") == "choose"
    if organization is None and not choose:
        raise Http404("No such organization.")
    suggested = []
    if not text and organization is not None:
        suggested = selectors.suggested_companies(connection=connection, organization=organization)
    companies = selectors.company_choices(connection=connection, text=text) if text else []
    return render(
        request,
        "mappings/_company_picker.html",
        {
            "organization": organization,
            "suggested": suggested,
            "companies": companies,
            "text": text,
            "choose": choose,
            "urls": row_urls(),
        },
    )


@role_required(Role.OPERATOR)
@require_GET
def service_picker(request):
    connection = connection_or_404(request)
    pk = _row_pk(request.GET, "offer")
    offer = get_object_or_404(Offer, pk=pk)
    text = request.GET.get("q", "")
    return render(
        request,
        "mappings/_service_picker.html",
        {
            "offer": offer,
            "offer_key": offer_key(offer),
            "services": selectors.service_choices(connection=connection, offer=offer, text=text),
            "text": text.strip(),
            "urls": row_urls(),
        },
    )


@role_required(Role.OPERATOR)
@require_GET
def contract_picker(request):
    connection = connection_or_404(request)
    pk = _row_pk(request.GET, "subscription")
    subscription = get_object_or_404(Subscription, pk=pk)
    return render(
        request,
        "mappings/_contract_picker.html",
        {
            "subscription": subscription,
            "contracts": selectors.contract_choices(
                connection=connection, subscription=subscription
            ),
            "urls": row_urls(),
        },
    )
