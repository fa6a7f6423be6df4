"""Export pages: the runs, one run's plan and progress, and the actions (Operator and up).

Writing to Autotask always starts with a preview: the form queues a dry run, its page
shows the plan, and "Export now" on that page is the confirmation (`actions.py`).
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View

from apps.accounts.roles import Role, RoleRequiredMixin, has_role
from apps.autotask.models import Connection
from apps.catalog.models import BillingReport, Organization, Subscription, SubscriptionMonth
from apps.core.lists import ObjectListView
from apps.exports import selectors
from apps.exports.actions import (
    confirm_refusal,
    confirmed_as,
    export_confirm,
    export_continue,
    export_preview_create,
    export_retry_failed,
    export_run_cancel,
    export_run_looked_at,
    retry_refusal,
    retryable_operations,
)
from apps.exports.choices import ExportItemStatusChoices, ExportRunStatusChoices
from apps.exports.filtersets import ExportRunFilterSet
from apps.exports.forms import ExportPreviewForm
from apps.exports.models import ExportRun
from apps.exports.presenting import page_items
from apps.exports.queueing import ExportRefused
from apps.exports.recovery import export_run_interrupt_stale
from apps.exports.tables import ExportRunTable, scope_text

ITEMS_PER_PAGE = 50
PREFILLED = (
    ("connection", Connection),
    ("report", BillingReport),
    ("organization", Organization),
    ("subscription", Subscription),
)
Status = ExportRunStatusChoices
LIVE = (Status.QUEUED, Status.RUNNING, Status.WAITING)  # the page follows these as they go


def _notice_dead_workers(runs) -> None:
    """A page never shows "Running" for a run whose worker died (apps/core/runs.py)."""
    export_run_interrupt_stale(runs=runs.filter(status=Status.RUNNING))


class ExportRunListView(ObjectListView):
    required_role = Role.VIEWER
    template_name = "exports/exportrun_list.html"
    table_class = ExportRunTable
    filterset_class = ExportRunFilterSet
    title = "Exports"
    empty_text = "No exports match these filters."
    search_placeholder = "Search connection, organization, user or message"

    def get_queryset(self):
        _notice_dead_workers(ExportRun.objects.all())
        return selectors.export_run_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_operate"] = has_role(self.request.user, Role.OPERATOR)
        context["outcomes"] = selectors.runs_per_status(self.filterset.qs)
        return context


def _run_or_404(pk: int) -> ExportRun:
    try:
        return selectors.export_run_detail(pk)
    except ExportRun.DoesNotExist:
        raise Http404("No such export.") from None


def _reexport_url(run: ExportRun) -> str:
    """The preview form, filled in with the run's connection, report and scope."""
    scope = {"connection": run.connection_id, "report": run.report_id,
             "organization": run.organization_id, "subscription": run.subscription_id}  # fmt: skip
    query = urlencode({name: pk for name, pk in scope.items() if pk})
    return f"{reverse('exports:exportrun_preview')}?{query}"


def _progress_context(run: ExportRun, user) -> dict:
    progress = selectors.export_run_progress(run)
    return {
        "run": run,
        "progress": progress,
        "live": run.status in LIVE,
        "can_operate": has_role(user, Role.OPERATOR),
    }


def _actions(run: ExportRun) -> dict:
    confirmed = confirmed_as(run)
    return {
        "can_confirm": not confirm_refusal(run, confirmed),
        "confirmed": confirmed,
        "can_retry": not retry_refusal(run),
        "can_continue": run.status == Status.INTERRUPTED,
        "can_cancel": run.status in (Status.QUEUED, Status.WAITING, Status.INTERRUPTED)
        or (run.status == Status.RUNNING and not run.dry_run),
        "reexport_url": _reexport_url(run),
    }


class ExportRunDetailView(RoleRequiredMixin, View):
    required_role = Role.VIEWER

    def get(self, request, pk):
        _notice_dead_workers(ExportRun.objects.filter(pk=pk))
        run = _run_or_404(pk)
        if has_role(request.user, Role.OPERATOR):  # who can act on it
            export_run_looked_at(run=run, user=request.user)
        organization_id = _int(request.GET.get("organization"))
        status = request.GET.get("status", "")
        if status not in ExportItemStatusChoices.values:
            status = ""
        items = selectors.export_run_items(run, organization_id=organization_id, status=status)
        page = Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
        organizations = selectors.export_run_organizations(run)
        chosen = next((o for o in organizations if o["organization_id"] == organization_id), None)
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            **_progress_context(run, request.user),
            **_actions(run),
            "scope": scope_text(run),
            "page": page,
            "items": page_items(page),
            "organizations": organizations,
            "organization": chosen,
            "item_status": status,
            "item_statuses": ExportItemStatusChoices.choices,
            "page_query": query.urlencode(),
            "audit_url": f"{reverse('audit:auditentry_list')}?run={run.pk}",
        }
        return render(request, "exports/exportrun_detail.html", context)


def latest_report_of(target) -> BillingReport | None:
    """The newest report billing a subscription or an organization."""
    months = SubscriptionMonth.objects.select_related("report").order_by("-report__month")
    if isinstance(target, Subscription):
        month = months.filter(subscription=target).first()
    else:
        month = months.filter(subscription__organization=target).first()
    return month.report if month else None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ExportRunProgressView(RoleRequiredMixin, View):
    """The progress card alone, polled while the run is active. When the run has ended the
    whole page is reloaded, so the plan and results show their final state."""

    required_role = Role.VIEWER

    def get(self, request, pk):
        _notice_dead_workers(ExportRun.objects.filter(pk=pk))
        run = _run_or_404(pk)
        if run.status not in LIVE and request.GET.get("live"):
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return render(request, "exports/_progress.html", _progress_context(run, request.user))


class ExportPreviewView(RoleRequiredMixin, View):
    """The first step of every export from the browser: choose, then read the plan."""

    required_role = Role.OPERATOR
    template_name = "exports/exportrun_preview.html"

    def get(self, request):
        if not Connection.objects.exists():
            messages.warning(
                request, "Add an Autotask connection first: there is nothing to export to."
            )
            return redirect("autotask:connection_list")
        if not BillingReport.objects.exists():
            messages.warning(request, "Import a billing report first: there is nothing to export.")
            return redirect("catalog:billingreport_list")
        initial = {}
        for name, model in PREFILLED:
            pk = _int(request.GET.get(name))
            if pk is not None:
                initial[name] = model.objects.filter(pk=pk).first()
        target = initial.get("subscription") or initial.get("organization")
        if initial.get("report") is None and target is not None:
            initial["report"] = latest_report_of(target)
        return self._page(request, ExportPreviewForm(initial=initial))

    def post(self, request):
        form = ExportPreviewForm(request.POST)
        if not form.is_valid():
            return self._page(request, form)
        data = form.cleaned_data
        try:
            run = export_preview_create(
                connection=data["connection"],
                report=data["report"],
                organization=data.get("organization"),
                subscription=data.get("subscription"),
                user=request.user,
            )
        except ExportRefused as refused:
            form.add_error(None, str(refused))
            return self._page(request, form)
        return redirect("exports:exportrun_detail", pk=run.pk)

    def _page(self, request, form):
        values = getattr(form, "cleaned_data", {}) if form.is_bound else form.initial
        target = values.get("subscription") or values.get("organization")
        return render(request, self.template_name, {"form": form, "target": target})


class ExportRunActionView(RoleRequiredMixin, View):
    """A POST that acts on a run, then back to a run's page with what happened."""

    required_role = Role.OPERATOR

    def act(self, run: ExportRun, user) -> tuple[ExportRun, str]:
        raise NotImplementedError

    def post(self, request, pk):
        run = _run_or_404(pk)
        try:
            shown, done = self.act(run, request.user)
        except ExportRefused as refused:
            messages.warning(request, str(refused))
            return redirect("exports:exportrun_detail", pk=run.pk)
        messages.success(request, done)
        return redirect("exports:exportrun_detail", pk=shown.pk)


class ExportConfirmView(ExportRunActionView):
    def act(self, run, user):
        started = export_confirm(preview=run, user=user)
        return started, (
            f"Export #{started.pk} is queued: it plans once more, and writes only if the plan "
            f"is still the one of preview #{run.pk}."
        )


class ExportContinueView(ExportRunActionView):
    def act(self, run, user):
        run = export_continue(run=run, user=user)
        return run, f"Export #{run.pk} is queued again: it continues where it stopped."


class ExportRunConfirmPage(ExportRunActionView):
    """GET: a page that says what the action will do; POST: do it."""

    template_name = ""

    def get(self, request, pk):
        run = _run_or_404(pk)
        return render(request, self.template_name, {"run": run, **self.facts(run)})

    def facts(self, run: ExportRun) -> dict:
        return {}


class ExportRetryView(ExportRunConfirmPage):
    template_name = "exports/exportrun_retry.html"

    def facts(self, run):
        operations = (
            retryable_operations(run).select_related("item").order_by("item__position", "sequence")
        )
        return {"refusal": retry_refusal(run), "operations": operations[:200],
                "count": operations.count()}  # fmt: skip

    def act(self, run, user):
        run = export_retry_failed(run=run, user=user)
        return run, f"Export #{run.pk}: the failed operations are queued again."


class ExportCancelView(ExportRunConfirmPage):
    template_name = "exports/exportrun_cancel.html"

    def act(self, run, user):
        run = export_run_cancel(run=run, user=user)
        if run.status == Status.CANCELLED:
            return run, f"Export #{run.pk} is cancelled."
        return run, (
            f"Export #{run.pk}: cancel asked. It starts no new request and stops once the "
            "requests in flight are recorded."
        )
