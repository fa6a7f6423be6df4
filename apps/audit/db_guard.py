"""Database triggers that keep the audit table append-only, whatever code or SQL asks.

``AuditEntry`` already refuses changes in Python; these triggers refuse them below the ORM
too (the base manager, raw SQL, ``manage.py flush``, a database shell). One change stays
allowed, because history must survive the deletion of a user: ``on_delete=SET_NULL``
makes the deletion collector run ``UPDATE ... SET actor_id = NULL WHERE id IN (...)``, so
an update that turns ``actor_id`` from a value into NULL and changes nothing else passes.

Installed by migration ``0002_append_only_triggers``. On SQLite the trigger names the
table's columns, and rebuilding the table (as SQLite's schema editor does for most field
changes) drops its triggers, so a later migration that changes this table must call
``install()`` again; ``tests/audit/test_db_guard.py`` checks that the installed triggers
cover every column.
"""

from django.db.backends.base.schema import BaseDatabaseSchemaEditor

TABLE = "audit_auditentry"
MESSAGE = "audit entries cannot be changed or deleted"

_PG_FUNCTION = "audit_entry_refuse_change"
_PG_ROW_TRIGGER = "audit_entry_refuse_update_delete"
_PG_TRUNCATE_TRIGGER = "audit_entry_refuse_truncate"

_SQLITE_TRIGGERS = (
    "audit_entry_refuse_update",
    "audit_entry_refuse_actor_change",
    "audit_entry_refuse_delete",
)


def install(target) -> None:
    """Create (or re-create) the triggers; ``target`` is a connection or schema editor."""
    connection = _connection(target)
    uninstall(connection)
    with connection.cursor() as cursor:
        for statement in _install_statements(connection, cursor):
            cursor.execute(statement)


def uninstall(target) -> None:
    """Drop the triggers (and on PostgreSQL their function) if they exist."""
    connection = _connection(target)
    with connection.cursor() as cursor:
        for statement in _uninstall_statements(connection):
            cursor.execute(statement)


def installed(target) -> list[str]:
    """The names of the guard's triggers present in the database, sorted."""
    connection = _connection(target)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [TABLE],
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [TABLE],
            )
        else:
            return []
        return sorted(row[0] for row in cursor.fetchall())


def install_migration(apps, schema_editor) -> None:
    """``RunPython`` forward step."""
    install(schema_editor)


def uninstall_migration(apps, schema_editor) -> None:
    """``RunPython`` backward step."""
    uninstall(schema_editor)


def _connection(target):
    if isinstance(target, BaseDatabaseSchemaEditor):
        return target.connection
    return target


def _install_statements(connection, cursor) -> list[str]:
    if connection.vendor == "postgresql":
        return _postgresql_install()
    if connection.vendor == "sqlite":
        columns = [
            column.name
            for column in connection.introspection.get_table_description(cursor, TABLE)
            if column.name != "actor_id"
        ]
        return _sqlite_install(columns)
    return []


def _uninstall_statements(connection) -> list[str]:
    if connection.vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {_PG_ROW_TRIGGER} ON {TABLE}",
            f"DROP TRIGGER IF EXISTS {_PG_TRUNCATE_TRIGGER} ON {TABLE}",
            f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()",
        ]
    if connection.vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_TRIGGERS]
    return []


def _postgresql_install() -> list[str]:
    # restrict_violation (SQLSTATE 23001) is an integrity error, as SQLite's RAISE(ABORT)
    # is, so callers see django.db.IntegrityError on both.
    function = f"""
        CREATE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $guard$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                IF OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
                   AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
                    RETURN NEW;
                END IF;
            END IF;
            RAISE EXCEPTION '{MESSAGE}'
                USING ERRCODE = 'restrict_violation',
                      HINT = 'Only nulling actor_id when a user is deleted is allowed.';
        END;
        $guard$
    """
    return [
        function,
        f"""
        CREATE TRIGGER {_PG_ROW_TRIGGER}
            BEFORE UPDATE OR DELETE ON {TABLE}
            FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()
        """,
        f"""
        CREATE TRIGGER {_PG_TRUNCATE_TRIGGER}
            BEFORE TRUNCATE ON {TABLE}
            FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()
        """,
    ]


def _sqlite_install(other_columns: list[str]) -> list[str]:
    # SQLite has no TRUNCATE; DELETE without WHERE fires the row trigger like any delete.
    refuse = f"SELECT RAISE(ABORT, '{MESSAGE}');"
    update_trigger, actor_trigger, delete_trigger = _SQLITE_TRIGGERS
    return [
        f"""
        CREATE TRIGGER {update_trigger}
            BEFORE UPDATE OF {", ".join(f'"{name}"' for name in other_columns)} ON {TABLE}
            BEGIN {refuse} END
        """,
        f"""
        CREATE TRIGGER {actor_trigger}
            BEFORE UPDATE OF "actor_id" ON {TABLE}
            WHEN NEW.actor_id IS NOT NULL OR OLD.actor_id IS NULL
            BEGIN {refuse} END
        """,
        f"""
        CREATE TRIGGER {delete_trigger}
            BEFORE DELETE ON {TABLE}
            BEGIN {refuse} END
        """,
    ]
