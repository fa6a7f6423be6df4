"""Remove a user's second factor (a lost or replaced phone), from the command line."""

import getpass

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.services import second_factor_remove
from apps.audit.services import audit_context


class Command(BaseCommand):
    help = (
        "Remove the two-factor device of a user who lost it; they then sign in with their "
        "password alone and can set up a new one under Account."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user called {username!r}.")
        with audit_context(context="cli", actor_name=f"cli:{getpass.getuser()}"):
            removed = second_factor_remove(user=user)
        if removed:
            self.stdout.write(f"Two-factor authentication removed for {username}.")
        else:
            self.stdout.write(f"{username} has no two-factor device; nothing changed.")
