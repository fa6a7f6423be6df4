from django.urls import path

from apps.catalog import views

app_name = "catalog"

urlpatterns = [
    path("organizations/", views.OrganizationListView.as_view(), name="organization_list"),
    path(
        "organizations/<int:pk>/",
        views.OrganizationDetailView.as_view(),
        name="organization_detail",
    ),
    path("offers/", views.OfferListView.as_view(), name="offer_list"),
    path("subscriptions/", views.SubscriptionListView.as_view(), name="subscription_list"),
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
