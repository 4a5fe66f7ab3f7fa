from django.db import migrations

from schoolid.core.dbtriggers import trigger_operation


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]

    operations = [
        trigger_operation(
            "accounts_account", "account_user_code_permanent", "accounts are never deleted and user codes never change", update_of="user_code"
        ),
    ]
