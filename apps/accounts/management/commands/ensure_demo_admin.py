"""Create the demo administrator if it does not exist (used by `make run`)."""

import os

from django.core.management.base import BaseCommand

from apps.accounts.services import demo_admin_ensure


class Command(BaseCommand):
    help = (
        "Make sure the demo administrator exists. User name from DEMO_ADMIN_USERNAME "
        "(default 'admin'), password from DEMO_ADMIN_PASSWORD or generated and printed once."
    )

    def handle(self, *args, **options):
        username = os.environ.get("DEMO_ADMIN_USERNAME", "").strip() or "admin"
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or None
        result = demo_admin_ensure(username=username, password=password)
        if result.generated_password:
            rule = "=" * 64
            self.stdout.write(
                f"{rule}\nDemo administrator created. This password is shown only once:\n"
                f"  user name: {result.username}\n"
                f"  password:  {result.generated_password}\n"
                f"Change it later with: manage.py changepassword {result.username}\n{rule}"
            )
        elif result.created:
            self.stdout.write(
                f"Demo administrator '{result.username}' created with DEMO_ADMIN_PASSWORD."
            )
        elif result.password_set:
            self.stdout.write(
                f"Demo administrator '{result.username}': password set from DEMO_ADMIN_PASSWORD."
            )
        else:
            self.stdout.write(
                f"Demo administrator '{result.username}' exists; its password is unchanged "
                f"(reset it with: manage.py changepassword {result.username})."
            )
