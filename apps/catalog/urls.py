from django.urls import path

from apps.catalog import views

app_name = "catalog"

urlpatterns = [
    path(
        "organizations/<int:pk>/",
        views.OrganizationDetailView.as_view(),
        name="organization_detail",
    ),
    path(
        "subscriptions/<int:pk>/",
        views.SubscriptionDetailView.as_view(),
        name="subscription_detail",
    ),
    path("reports/", views.BillingReportListView.as_view(), name="billingreport_list"),
    path(
        "reports/<int:pk>/",
        views.BillingReportDetailView.as_view(),
        name="billingreport_detail",
    ),
]
