"""Writes for accounts: the demo administrator."""

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.accounts.roles import Role, role_group


@dataclass(frozen=True)
class DemoAdminResult:
    username: str
    created: bool
    password_set: bool
    generated_password: str | None


@transaction.atomic
def demo_admin_ensure(*, username: str, password: str | None) -> DemoAdminResult:
    """Make sure an Administrator called ``username`` exists.

    A new user gets ``password``, or a generated one that is returned (and so shown) only
    this once. An existing user keeps its password unless ``password`` is given and
    differs.
    """
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    created = user is None
    generated = None
    password_set = False
    if created:
        if not password:
            generated = secrets.token_urlsafe(12)
        user = user_model(username=username, is_staff=True)
        user.set_password(password or generated)
        user.save()
        password_set = True
    elif password and not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
        password_set = True
    user.groups.add(role_group(Role.ADMINISTRATOR))
    return DemoAdminResult(
        username=username,
        created=created,
        password_set=password_set,
        generated_password=generated,
    )
