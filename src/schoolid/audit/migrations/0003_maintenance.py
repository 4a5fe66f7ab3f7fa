from django.db import migrations, models

# Inside an audit owner verb's transaction (a marker row is visible) an event may be deleted
# (retention) or have its personal columns rewritten (erasure); its shape never changes.
_PG_FUNCTION = """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM audit_auditmaintenance) THEN
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
    IF (NEW.at, NEW.action, NEW.result, NEW.actor_id, NEW.target_id, NEW.org_unit_path, NEW.request_id, NEW.parent_id)
       IS NOT DISTINCT FROM (OLD.at, OLD.action, OLD.result, OLD.actor_id, OLD.target_id, OLD.org_unit_path, OLD.request_id, OLD.parent_id) THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql"""

_PG_OLD_FUNCTION = """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' OR (TRUE) THEN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql"""

_SQLITE_TRIGGER = (
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE ON audit_auditevent "
    "WHEN NOT EXISTS (SELECT 1 FROM audit_auditmaintenance) "
    "OR NEW.at IS NOT OLD.at OR NEW.action IS NOT OLD.action OR NEW.result IS NOT OLD.result "
    "OR NEW.actor_id IS NOT OLD.actor_id OR NEW.target_id IS NOT OLD.target_id OR NEW.org_unit_path IS NOT OLD.org_unit_path "
    "OR NEW.request_id IS NOT OLD.request_id OR NEW.parent_id IS NOT OLD.parent_id "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
)
_SQLITE_OLD_TRIGGER = (
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_PG_FUNCTION)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_append_only")
        schema_editor.execute(_SQLITE_TRIGGER)


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_PG_OLD_FUNCTION)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_append_only")
        schema_editor.execute(_SQLITE_OLD_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.CreateModel(
            name="AuditMaintenance",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reason", models.CharField(max_length=32)),
                ("started_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RunPython(forward, reverse),
    ]
