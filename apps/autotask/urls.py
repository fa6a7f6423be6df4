from django.urls import path

from apps.autotask import views

app_name = "autotask"

urlpatterns = [
    path("", views.ConnectionListView.as_view(), name="connection_list"),
    path("new/", views.ConnectionCreateView.as_view(), name="connection_create"),
    path("<int:pk>/", views.ConnectionDetailView.as_view(), name="connection_detail"),
    path("<int:pk>/settings/", views.ConnectionSettingsView.as_view(), name="connection_edit"),
    path("<int:pk>/secret/", views.ConnectionSecretView.as_view(), name="connection_secret"),
    path("<int:pk>/delete/", views.ConnectionDeleteView.as_view(), name="connection_delete"),
    path("<int:pk>/test/", views.ConnectionTestView.as_view(), name="connection_test"),
    path(
        "<int:pk>/test-status/",
        views.ConnectionTestStatusView.as_view(),
        name="connection_test_status",
    ),
    path("<int:pk>/refresh/", views.ConnectionRefreshView.as_view(), name="connection_refresh"),
    path(
        "<int:pk>/refresh-status/",
        views.RefreshStatusView.as_view(),
        name="connection_refresh_status",
    ),
    path("<int:pk>/companies/", views.CompanyListView.as_view(), name="company_list"),
    path("<int:pk>/services/", views.ServiceListView.as_view(), name="service_list"),
    path("<int:pk>/products/", views.ProductListView.as_view(), name="product_list"),
    path("<int:pk>/billing-codes/", views.BillingCodeListView.as_view(), name="billingcode_list"),
]
