"""Every list page bounds ``?per_page=``: -1, 0 or a 400-digit number answer the page, and
a million is held to the maximum (issue 9, "?per_page=-1")."""

import pytest
from django.urls import reverse

from apps.audit.services import audit_record
from apps.core.lists import MAX_PER_PAGE, ObjectListView
from tests.conftest import sign_in
from tests.test_access import all_patterns, argument_names, sample_object_pk

pytestmark = pytest.mark.django_db


def list_urls() -> list[str]:
    urls = []
    for key, pattern in all_patterns():
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class is None or not issubclass(view_class, ObjectListView):
            continue
        kwargs = {"pk": sample_object_pk(key)} if "pk" in argument_names(pattern) else {}
        urls.append(reverse(key, kwargs=kwargs))
    return urls


def test_there_are_list_pages_to_check():
    assert len(list_urls()) >= 10


@pytest.mark.parametrize(
    ("per_page", "expected"),
    [("-1", 1), ("0", None), ("9" * 400, MAX_PER_PAGE), ("1000000", MAX_PER_PAGE), ("x", None)],
)
def test_per_page_is_bounded_on_every_list(client, viewer, per_page, expected):
    for number in range(3):
        audit_record(operation="Filler", object_repr=f"row {number}")
    sign_in(client, viewer)
    for url in list_urls():
        response = client.get(url, {"per_page": per_page, "page": "9" * 400})
        assert response.status_code == 200, url
        shown = response.context["table"].paginator.per_page
        if expected is None:  # not a number, or 0: the page's own default
            assert 1 <= shown <= MAX_PER_PAGE, url
        else:
            assert shown == expected, url
