"""Import pages: upload, live progress, result."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from apps.accounts.roles import Role, RoleRequiredMixin, has_role
from apps.catalog.choices import ImportRunStatusChoices
from apps.catalog.importing.filtersets import ImportRunFilterSet
from apps.catalog.importing.forms import ImportForm
from apps.catalog.importing.runs import (
    ImportRunNotActionable,
    import_run_cancel,
    import_run_create,
    import_run_interrupt_stale,
    import_run_progress,
    import_run_retry,
)
from apps.catalog.importing.tables import ImportRunTable
from apps.catalog.models import BillingReport, ImportRun
from apps.core.lists import ObjectListView


class ImportRunListView(ObjectListView):
    template_name = "catalog/imports/importrun_list.html"
    table_class = ImportRunTable
    filterset_class = ImportRunFilterSet
    title = "Imports"
    empty_text = "No imports match these filters."
    search_placeholder = "Search user or error"

    def get_queryset(self):
        import_run_interrupt_stale()  # never "Running" for a dead worker (_notice_dead_worker)
        return ImportRun.objects.select_related("created_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_operate"] = has_role(self.request.user, Role.OPERATOR)
        if not context["table"].paginator.count and not ImportRun.objects.exists():
            context["empty_text"] = (
                "Nothing imported yet. Operators import Partner Center files with “Import files”."
            )
        return context


def _notice_dead_worker(run: ImportRun) -> None:
    """A page never shows "Running" for a run whose worker died, nor "Queued" for one
    whose task was lost (see apps/core/runs.py)."""
    active = (ImportRunStatusChoices.QUEUED, ImportRunStatusChoices.RUNNING)
    if run.status in active and import_run_interrupt_stale(
        runs=ImportRun.objects.filter(pk=run.pk)
    ):
        run.refresh_from_db()


class ImportRunCreateView(RoleRequiredMixin, View):
    required_role = Role.OPERATOR
    template_name = "catalog/imports/importrun_create.html"

    def get(self, request):
        return render(request, self.template_name, {"form": ImportForm()})

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})
        run = import_run_create(
            uploads=form.cleaned_data["files"],
            month=form.cleaned_data["month"],
            user=request.user,
        )
        return redirect("imports:importrun_detail", pk=run.pk)


def _context(run: ImportRun, user) -> dict:
    _notice_dead_worker(run)
    progress = import_run_progress(run)
    total = progress.get("lines_total") or 0
    read = progress.get("lines_read") or 0
    percent = (
        100
        if run.status == ImportRunStatusChoices.SUCCEEDED
        else (min(99, int(read * 100 / total)) if total else 0)
    )
    reports = []
    if run.status == ImportRunStatusChoices.SUCCEEDED and run.result.get("report_ids"):
        reports = list(BillingReport.objects.filter(pk__in=run.result["report_ids"]))
    return {"run": run, "lines_read": read, "lines_total": total, "percent": percent,
            "reports": reports, "can_operate": has_role(user, Role.OPERATOR)}  # fmt: skip


class ImportRunDetailView(RoleRequiredMixin, View):
    required_role = Role.VIEWER

    def get(self, request, pk):
        run = get_object_or_404(ImportRun.objects.select_related("created_by"), pk=pk)
        return render(request, "catalog/imports/importrun_detail.html", _context(run, request.user))


class ImportRunProgressView(RoleRequiredMixin, View):
    """The progress card alone, polled by htmx until the run has finished."""

    required_role = Role.VIEWER

    def get(self, request, pk):
        run = get_object_or_404(ImportRun, pk=pk)
        return render(request, "catalog/imports/_progress.html", _context(run, request.user))


class ImportRunActionView(RoleRequiredMixin, View):
    """Retry an interrupted import or cancel one (POST only), then back to its page."""

    required_role = Role.OPERATOR
    action = None
    done = ""

    def post(self, request, pk):
        run = get_object_or_404(ImportRun, pk=pk)
        try:
            type(self).action(run=run, user=request.user)
        except ImportRunNotActionable as problem:
            messages.warning(request, str(problem))
        else:
            messages.success(request, self.done.format(pk=run.pk))
        return redirect("imports:importrun_detail", pk=run.pk)


class ImportRunRetryView(ImportRunActionView):
    action = import_run_retry
    done = "Import #{pk} is queued again."


class ImportRunCancelView(ImportRunActionView):
    action = import_run_cancel
    done = "Import #{pk}: cancel asked. A running import stops at its next progress report."
