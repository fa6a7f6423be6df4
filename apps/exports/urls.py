from django.urls import path

from apps.exports import views

app_name = "exports"

urlpatterns = [
    path("", views.ExportRunListView.as_view(), name="exportrun_list"),
    path("preview/", views.ExportPreviewView.as_view(), name="exportrun_preview"),
    path("<int:pk>/", views.ExportRunDetailView.as_view(), name="exportrun_detail"),
    path("<int:pk>/progress/", views.ExportRunProgressView.as_view(), name="exportrun_progress"),
    path("<int:pk>/confirm/", views.ExportConfirmView.as_view(), name="exportrun_confirm"),
    path("<int:pk>/continue/", views.ExportContinueView.as_view(), name="exportrun_continue"),
    path("<int:pk>/retry/", views.ExportRetryView.as_view(), name="exportrun_retry"),
    path("<int:pk>/cancel/", views.ExportCancelView.as_view(), name="exportrun_cancel"),
]
