from django.urls import path

from apps.catalog.prices import views

app_name = "prices"

urlpatterns = [
    path("", views.PriceListView.as_view(), name="price_list"),
    path("import/", views.PriceListImportView.as_view(), name="price_list_import"),
    path("offers/<int:pk>/", views.PriceEditView.as_view(), name="price_edit"),
    path("offers/<int:pk>/clear/", views.PriceClearView.as_view(), name="price_clear"),
    path("markups/", views.MarkupRuleListView.as_view(), name="markuprule_list"),
    path("markups/new/", views.MarkupRuleCreateView.as_view(), name="markuprule_create"),
    path("markups/<int:pk>/", views.MarkupRuleEditView.as_view(), name="markuprule_edit"),
    path(
        "markups/<int:pk>/delete/", views.MarkupRuleDeleteView.as_view(), name="markuprule_delete"
    ),
]
