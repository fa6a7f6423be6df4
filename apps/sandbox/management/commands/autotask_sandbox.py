"""Run the Autotask sandbox: a local server that answers like the Autotask REST API."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.sandbox.credentials import DEFAULT_CREDENTIALS, Credentials
from apps.sandbox.seed import SEEDS
from apps.sandbox.server import SandboxServer, build_app


class Command(BaseCommand):
    help = "Serve the Autotask REST API sandbox (see docs/sandbox.md)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--db", help="SQLite file that keeps the data (default: memory)")
        parser.add_argument("--seed", choices=sorted(SEEDS), default="demo")
        parser.add_argument("--latency-ms", type=int, default=0)
        parser.add_argument("--fail-rate", type=float, default=0.0)
        parser.add_argument("--requests-per-hour", type=int, default=10_000)
        parser.add_argument("--username", default=DEFAULT_CREDENTIALS.username)
        parser.add_argument("--secret", default=DEFAULT_CREDENTIALS.secret)
        parser.add_argument("--integration-code", default=DEFAULT_CREDENTIALS.integration_code)

    def handle(self, *args, **options):
        db = options["db"]
        if db and not db.startswith("/"):
            db = str(settings.BASE_DIR / db)
        try:
            app = build_app(
                db=db,
                seed=options["seed"],
                credentials=Credentials(
                    username=options["username"],
                    secret=options["secret"],
                    integration_code=options["integration_code"],
                ),
                latency_ms=options["latency_ms"],
                fail_rate=options["fail_rate"],
                requests_per_hour=options["requests_per_hour"],
            )
        except ValueError as problem:
            raise CommandError(str(problem)) from None
        try:
            server = SandboxServer((options["host"], options["port"]), app)
        except OSError as problem:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {problem}"
            ) from None
        credentials = app.credentials
        self.stdout.write(
            f"Autotask sandbox on {server.url}/ATServicesRest/V1.0 "
            f"(data: {db or 'memory'})\n"
            f"  UserName:           {credentials.username}\n"
            f"  Secret:             {credentials.secret}\n"
            f"  ApiIntegrationCode: {credentials.integration_code}\n"
            f"  Inspection:         {server.url}/_sandbox/counters"
        )
        self.stdout.flush()
        signal.signal(signal.SIGTERM, _stop)
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            app.store.close()
            self.stdout.write("Sandbox stopped.")


def _stop(signum, frame):
    """SIGTERM (from `make run`'s supervisor or docker) stops like Ctrl-C."""
    raise KeyboardInterrupt
