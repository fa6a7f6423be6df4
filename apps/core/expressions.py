"""Database expressions that Django lacks, for constraints that must hold on every vendor."""

from django.db.models import CharField, Func, IntegerField, Value
from django.db.models.functions import Cast


class DayOfMonth(Func):
    """The day of the month of a date column, in the vendors' own SQL: ``EXTRACT(DAY ...)``
    on PostgreSQL, ``strftime('%d', ...)`` on SQLite (dates are 'YYYY-MM-DD' text there).

    Django's ``__day`` transform compiles to ``django_date_extract()`` on SQLite, a function
    that only Django's own connections register: in a CHECK constraint it would make every
    write from any other client (the sqlite3 shell, a backup tool's integrity check) fail
    with "no such function"."""

    arity = 1
    output_field = IntegerField()
    template = "EXTRACT(DAY FROM %(expressions)s)"

    def as_sqlite(self, compiler, connection, **extra_context):
        day = Func(
            Value("%d"),
            *self.get_source_expressions(),
            function="strftime",
            output_field=CharField(),
        )
        return compiler.compile(Cast(day, IntegerField()))
