"""django-q2 tasks of the mappings: thin, they load by id and call the service."""

from apps.autotask.models import Connection
from apps.mappings import suggestions


def compute_suggestions(connection_id: int) -> int:
    """Recompute a connection's suggestions; a connection deleted since it was queued
    has none to compute."""
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return 0
    return suggestions.suggestions_compute(connection)
