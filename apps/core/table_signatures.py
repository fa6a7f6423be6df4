"""django-tables2 reads the signature of a column's render function (and of each linkify
or attrs callable) with ``inspect.signature`` for every cell it draws: on a 20-row
mapping screen that was about a tenth of the page's time. A function's signature does
not change, so ``install()`` (called once at start-up) keeps each one.

Bound methods (a table's ``render_foo``) are keyed by their function, never by the bound
object: that would keep every table, with its rows, alive in the cache.
"""

import functools

import django_tables2.utils

_uncached = django_tables2.utils.signature


@functools.lru_cache(maxsize=2048)
def _function_signature(function, bound: bool) -> tuple:
    args, keywords = _uncached(function)
    return (args[1:] if bound else args), keywords


def signature(fn) -> tuple:
    """What ``django_tables2.utils.signature`` returns, kept per function."""
    function = getattr(fn, "__func__", None)
    try:
        if function is not None:
            return _function_signature(function, True)
        return _function_signature(fn, False)
    except TypeError:  # an unhashable callable: read it each time
        return _uncached(fn)


def install() -> None:
    django_tables2.utils.signature = signature
