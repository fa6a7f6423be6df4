from django.urls import path

from apps.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.AuditEntryListView.as_view(), name="auditentry_list"),
    path("audit-log.csv", views.AuditEntryCsvView.as_view(), name="auditentry_csv"),
    path("<int:pk>/", views.AuditEntryDetailView.as_view(), name="auditentry_detail"),
]
