from django.db import migrations

from schoolid.core.dbtriggers import trigger_operation


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        trigger_operation("audit_auditevent", "audit_event_append_only", "audit events are append-only"),
    ]
