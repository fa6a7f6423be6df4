"""The imports list, as a table of the generic list page."""

import django_tables2 as tables
from django.urls import reverse

from apps.catalog.models import ImportRun
from apps.catalog.tables import TABLE_ATTRS

NUMBER = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}


def run_url(record: ImportRun) -> str:
    return reverse("imports:importrun_detail", args=[record.pk])


class ImportRunTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=run_url, order_by=("id",))
    created_at = tables.DateTimeColumn(
        verbose_name="Queued", format="Y-m-d H:i", order_by=("created_at", "id"),
        attrs={"td": {"class": "text-nowrap"}},
    )  # fmt: skip
    created_by = tables.Column(
        verbose_name="By", default="—", order_by=("created_by__username", "-id")
    )
    kind = tables.Column(verbose_name="What", order_by=("kind", "-id"))
    files = tables.Column(verbose_name="Files", orderable=False)
    status = tables.TemplateColumn(
        verbose_name="Status",
        template_code='{% include "catalog/imports/_status.html" with run=record %}',
        order_by=("status", "-id"),
    )
    lines_read = tables.Column(verbose_name="Lines", attrs=NUMBER, order_by=("lines_read", "-id"))

    class Meta:
        model = ImportRun
        fields = ()
        sequence = ("id", "created_at", "created_by", "kind", "files", "status", "lines_read")
        attrs = TABLE_ATTRS
        order_by = ("-created_at",)

    def render_files(self, value) -> str:
        return ", ".join(item["name"] for item in value)
