"""Signals the catalog sends, for later apps to act on without the catalog knowing them."""

from django.dispatch import Signal

# A billing import succeeded (its transaction committed). Sent robustly (a receiver that
# fails is logged; the import stands) by ``importing.import_billing`` with
# ``sender=ImportOutcome`` and ``outcome``, the ``ImportOutcome``. The mappings app
# recomputes its suggestions on it.
billing_imported = Signal()
