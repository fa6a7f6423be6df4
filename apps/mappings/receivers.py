"""What the mappings app does when an earlier app says something happened: the
receivers, connected in ``apps.MappingsConfig.ready()``. They only hand work to services."""

from apps.autotask.models import Connection
from apps.mappings.suggestions import suggestions_compute_queue


def billing_imported_received(sender, **kwargs) -> None:
    """New or changed organizations: every connection's suggestions are recomputed."""
    suggestions_compute_queue(
        connection_ids=list(Connection.objects.order_by("pk").values_list("pk", flat=True))
    )


def references_refreshed_received(sender, *, connection, **kwargs) -> None:
    """New or changed companies: that connection's suggestions are recomputed."""
    suggestions_compute_queue(connection_ids=[connection.pk])
