from django.db import migrations


def drop_pattern_indexes(apps, schema_editor):
    # Django adds a varchar_pattern_ops index beside every indexed CharField on PostgreSQL. User codes and
    # statuses are only compared for equality; the extra indexes cost each import a million inserts.
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("""SELECT indexname FROM pg_indexes WHERE tablename = 'accounts_account'
                          AND (indexdef LIKE '%(user_code varchar_pattern_ops)%' OR indexdef LIKE '%(status varchar_pattern_ops)%')""")
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_assignment_unit_index_covered")]
    operations = [migrations.RunPython(drop_pattern_indexes, migrations.RunPython.noop)]
