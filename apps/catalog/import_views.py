"""Import pages: upload, live progress, result."""

from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from apps.accounts.roles import Role, RoleRequiredMixin
from apps.catalog.import_forms import ImportForm
from apps.catalog.import_runs import import_run_create, import_run_progress
from apps.catalog.models import BillingReport, ImportRun


class ImportRunListView(RoleRequiredMixin, View):
    required_role = Role.VIEWER

    def get(self, request):
        runs = ImportRun.objects.select_related("created_by")[:50]
        return render(request, "catalog/imports/importrun_list.html", {"runs": runs})


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


def _context(run: ImportRun) -> dict:
    progress = import_run_progress(run)
    total = progress.get("lines_total") or 0
    read = progress.get("lines_read") or 0
    percent = (
        100 if run.status == "succeeded" else (min(99, int(read * 100 / total)) if total else 0)
    )
    reports = []
    if run.status == "succeeded" and run.result.get("report_ids"):
        reports = list(BillingReport.objects.filter(pk__in=run.result["report_ids"]))
    return {"run": run, "lines_read": read, "lines_total": total, "percent": percent,
            "reports": reports}  # fmt: skip


class ImportRunDetailView(RoleRequiredMixin, View):
    required_role = Role.VIEWER

    def get(self, request, pk):
        run = get_object_or_404(ImportRun.objects.select_related("created_by"), pk=pk)
        return render(request, "catalog/imports/importrun_detail.html", _context(run))


class ImportRunProgressView(RoleRequiredMixin, View):
    """The progress card alone, polled by htmx until the run has finished."""

    required_role = Role.VIEWER

    def get(self, request, pk):
        run = get_object_or_404(ImportRun, pk=pk)
        return render(request, "catalog/imports/_progress.html", _context(run))
