from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="importproblem",
            name="severity",
            field=models.CharField(default="refused", max_length=16, verbose_name="severity"),
        ),
    ]
