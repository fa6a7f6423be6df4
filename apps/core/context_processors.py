from django.conf import settings

from apps.accounts.roles import Role, user_role
from apps.core.navigation import navigation_items


def layout(request):
    """What the base layout shows on every page."""
    role = user_role(request.user)
    return {
        "syncadmin_version": settings.VERSION,
        "navigation": navigation_items(request.path) if role else [],
        "user_role": role,
        "is_administrator": role == Role.ADMINISTRATOR,
    }
