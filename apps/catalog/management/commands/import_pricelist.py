"""manage.py import_pricelist FILE: import Microsoft's new-commerce licence price list."""

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_context
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importing import import_microsoft_price_list


class Command(BaseCommand):
    help = "Import Microsoft's new-commerce licence-based price list (CSV): all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        actor = f"cli:{getpass.getuser()}"
        with audit_context(context="cli", actor_name=actor):
            try:
                result = import_microsoft_price_list(path, path.name, actor=actor)
            except ImportValidationError as problem:
                raise CommandError(f"Nothing was imported. {problem}") from None
        self.stdout.write(
            f"{path.name}: {result['rows']} prices imported ({result['replaced']} replaced)."
        )
