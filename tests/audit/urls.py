"""The project's URLs plus a view that records during a request (for the middleware test)."""

from django.http import JsonResponse
from django.urls import path

from apps.audit.services import audit_record
from syncadmin.urls import urlpatterns as project_urlpatterns


def record_two_entries(request):
    first = audit_record(operation="Create Connection", object_repr="first")
    second = audit_record(operation="Change Connection", object_repr="second")
    return JsonResponse({"entries": [first.pk, second.pk]})


urlpatterns = [
    *project_urlpatterns,
    path("test-audit/record/", record_two_entries),
]
