"""Triggers that refuse UPDATE, DELETE and TRUNCATE on the audit table (apps/audit/db_guard.py)."""

from django.db import migrations

from apps.audit import db_guard


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(db_guard.install_migration, db_guard.uninstall_migration),
    ]
