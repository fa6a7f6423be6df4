"""Connection screens. Thin: forms validate, services act, templates show."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import DetailView

from apps.accounts.roles import Role, RoleRequiredMixin, has_role
from apps.autotask import selectors, services
from apps.autotask.choices import (
    ConnectionTestStatusChoices,
    RefreshRunKindChoices,
    RefreshRunStatusChoices,
)
from apps.autotask.connection_test import connection_test_start, connection_test_status
from apps.autotask.filtersets import (
    BillingCodeFilterSet,
    CompanyFilterSet,
    ConnectionFilterSet,
    ProductFilterSet,
    ServiceFilterSet,
)
from apps.autotask.forms import (
    ConnectionCreateForm,
    ConnectionSecretForm,
    ConnectionSettingsForm,
)
from apps.autotask.models import (
    AutotaskBillingCode,
    AutotaskCompany,
    AutotaskProduct,
    AutotaskService,
    Connection,
    RefreshRun,
)
from apps.autotask.tables import (
    BillingCodeTable,
    CompanyTable,
    ConnectionTable,
    ProductTable,
    ServiceTable,
)
from apps.core.lists import ObjectListView


class ConnectionListView(ObjectListView):
    title = "Connections"
    table_class = ConnectionTable
    filterset_class = ConnectionFilterSet
    template_name = "autotask/connection_list.html"
    empty_text = "No connections yet. An Administrator adds one with “New connection”."
    search_placeholder = "Search name, user, zone"

    def get_queryset(self):
        return selectors.connection_list()


class ConnectionDetailView(RoleRequiredMixin, DetailView):
    required_role = Role.VIEWER
    model = Connection
    template_name = "autotask/connection_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(refresh_card_context(self.request, self.object))
        context.update(
            last_test_card_context(self.request, self.object, self.request.GET.get("test"))
        )
        return context


def refresh_card_context(request, connection: Connection) -> dict:
    """What `_refresh_card.html` shows: counts, recent runs (a dead worker's marked)."""
    services.refresh_run_interrupt_stale(runs=RefreshRun.objects.filter(connection=connection))
    counts = [
        {**row, "url": reverse(f"autotask:{row['kind']}_list", args=[connection.pk])}
        for row in selectors.connection_reference_counts(connection=connection)
    ]
    return {
        "connection": connection,
        "runs": selectors.refresh_run_recent(connection=connection),
        "run_statuses": RefreshRunStatusChoices,
        "reference_counts": counts,
        "can_operate": has_role(request.user, Role.OPERATOR),
    }


def last_test_card_context(request, connection: Connection, token: str | None) -> dict:
    """What `_test_card.html` shows: the last test, and to those who may test (and poll
    its progress) the one ``token`` names."""
    can_administer = has_role(request.user, Role.ADMINISTRATOR)
    return {
        "connection": connection,
        "test": connection_test_status(connection=connection, token=token)
        if can_administer
        else None,
        "test_statuses": ConnectionTestStatusChoices,
        "can_administer": can_administer,
    }


class RefreshStatusView(RoleRequiredMixin, View):
    """The refresh card alone, polled by htmx while a refresh is queued or running."""

    required_role = Role.VIEWER

    def get(self, request, pk):
        connection = get_object_or_404(Connection, pk=pk)
        return render(
            request, "autotask/_refresh_card.html", refresh_card_context(request, connection)
        )


class ConnectionTestStatusView(RoleRequiredMixin, View):
    """The test card alone, polled by htmx until the test ``?token=`` has finished."""

    required_role = Role.ADMINISTRATOR

    def get(self, request, pk):
        connection = get_object_or_404(Connection, pk=pk)
        context = last_test_card_context(request, connection, request.GET.get("token"))
        return render(request, "autotask/_test_card.html", context)


class ConnectionCreateView(RoleRequiredMixin, View):
    required_role = Role.ADMINISTRATOR
    template_name = "autotask/connection_create.html"

    def get(self, request):
        return render(request, self.template_name, {"form": ConnectionCreateForm()})

    def post(self, request):
        form = ConnectionCreateForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})
        data = form.cleaned_data
        try:
            if data["kind"] == ConnectionCreateForm.KIND_SANDBOX:
                connection = services.connection_create_sandbox(
                    name=data["name"], url=data["sandbox_url"], user=request.user
                )
            else:
                connection = services.connection_create(
                    name=data["name"],
                    username=data["username"],
                    integration_code=data["integration_code"],
                    secret=data["secret"],
                    api_root_url=data["api_root_url"] or None,
                    user=request.user,
                )
        except ValidationError as problem:
            form.add_error(None, problem)
            return render(request, self.template_name, {"form": form})
        messages.success(
            request, f"Connection “{connection.name}” created. Test it, then refresh its data."
        )
        return redirect(connection)


class ConnectionSettingsView(RoleRequiredMixin, View):
    required_role = Role.ADMINISTRATOR
    template_name = "autotask/connection_settings.html"

    def get(self, request, pk):
        connection = get_object_or_404(Connection, pk=pk)
        form = ConnectionSettingsForm(instance=connection)
        return render(request, self.template_name, {"form": form, "connection": connection})

    def post(self, request, pk):
        connection = get_object_or_404(Connection, pk=pk)
        form = ConnectionSettingsForm(request.POST, instance=Connection.objects.get(pk=pk))
        if form.is_valid():
            try:
                services.connection_update(
                    connection=connection, user=request.user, **form.changes()
                )
            except ValidationError as problem:
                form.add_error(None, problem)
            else:
                messages.success(request, f"Connection “{connection.name}” saved.")
                return redirect(connection)
        return render(request, self.template_name, {"form": form, "connection": connection})


class ConnectionSecretView(RoleRequiredMixin, View):
    required_role = Role.ADMINISTRATOR
    template_name = "autotask/connection_secret.html"

    def get(self, request, pk):
        connection = get_object_or_404(Connection, pk=pk)
        return render(
            request, self.template_name, {"form": ConnectionSecretForm(), "connection": connection}
        )

    def post(self, request, pk):
        connection = get_object_or_404(Connection, pk=pk)
        form = ConnectionSecretForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form, "connection": connection})
        services.connection_change_secret(
            connection=connection, secret=form.cleaned_data["secret"], user=request.user
        )
        messages.success(request, "Secret changed. Test the connection to check it.")
        return redirect(connection)


class ConnectionDeleteView(RoleRequiredMixin, View):
    required_role = Role.ADMINISTRATOR
    template_name = "autotask/connection_confirm_delete.html"

    def get(self, request, pk):
        connection = get_object_or_404(Connection, pk=pk)
        return render(request, self.template_name, {"connection": connection})

    def post(self, request, pk):
        connection = get_object_or_404(Connection, pk=pk)
        if request.POST.get("confirm_name") != connection.name:
            messages.error(request, "Type the connection's name exactly to delete it.")
            return render(request, self.template_name, {"connection": connection})
        services.connection_delete(connection=connection, user=request.user)
        messages.success(request, f"Connection “{connection.name}” deleted.")
        return redirect("autotask:connection_list")


class ConnectionTestView(RoleRequiredMixin, View):
    """Queue a test on a worker; the page then shows its progress (`?test=<token>`)."""

    required_role = Role.ADMINISTRATOR

    def post(self, request, pk):
        connection = get_object_or_404(Connection, pk=pk)
        token = connection_test_start(connection=connection, user=request.user)
        return redirect(f"{connection.get_absolute_url()}?test={token}")


class ConnectionRefreshView(RoleRequiredMixin, View):
    required_role = Role.OPERATOR

    def post(self, request, pk):
        connection = get_object_or_404(Connection, pk=pk)
        full = request.POST.get("kind", RefreshRunKindChoices.FULL) != (
            RefreshRunKindChoices.INCREMENTAL
        )
        try:
            services.refresh_run_create(connection=connection, full=full, user=request.user)
        except services.RefreshAlreadyRunning as problem:
            messages.warning(request, str(problem))
        else:
            messages.info(request, "Refresh queued: the lists fill as the worker reads Autotask.")
        return redirect(connection)


class ReferenceListView(ObjectListView):
    """A connection's copy of one kind of Autotask data."""

    template_name = "autotask/reference_list.html"
    model = None
    noun = ""

    @cached_property
    def connection(self) -> Connection:
        # Looked up when the page is built, after the role check: someone without a role
        # gets the same 403 for a connection that exists and one that does not.
        return get_object_or_404(Connection, pk=self.kwargs["pk"])

    @property
    def title(self):
        return f"{self.noun} in {self.connection.name}"

    def get_queryset(self):
        return self.model.objects.filter(connection=self.connection)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["connection"] = self.connection
        return context


class CompanyListView(ReferenceListView):
    model = AutotaskCompany
    noun = "Companies"
    table_class = CompanyTable
    filterset_class = CompanyFilterSet
    empty_text = "No companies match. If there are none at all, refresh the connection."
    search_placeholder = "Search name or web address"


class ServiceListView(ReferenceListView):
    model = AutotaskService
    noun = "Services"
    table_class = ServiceTable
    filterset_class = ServiceFilterSet
    empty_text = "No services match. If there are none at all, refresh the connection."


class ProductListView(ReferenceListView):
    model = AutotaskProduct
    noun = "Products"
    table_class = ProductTable
    filterset_class = ProductFilterSet
    empty_text = "No products match. If there are none at all, refresh the connection."


class BillingCodeListView(ReferenceListView):
    model = AutotaskBillingCode
    noun = "Billing codes"
    table_class = BillingCodeTable
    filterset_class = BillingCodeFilterSet
    empty_text = "No billing codes match. If there are none at all, refresh the connection."
