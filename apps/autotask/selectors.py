"""Reads for the connection screens: what views, forms and tables show."""

from django.db.models import Count, Q, QuerySet

from apps.autotask.models import (
    AutotaskBillingCode,
    AutotaskCompany,
    AutotaskPicklistValue,
    AutotaskProduct,
    AutotaskService,
    Connection,
    RefreshRun,
)

# Each kind of reference data: its label, model, and the name of its list (`<kind>_list`).
REFERENCE_KINDS = (
    ("Companies", AutotaskCompany, "company"),
    ("Services", AutotaskService, "service"),
    ("Products", AutotaskProduct, "product"),
    ("Billing codes", AutotaskBillingCode, "billingcode"),
)


def connection_list() -> QuerySet[Connection]:
    """Every connection with the number of its companies."""
    return Connection.objects.annotate(companies=Count("autotaskcompany_rows", distinct=True))


def connection_name_taken(*, name: str) -> bool:
    return Connection.objects.filter(name__iexact=name).exists()


def connection_reference_counts(*, connection: Connection) -> list[dict]:
    """Per kind of reference data: label, kind, and how many rows in all, active (and not
    gone) and gone from Autotask. One query per kind."""
    rows = []
    for label, model, kind in REFERENCE_KINDS:
        counts = model.objects.filter(connection=connection).aggregate(
            total=Count("id"),
            active=Count("id", filter=Q(is_active=True, gone_at__isnull=True)),
            gone=Count("id", filter=Q(gone_at__isnull=False)),
        )
        rows.append({"label": label, "kind": kind, **counts})
    return rows


def refresh_run_recent(*, connection: Connection, limit: int = 8) -> list[RefreshRun]:
    """The connection's latest refreshes, newest first."""
    return list(RefreshRun.objects.filter(connection=connection)[:limit])


def billing_code_options(*, connection: Connection, use_type: int) -> list[tuple[int, str]]:
    """(Autotask id, name) of the connection's active billing codes of one use type, by name."""
    return list(
        AutotaskBillingCode.objects.filter(
            connection=connection, use_type=use_type, is_active=True, gone_at__isnull=True
        )
        .order_by("name")
        .values_list("autotask_id", "name")
    )


def picklist_options(*, connection: Connection, entity: str, field: str) -> list[tuple[int, str]]:
    """(value, label) of the active values of one of the connection's picklists, by label."""
    return list(
        AutotaskPicklistValue.objects.filter(
            connection=connection, entity=entity, field=field, is_active=True, gone_at__isnull=True
        )
        .order_by("label")
        .values_list("value", "label")
    )
