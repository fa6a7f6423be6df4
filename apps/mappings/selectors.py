"""Reads for the mapping screens: the connection in view, and the lists with what their
tables show (mapping, best suggestion, billing) at a fixed number of queries a page."""

from apps.autotask.models import Connection
from apps.mappings.models import ConnectionInView


def connections() -> list[Connection]:
    return list(Connection.objects.order_by("name", "pk"))


def connection_in_view(user, choices: list[Connection] | None = None) -> Connection | None:
    """The connection the mapping screens show: the only one there is; with several, the
    one the user last chose (or the first by name); None before any connection exists."""
    choices = connections() if choices is None else choices
    if len(choices) <= 1:
        return choices[0] if choices else None
    if getattr(user, "is_authenticated", False):
        chosen = (
            ConnectionInView.objects.filter(user=user).values_list("connection_id", flat=True)
        ).first()
        for connection in choices:
            if connection.pk == chosen:
                return connection
    return choices[0]


def connection_in_view_set(user, connection: Connection) -> None:
    """Remember the user's choice for the next visit (a preference, not audited)."""
    ConnectionInView.objects.update_or_create(user=user, defaults={"connection": connection})
