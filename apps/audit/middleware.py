"""Gives every web request an id and makes it the audit context of that request."""

import uuid

from apps.audit.choices import AuditEntryContextChoices
from apps.audit.services import audit_context


class AuditRequestMiddleware:
    """Sets ``request.audit_request_id`` (a uuid4) and, while the view runs, the audit
    context: context "web", the signed-in user, that request id. Place it after
    ``AuthenticationMiddleware``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.audit_request_id = uuid.uuid4()
        with audit_context(
            context=AuditEntryContextChoices.WEB,
            user=getattr(request, "user", None),
            request_id=request.audit_request_id,
        ):
            return self.get_response(request)
