from django.urls import path

from apps.catalog.importing import views

app_name = "imports"

urlpatterns = [
    path("", views.ImportRunListView.as_view(), name="importrun_list"),
    path("new/", views.ImportRunCreateView.as_view(), name="importrun_create"),
    path("<int:pk>/", views.ImportRunDetailView.as_view(), name="importrun_detail"),
    path("<int:pk>/progress/", views.ImportRunProgressView.as_view(), name="importrun_progress"),
    path("<int:pk>/retry/", views.ImportRunRetryView.as_view(), name="importrun_retry"),
    path("<int:pk>/cancel/", views.ImportRunCancelView.as_view(), name="importrun_cancel"),
]
