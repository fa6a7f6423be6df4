"""manage.py import_pricelist FILE: import a price list, Microsoft's or the MSP's own.

Which list the file is comes from its header: the MSP's price list has the columns
ProductId, SkuId, AvailabilityId, Term, BillingFrequency, Currency and UnitPrice
(`importers.msp_pricelist_csv`); anything else is read as Microsoft's new-commerce
licence-based price list, whose reader says what is wrong with a file that is neither.
"""

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_context
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.prices.list_import import import_price_list


class Command(BaseCommand):
    help = (
        "Import a price list (CSV): Microsoft's new-commerce licence-based price list, or the "
        "MSP's own sales prices (ProductId,SkuId,AvailabilityId,Term,BillingFrequency,"
        "Currency,UnitPrice), told apart by the header. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        actor = f"cli:{getpass.getuser()}"
        with audit_context(context="cli", actor_name=actor):
            try:
                result = import_price_list(path, path.name, actor=actor)
            except ImportValidationError as problem:
                raise CommandError(f"Nothing was imported. {problem}") from None
        if result["list"] == "msp":
            self.stdout.write(
                f"{path.name} (MSP price list): {result['rows']} rows; prices: "
                f"{result['prices_new']} new, {result['prices_changed']} changed, "
                f"{result['prices_unchanged']} unchanged; offers: {result['offers_new']} new."
            )
        else:
            self.stdout.write(
                f"{path.name}: {result['rows']} prices imported ({result['replaced']} replaced)."
            )
