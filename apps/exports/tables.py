import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from apps.exports.models import ExportRun

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle", "data-testid": "object-table"}
NUMBER = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}


def run_url(record: ExportRun) -> str:
    return reverse("exports:exportrun_detail", args=[record.pk])


def scope_text(run: ExportRun) -> str:
    if run.subscription_id:
        return f"{run.subscription.offer} ({run.subscription.subscription_id[:8]}…)"
    if run.organization_id:
        return run.organization.name
    return "Whole report"


class ExportRunTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=run_url, order_by=("id",))
    status = tables.TemplateColumn(
        verbose_name="Status",
        template_name="exports/_status_column.html",
        order_by=("status", "-id"),
    )
    connection = tables.Column(verbose_name="Connection", order_by=("connection__name", "-id"))
    report = tables.Column(verbose_name="Report", order_by=("report__month", "-id"))
    scope = tables.Column(verbose_name="Scope", empty_values=(), order_by=("scope", "-id"))
    trigger = tables.Column(verbose_name="Started by", empty_values=(), order_by=("trigger", "-id"))
    planned = tables.Column(verbose_name="Planned", empty_values=(), orderable=False, attrs=NUMBER)
    writes = tables.Column(verbose_name="Written", attrs=NUMBER, order_by=("writes", "-id"))
    skipped = tables.Column(verbose_name="Skipped", attrs=NUMBER, order_by=("skipped", "-id"))
    failed = tables.Column(verbose_name="Failed", attrs=NUMBER, order_by=("failed", "-id"))
    requests = tables.Column(verbose_name="Requests", attrs=NUMBER, order_by=("requests", "-id"))
    created_at = tables.DateTimeColumn(
        verbose_name="Queued", format="Y-m-d H:i", order_by=("created_at", "id"),
        attrs={"td": {"class": "text-nowrap"}},
    )  # fmt: skip
    finished_at = tables.DateTimeColumn(
        verbose_name="Finished", format="Y-m-d H:i", order_by=("finished_at", "id"),
        attrs={"td": {"class": "text-nowrap"}},
    )  # fmt: skip

    class Meta:
        model = ExportRun
        fields = ()
        sequence = (
            "id", "status", "connection", "report", "scope", "trigger", "planned", "writes",
            "skipped", "failed", "requests", "created_at", "finished_at",
        )  # fmt: skip
        attrs = TABLE_ATTRS
        empty_text = "No exports yet."
        order_by = ("-id",)

    def render_scope(self, record):
        return scope_text(record)

    def render_trigger(self, record):
        who = record.requested_by_name
        text = record.get_trigger_display()
        if record.dry_run:
            text = f"Preview · {text}"
        return (
            format_html("{}<div class='small text-body-secondary'>{}</div>", text, who)
            if who
            else text
        )

    def render_planned(self, record):
        return sum(record.counts.values()) if record.planned_at else "—"
