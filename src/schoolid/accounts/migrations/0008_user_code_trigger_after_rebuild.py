from django.db import migrations

from schoolid.core.dbtriggers import forbid_sql

NAME = "account_user_code_permanent"
MESSAGE = "accounts are never deleted and user codes never change"


def recreate_on_sqlite(apps, schema_editor):
    # SQLite alters a table by rebuilding it, which drops its triggers: 0004 added a column to
    # accounts_account after 0003 made the trigger. PostgreSQL keeps triggers across ALTER TABLE.
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {NAME}")
    for statement in forbid_sql("sqlite", "accounts_account", NAME, MESSAGE, update_of="user_code")[0]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_drop_pattern_indexes")]
    operations = [migrations.RunPython(recreate_on_sqlite, migrations.RunPython.noop)]
