"""The signature cache for django-tables2 (apps/core/table_signatures.py): the same
answers as django-tables2's own, read once per function, and no table kept alive."""

import gc
import weakref

import django_tables2.utils

from apps.core import table_signatures


class Table:
    def render_name(self, value, record):
        return value


def test_it_is_what_django_tables2_calls():
    assert django_tables2.utils.signature is table_signatures.signature


def test_answers_are_django_tables2s_own():
    uncached = table_signatures._uncached
    table = Table()

    def with_keywords(record, **kwargs):
        return record

    class Callable:
        def __call__(self, value):
            return value

    for fn in (table.render_name, with_keywords, lambda record: record, Callable()):
        assert table_signatures.signature(fn) == uncached(fn)
    assert table_signatures.signature(table.render_name) == (("value", "record"), None)


def test_a_bound_method_does_not_keep_its_table():
    table = Table()
    table_signatures.signature(table.render_name)
    gone = weakref.ref(table)
    del table
    gc.collect()
    assert gone() is None


def test_each_function_is_read_once():
    table_signatures._function_signature.cache_clear()
    for _ in range(20):
        table_signatures.signature(Table().render_name)
    info = table_signatures._function_signature.cache_info()
    assert (info.misses, info.hits) == (1, 19)
