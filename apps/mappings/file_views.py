"""Mapping files on the screens: download the rows as CSV (Viewer), upload a file, see what
it would change and confirm it (Operator). The work is in ``mapping_files``."""

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views import View

from apps.accounts.roles import Role, RoleRequiredMixin
from apps.autotask.models import Connection
from apps.mappings.file_forms import MappingFileUploadForm
from apps.mappings.mapping_files import (
    KINDS,
    MappingFileRefused,
    apply_mapping_file,
    counts_sentence,
    mapping_file_lines,
    read_mapping_file,
)
from apps.mappings.mapping_files.pending import (
    pending_file_discard,
    pending_file_load,
    pending_file_save,
)
from apps.mappings.selectors import connection_in_view
from apps.mappings.views import screen_rows

SCREENS = {"organizations": "mappings:organization_list", "offers": "mappings:offer_list"}
NO_CONNECTION = (
    "There is no Autotask connection yet: an Administrator adds one under Connections, and "
    "mappings are made for it."
)
GONE = (
    "That upload is no longer kept (it was confirmed or cancelled, or is more than a day "
    "old): upload the file again."
)


def download_queryset(request, kind: str, connection: Connection) -> QuerySet:
    """The rows a download carries, in the order it writes them: every row the screen's
    filters, search and sort in ``request.GET`` select, not just one page."""
    return screen_rows(request, kind, connection)


def screen_url(kind: str) -> str:
    try:
        return reverse(SCREENS[kind])
    except NoReverseMatch:
        return reverse("core:dashboard")


def _checked_kind(kind: str) -> str:
    if kind not in KINDS:
        raise Http404("No such mapping file.")
    return kind


def _file_name(kind: str, connection: Connection) -> str:
    name = slugify(connection.name) or "connection"
    return f"{kind}-{name}-{timezone.localdate():%Y-%m-%d}.csv"


class MappingFileDownloadView(RoleRequiredMixin, View):
    required_role = Role.VIEWER

    def get(self, request, kind):
        kind = _checked_kind(kind)
        connection = connection_in_view(request.user)
        if connection is None:
            messages.warning(request, NO_CONNECTION)
            return redirect(screen_url(kind))
        lines = mapping_file_lines(kind, connection, download_queryset(request, kind, connection))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{_file_name(kind, connection)}"'
        return response


class MappingFileUploadView(RoleRequiredMixin, View):
    required_role = Role.OPERATOR
    template_name = "mappings/file_upload.html"

    def get(self, request, kind):
        kind = _checked_kind(kind)
        return self._page(request, kind, MappingFileUploadForm(kind=kind))

    def post(self, request, kind):
        kind = _checked_kind(kind)
        connection = connection_in_view(request.user)
        form = MappingFileUploadForm(request.POST, request.FILES, kind=kind)
        if connection is None or not form.is_valid():
            return self._page(request, kind, form, connection)
        upload = form.cleaned_data["file"]
        token = pending_file_save(
            data=b"".join(upload.chunks()),
            name=upload.name,
            kind=kind,
            connection=connection,
            user=request.user,
        )
        return redirect("mappings:mapping_file_confirm", token=token)

    def _page(self, request, kind, form, connection=None):
        connection = connection or connection_in_view(request.user)
        return render(request, self.template_name, {
            "kind": kind, "form": form, "connection": connection,
            "no_connection": NO_CONNECTION, "screen_url": screen_url(kind),
        })  # fmt: skip


class MappingFileConfirmView(RoleRequiredMixin, View):
    """GET: what the kept file would change; POST: apply it (or cancel)."""

    required_role = Role.OPERATOR
    template_name = "mappings/file_preview.html"

    def get(self, request, token):
        pending, connection = _pending(request, token)
        if pending is None:
            return redirect("core:dashboard")
        plan = read_mapping_file(connection, pending.kind, pending.data)
        return render(request, self.template_name, {
            "pending": pending, "plan": plan, "connection": connection,
            "counts": plan.counts(), "screen_url": screen_url(pending.kind),
        })  # fmt: skip

    def post(self, request, token):
        pending, connection = _pending(request, token)
        if pending is None:
            return redirect("core:dashboard")
        if request.POST.get("action") == "cancel":
            pending_file_discard(token)
            messages.info(request, "Upload cancelled; nothing was changed.")
            return redirect(screen_url(pending.kind))
        plan = read_mapping_file(connection, pending.kind, pending.data)
        if plan.digest != request.POST.get("digest"):
            messages.warning(
                request,
                "The mappings changed since this preview was shown; nothing was changed. "
                "Here is what the file would change now.",
            )
            return redirect("mappings:mapping_file_confirm", token=token)
        try:
            counts = apply_mapping_file(plan, user=request.user)
        except MappingFileRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("mappings:mapping_file_confirm", token=token)
        pending_file_discard(token)
        messages.success(
            request, f"Mapping file applied on {connection.name}: {counts_sentence(counts)}."
        )
        return redirect(screen_url(pending.kind))


def _pending(request, token):
    """The kept file and its connection, or (None, None) with a message saying why not."""
    pending = pending_file_load(token=token, user=request.user)
    connection = None
    if pending is not None:
        connection = Connection.objects.filter(pk=pending.connection_id).first()
    if pending is None or connection is None:
        messages.warning(request, GONE)
        return None, None
    return pending, connection
