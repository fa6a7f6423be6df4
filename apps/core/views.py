from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from apps.accounts.roles import ROLE_DESCRIPTIONS, Role, RoleRequiredMixin, user_role
from apps.core.health import check_broker, check_database, running_clusters
from apps.exports.selectors import active_runs, runs_needing_a_look


class DashboardView(RoleRequiredMixin, TemplateView):
    required_role = Role.VIEWER
    template_name = "core/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        role = user_role(self.request.user)
        context.update(
            database=check_database(),
            broker=check_broker(),
            clusters=running_clusters(),
            role_description=ROLE_DESCRIPTIONS[role],
            exports_to_look_at=runs_needing_a_look(),
            exports_active=active_runs(),
        )
        return context


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Machine-readable health: 200 when the database and the broker answer, else 503."""
    database = check_database()
    broker = check_broker()
    clusters = running_clusters() if database.ok and broker.ok else []
    healthy = database.ok and broker.ok
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "database": {"ok": database.ok, "detail": database.detail},
            "broker": {"ok": broker.ok, "detail": broker.detail},
            "workers": sum(cluster.workers for cluster in clusters),
        },
        status=200 if healthy else 503,
    )
