"""URLs of the mapping files (CSV download, upload and its confirmation), in the mappings
namespace."""

from django.urls import path

from apps.mappings import file_views as views

urlpatterns: list = [
    path(
        "mappings/files/<str:kind>/download/",
        views.MappingFileDownloadView.as_view(),
        name="mapping_file_download",
    ),
    path(
        "mappings/files/<str:kind>/upload/",
        views.MappingFileUploadView.as_view(),
        name="mapping_file_upload",
    ),
    path(
        "mappings/files/preview/<str:token>/",
        views.MappingFileConfirmView.as_view(),
        name="mapping_file_confirm",
    ),
]
