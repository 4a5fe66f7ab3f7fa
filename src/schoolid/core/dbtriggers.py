"""Database-level guards that no code path can bypass (not even QuerySet.update or raw SQL by the app).

PostgreSQL gets row triggers for UPDATE and DELETE. SQLite gets UPDATE triggers only, because its
test-database flush deletes rows; the model layer refuses deletes there.
"""


def forbid_sql(vendor: str, table: str, name: str, message: str, *, update_of: str | None = None, delete: bool = True) -> tuple[list[str], list[str]]:
    """(forward, reverse) SQL statements for `vendor`."""
    if vendor == "postgresql":
        condition = f"NEW.{update_of} IS DISTINCT FROM OLD.{update_of}" if update_of else "TRUE"
        events = "UPDATE OR DELETE" if delete else "UPDATE"
        forward = [
            f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' OR ({condition}) THEN
                RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""",
            f"CREATE TRIGGER {name} BEFORE {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
        reverse = [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]
        return forward, reverse
    if vendor == "sqlite":
        when = f" OF {update_of}" if update_of else ""
        guard = f" WHEN NEW.{update_of} IS NOT OLD.{update_of}" if update_of else ""
        forward = [f"CREATE TRIGGER {name} BEFORE UPDATE{when} ON {table}{guard} BEGIN SELECT RAISE(ABORT, '{message}'); END"]
        return forward, [f"DROP TRIGGER IF EXISTS {name}"]
    return [], []


def trigger_operation(table: str, name: str, message: str, **kwargs):
    from django.db import migrations

    def forward(apps, schema_editor):
        for statement in forbid_sql(schema_editor.connection.vendor, table, name, message, **kwargs)[0]:
            schema_editor.execute(statement)

    def reverse(apps, schema_editor):
        for statement in forbid_sql(schema_editor.connection.vendor, table, name, message, **kwargs)[1]:
            schema_editor.execute(statement)

    return migrations.RunPython(forward, reverse)
