"""Signals the Autotask app sends, for later apps to act on without it knowing them."""

from django.dispatch import Signal

# A connection's reference data was refreshed from Autotask (every table read and
# stored). Sent robustly (a receiver that fails is logged) by
# ``refresh.refresh_reference_data`` with ``sender=Connection``, ``connection`` and
# ``full``. The mappings app recomputes its suggestions on it.
references_refreshed = Signal()
