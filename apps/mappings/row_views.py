"""One row of a mapping screen, in place: map, change and unmap an organization, an offer
or a subscription, and the pickers that list what it can be mapped to. htmx swaps the
row's mapping cell with the answer; without script a form post returns to the screen."""

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


def _answer(request, *, template: str, record, connection, fallback: str, problem=None):
    """htmx gets the row's mapping cell again (with the refusal, if any); a plain form
    post goes back to the screen with the outcome as a message."""
    if request.htmx:
        return render(
            request,
            template,
            {
                "record": record,
                "connection": connection,
                "can_map": True,
                "problem": problem,
                "urls": row_urls(),
            },
        )
    if problem:
        messages.error(request, problem)
    return redirect(back_url(request, fallback))


def _organization_record(connection, pk: int):
    month = catalog_selectors.latest_report_month()
    return get_object_or_404(selectors.organization_rows(connection=connection, month=month), pk=pk)


def company_of(connection, value) -> AutotaskCompany | None:
    if not str(value or "").isdigit():
        return None
    return AutotaskCompany.objects.filter(connection=connection, pk=int(value)).first()


@role_required(Role.OPERATOR)
@require_POST
def organization_map(request):
    connection = connection_or_404(request)
    pk = _row_pk(request.POST, "organization")
    organization = get_object_or_404(Organization, pk=pk)
    company = company_of(connection, request.POST.get("company"))
    problem = None
    if company is None:
        problem = "Choose a company from the list."
    else:
        try:
            organization_mapping_set(
                connection=connection, organization=organization, company=company, user=request.user
            )
        except MappingRefused as refusal:
            problem = str(refusal)
    return _answer(
        request,
        template="mappings/_organization_mapping.html",
        record=_organization_record(connection, pk),
        connection=connection,
        fallback=reverse("mappings:organization_list"),
        problem=problem,
    )


@role_required(Role.OPERATOR)
@require_POST
def organization_unmap(request):
    connection = connection_or_404(request)
    pk = _row_pk(request.POST, "organization")
    mapping = OrganizationMapping.objects.filter(connection=connection, organization_id=pk).first()
    if mapping is not None:
        mapping_delete(mapping=mapping, user=request.user)
    return _answer(
        request,
        template="mappings/_organization_mapping.html",
        record=_organization_record(connection, pk),
        connection=connection,
        fallback=reverse("mappings:organization_list"),
    )


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


def _offer_record(connection, pk: int):
    return get_object_or_404(selectors.offer_rows(connection=connection), pk=pk)


@role_required(Role.OPERATOR)
@require_POST
def offer_map(request):
    connection = connection_or_404(request)
    pk = _row_pk(request.POST, "offer")
    offer = get_object_or_404(Offer, pk=pk)
    value = request.POST.get("service", "")
    service = (
        AutotaskService.objects.filter(connection=connection, pk=int(value)).first()
        if value.isdigit()
        else None
    )
    problem = None
    if service is None:
        problem = "Choose a service from the list."
    else:
        try:
            offer_mapping_set(
                connection=connection, offer=offer, service=service, user=request.user
            )
        except MappingRefused as refusal:
            problem = str(refusal)
    return _answer(
        request,
        template="mappings/_offer_mapping.html",
        record=_offer_record(connection, pk),
        connection=connection,
        fallback=reverse("mappings:offer_list"),
        problem=problem,
    )


@role_required(Role.OPERATOR)
@require_POST
def offer_unmap(request):
    connection = connection_or_404(request)
    pk = _row_pk(request.POST, "offer")
    mapping = OfferMapping.objects.filter(connection=connection, offer_id=pk).first()
    if mapping is not None:
        mapping_delete(mapping=mapping, user=request.user)
    return _answer(
        request,
        template="mappings/_offer_mapping.html",
        record=_offer_record(connection, pk),
        connection=connection,
        fallback=reverse("mappings:offer_list"),
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


def _subscription_record(connection, pk: int):
    return get_object_or_404(selectors.subscription_rows(connection=connection), pk=pk)


@role_required(Role.OPERATOR)
@require_POST
def subscription_map(request):
    connection = connection_or_404(request)
    pk = _row_pk(request.POST, "subscription")
    subscription = get_object_or_404(Subscription, pk=pk)
    value = request.POST.get("contract", "")
    contract = (
        AutotaskContract.objects.filter(connection=connection, pk=int(value)).first()
        if value.isdigit()
        else None
    )
    problem = None
    if contract is None:
        problem = "Choose a contract from the list."
    else:
        try:
            subscription_mapping_set(
                connection=connection,
                subscription=subscription,
                contract=contract,
                user=request.user,
            )
        except MappingRefused as refusal:
            problem = str(refusal)
    return _answer(
        request,
        template="mappings/_subscription_mapping.html",
        record=_subscription_record(connection, pk),
        connection=connection,
        fallback=reverse("mappings:subscription_list"),
        problem=problem,
    )


@role_required(Role.OPERATOR)
@require_POST
def subscription_unmap(request):
    connection = connection_or_404(request)
    pk = _row_pk(request.POST, "subscription")
    mapping = SubscriptionMapping.objects.filter(connection=connection, subscription_id=pk).first()
    if mapping is not None:
        mapping_delete(mapping=mapping, user=request.user)
    return _answer(
        request,
        template="mappings/_subscription_mapping.html",
        record=_subscription_record(connection, pk),
        connection=connection,
        fallback=reverse("mappings:subscription_list"),
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
