"""Bulk actions of the Organizations screen: map the selected organizations to one
company, and accept every best suggestion above a score. Each GET lists what it will do;
its confirmation POSTs the same back."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.accounts.roles import Role, role_required
from apps.catalog import selectors as catalog_selectors
from apps.mappings import selectors, suggestions
from apps.mappings.row_views import company_of
from apps.mappings.services import MappingRefused, check_company, organization_mapping_set
from apps.mappings.views import DEFAULT_ACCEPT_PERCENT, back_url, connection_or_404

BULK_LIMIT = 500


@role_required(Role.OPERATOR)
def organization_bulk_map(request):
    """Map the selected organizations to one company: GET lists what will change, the
    confirmation POSTs it back."""
    connection = connection_or_404(request)
    data = request.POST if request.method == "POST" else request.GET
    back = reverse("mappings:organization_list")
    ids = [int(value) for value in data.getlist("select") if value.isdigit()][: BULK_LIMIT + 1]
    company = company_of(connection, data.get("company"))
    if not ids or company is None:
        messages.error(request, "Select the organizations and choose one company for them.")
        return redirect(back_url(request, back))
    if len(ids) > BULK_LIMIT:
        messages.error(request, f"Select at most {BULK_LIMIT} organizations at a time.")
        return redirect(back_url(request, back))
    try:
        check_company(connection=connection, company=company)
    except MappingRefused as refusal:
        messages.error(request, str(refusal))
        return redirect(back_url(request, back))
    month = catalog_selectors.latest_report_month()
    rows = list(
        selectors.organization_rows(connection=connection, month=month)
        .filter(pk__in=ids)
        .order_by("name", "pk")
    )
    changes = [row for row in rows if row.company_pk != company.pk]
    if request.method != "POST":
        return render(
            request,
            "mappings/organization_bulk_confirm.html",
            {
                "connection": connection,
                "company": company,
                "changes": changes,
                "unchanged": len(rows) - len(changes),
                "next": back_url(request, back),
            },
        )
    done, refused = 0, []
    for row in changes:
        try:
            organization_mapping_set(
                connection=connection, organization=row, company=company, user=request.user
            )
            done += 1
        except MappingRefused as refusal:
            refused.append(f"{row.name}: {refusal}")
    _report(request, done, refused, f"to {company.name}")
    return redirect(back_url(request, back))


def _report(request, done: int, refused: list[str], what: str) -> None:
    if done:
        messages.success(request, f"Mapped {done} organization{'s' if done != 1 else ''} {what}.")
    for problem in refused:
        messages.error(request, problem)
    if not done and not refused:
        messages.info(request, "Nothing to change.")


def _threshold(value) -> int | None:
    try:
        percent = int(str(value).strip().rstrip("%"))
    except ValueError:
        return None
    return percent if 50 <= percent <= 100 else None


@role_required(Role.OPERATOR)
def suggestion_accept(request):
    """ "Accept all suggestions above N %": GET lists every unmapped organization whose
    best suggestion scores at least N %, the confirmation POSTs it back."""
    connection = connection_or_404(request)
    data = request.POST if request.method == "POST" else request.GET
    back = reverse("mappings:organization_list")
    percent = _threshold(data.get("percent", DEFAULT_ACCEPT_PERCENT))
    if percent is None:
        messages.error(request, "Give a score between 50 and 100 %.")
        return redirect(back_url(request, back))
    if request.method != "POST":
        planned = suggestions.suggestions_above(connection, percent / 100)
        return render(
            request,
            "mappings/suggestion_accept.html",
            {
                "connection": connection,
                "percent": percent,
                "planned": planned,
                "next": back_url(request, back),
            },
        )
    expected = data.get("count", "")
    planned = suggestions.suggestions_above(connection, percent / 100)
    if not expected.isdigit() or int(expected) != len(planned):
        messages.warning(
            request,
            "The suggestions changed since you looked (a new import or refresh): check the "
            "list again before accepting.",
        )
        return redirect(f"{reverse('mappings:suggestion_accept')}?percent={percent}")
    outcome = suggestions.suggestions_accept(connection, percent / 100, request.user)
    done = sum(1 for item in outcome if item.outcome == "mapped")
    refused = [f"{item.organization.name}: {item.problem}" for item in outcome if item.problem]
    _report(request, done, refused, f"to their suggestions at {percent} % or more")
    return redirect(back_url(request, back))
