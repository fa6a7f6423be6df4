"""The mapping screens. Row actions and pickers name their row in the form or query
string (not the path), so a page reverses each URL once, not once per row."""

from django.urls import path

from apps.mappings import bulk_views, file_urls, row_views, views

app_name = "mappings"

urlpatterns = [
    path("organizations/", views.OrganizationMappingListView.as_view(), name="organization_list"),
    path("organizations/map/", row_views.organization_map, name="organization_map"),
    path("organizations/unmap/", row_views.organization_unmap, name="organization_unmap"),
    path(
        "organizations/map-several/", bulk_views.organization_bulk_map, name="organization_bulk_map"
    ),
    path("organizations/suggestions/", bulk_views.suggestion_accept, name="suggestion_accept"),
    path("mappings/companies/", row_views.company_picker, name="company_picker"),
    path("offers/", views.OfferMappingListView.as_view(), name="offer_list"),
    path("offers/map/", row_views.offer_map, name="offer_map"),
    path("offers/unmap/", row_views.offer_unmap, name="offer_unmap"),
    path("mappings/services/", row_views.service_picker, name="service_picker"),
    path("subscriptions/", views.SubscriptionMappingListView.as_view(), name="subscription_list"),
    path("subscriptions/map/", row_views.subscription_map, name="subscription_map"),
    path("subscriptions/unmap/", row_views.subscription_unmap, name="subscription_unmap"),
    path("mappings/contracts/", row_views.contract_picker, name="contract_picker"),
    path("mappings/connection/", views.connection_choose, name="connection_choose"),
    *file_urls.urlpatterns,
]
