"""manage.py connection create|list|test|refresh: Autotask connections from the shell."""

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_context
from apps.autotask.choices import RefreshRunStatusChoices
from apps.autotask.connection_test import connection_test
from apps.autotask.models import Connection
from apps.autotask.services import (
    SANDBOX_URL,
    RefreshAlreadyRunning,
    connection_create,
    connection_create_sandbox,
    refresh_run_create,
    refresh_run_execute,
)


class Command(BaseCommand):
    help = "Create, list, test and refresh Autotask connections."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a connection")
        create.add_argument("name")
        create.add_argument(
            "--sandbox",
            action="store_true",
            help="connect to the built-in sandbox with its demo credentials",
        )
        create.add_argument("--url", default=SANDBOX_URL, help="the sandbox's address")
        create.add_argument("--username")
        create.add_argument("--integration-code")
        create.add_argument(
            "--secret-stdin", action="store_true", help="read the secret from standard input"
        )
        create.add_argument(
            "--api-root-url", help="Autotask's API root (default: zone discovery on webservices2)"
        )
        create.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing (and succeed) when a connection of that name exists",
        )
        actions.add_parser("list", help="list connections")
        test = actions.add_parser("test", help="test a connection")
        test.add_argument("name")
        refresh = actions.add_parser("refresh", help="refresh a connection's reference data now")
        refresh.add_argument("name")
        refresh.add_argument(
            "--incremental", action="store_true", help="only what changed since the last one"
        )

    def handle(self, *args, **options):
        with audit_context(context="cli", actor_name=f"cli:{getpass.getuser()}"):
            getattr(self, f"_{options['action']}")(options)

    def _connection(self, name: str) -> Connection:
        try:
            return Connection.objects.get(name=name)
        except Connection.DoesNotExist:
            raise CommandError(f"There is no connection called {name!r}.") from None

    def _create(self, options):
        name = options["name"]
        if Connection.objects.filter(name=name).exists():
            if options["if_missing"]:
                self.stdout.write(f"Connection {name!r} exists already.")
                return
            raise CommandError(f"A connection called {name!r} exists already.")
        try:
            if options["sandbox"]:
                connection = connection_create_sandbox(name=name, url=options["url"])
            else:
                missing = [
                    flag
                    for flag, key in (
                        ("--username", "username"),
                        ("--integration-code", "integration_code"),
                        ("--secret-stdin", "secret_stdin"),
                    )
                    if not options[key]
                ]
                if missing:
                    raise CommandError(
                        f"Give {', '.join(missing)} (or --sandbox for the built-in sandbox)."
                    )
                secret = sys.stdin.readline().rstrip("\n")
                if not secret:
                    raise CommandError("No secret on standard input.")
                connection = connection_create(
                    name=name,
                    username=options["username"],
                    integration_code=options["integration_code"],
                    secret=secret,
                    api_root_url=options["api_root_url"],
                )
        except ValidationError as problem:
            raise CommandError("; ".join(problem.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Created connection {connection.name!r}."))

    def _list(self, options):
        connections = Connection.objects.all()
        if not connections:
            self.stdout.write("No connections yet: manage.py connection create NAME --sandbox")
            return
        for connection in connections:
            tested = (
                "never tested"
                if connection.last_test_ok is None
                else ("test passed" if connection.last_test_ok else "test FAILED")
            )
            kind = "sandbox" if connection.is_sandbox else "Autotask"
            self.stdout.write(
                f"{connection.name}\t{kind}\t{connection.username}\t"
                f"{connection.zone_url or '(zone not found yet)'}\t{tested}"
            )

    def _test(self, options):
        connection = self._connection(options["name"])
        result = connection_test(connection=connection)
        if result.get("zone"):
            self.stdout.write(f"Zone: {result['zone']}")
        if result.get("api_versions"):
            self.stdout.write(f"API versions: {', '.join(result['api_versions'])}")
        threshold = result.get("threshold")
        if threshold and threshold.get("limit"):
            self.stdout.write(
                f"Hourly requests: {threshold['used']} of {threshold['limit']} "
                f"({threshold['share']:.0%})"
            )
        for entity in result["entities"]:
            read = "yes" if entity["read"] else "no"
            write = "yes" if entity["write"] else "no"
            marks = f"read {read}, write {write}"
            self.stdout.write(f"  {entity['entity']}: {marks} (needs {entity['needs']})")
        for problem in result["problems"]:
            self.stderr.write(self.style.ERROR(problem))
        if not result["ok"]:
            raise CommandError(f"Connection {connection.name!r} does not work.")
        self.stdout.write(self.style.SUCCESS(f"Connection {connection.name!r} works."))

    def _refresh(self, options):
        connection = self._connection(options["name"])
        try:
            run = refresh_run_create(connection=connection, full=not options["incremental"])
        except RefreshAlreadyRunning as problem:
            raise CommandError(str(problem)) from None
        run = refresh_run_execute(run_id=run.pk)  # at once; the queued task finds it done
        for entity, counts in sorted(run.counts.items()):
            self.stdout.write(f"  {entity}: {counts}")
        self.stdout.write(f"{run.requests} Autotask requests.")
        if run.status != RefreshRunStatusChoices.SUCCEEDED:
            raise CommandError(f"Refresh {run.get_status_display().lower()}: {run.error}")
        self.stdout.write(self.style.SUCCESS(f"Refreshed {connection.name!r}."))
